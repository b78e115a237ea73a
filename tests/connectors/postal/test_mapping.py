"""Canonical shipments to the wire and back: both flows, the centre on the other side, what
cannot be asked for, status codes, and masking."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from connectors.postal import STATUS_BY_CODE, PostalConfig, ShipmentRequest
from connectors.postal.config import SANDBOX_AGENCY
from connectors.postal.mapping import (
    event_from_wire,
    mask_name,
    mask_phone,
    mask_phones,
    receiver_summary,
    to_wire,
)
from schemas import postal as wire
from tests.connectors.postal.support import shipment

CENTRE = PostalConfig().centres[SANDBOX_AGENCY]


def test_a_delivery_goes_from_the_centre_to_the_citizen_with_its_fees() -> None:
    packet = to_wire(ShipmentRequest.model_validate(shipment()), CENTRE, customer_code="C1")
    assert packet.OrderNumber == "000.00.01.H22-240105-0007-delivery"
    assert (packet.SenderFullname, packet.SenderTel) == (CENTRE.name, CENTRE.phone)
    assert (packet.ReceiverFullname, packet.ReceiverTel) == ("Nguyễn Văn An", "0912345678")
    assert (packet.CODAmount, packet.ServiceName, packet.IsReturn) == (58_000, "HCC", True)
    assert packet.SenderDesc == "Kết quả giải quyết TTHC"


def test_a_pickup_goes_from_the_citizen_to_the_centre_and_collects_nothing() -> None:
    packet = to_wire(ShipmentRequest.model_validate(shipment("pickup")), CENTRE, customer_code="C")
    assert packet.SenderFullname == "Nguyễn Văn An"
    assert packet.ReceiverProvinceId == CENTRE.province_id
    assert (packet.CODAmount, packet.IsReturn) == (0, False)
    with pytest.raises(ValidationError) as caught:
        ShipmentRequest.model_validate(shipment("pickup", tien_thu_ho=1))
    assert caught.value.errors()[0]["loc"] == ("tien_thu_ho",)


def test_status_codes_map_onto_the_canonical_machine() -> None:
    assert set(STATUS_BY_CODE.values()) == {
        "created",
        "picked_up",
        "in_transit",
        "delivered",
        "failed_delivery",
        "returned",
        "cancelled",
    }
    line = wire.TrackingLine(statusCode="42", statusMessage="?", time="20261123150000")
    event = event_from_wire("N", "I", line)
    assert event.status is None
    assert event.at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Vietnam is UTC+7


def test_personal_data_is_masked_in_the_summary() -> None:
    assert mask_phone("0912345678") == "09******78"
    assert mask_name("Nguyễn Văn An") == "N. V. A."
    assert mask_phones("gọi 0912345678 hoặc +84912345678; mã 20261123150000") == (
        "gọi 09******78 hoặc +8********78; mã 20261123150000"
    )
    summary = receiver_summary(ShipmentRequest.model_validate(shipment()), CENTRE)
    assert "0912345678" not in summary
    assert "Nguyễn" not in summary


def test_centres_can_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.core.settings import Settings

    centre = {
        "name": "Bộ phận Một cửa UBND huyện",
        "address": "2 Lê Lợi",
        "province_id": "25",
        "district_id": "230",
        "phone": "02103999888",
    }
    monkeypatch.setenv("LGSP_CONNECTORS__POSTAL__CENTRES", json.dumps({"000.00.02.H22": centre}))
    config = PostalConfig.model_validate(Settings().connectors["postal"])
    assert config.centres["000.00.02.H22"].district_id == "230"
    with pytest.raises(ValidationError, match="JSON object"):
        PostalConfig.model_validate({"centres": "not json"})
