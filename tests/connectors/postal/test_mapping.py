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
    QuoteIn,
    event_from_wire,
    mask_name,
    mask_phone,
    mask_phones,
    quote_to_wire,
    receiver_summary,
    to_wire,
)
from connectors.postal.profiles import ORDER_PROFILES
from schemas import postal as wire
from tests.connectors.postal.support import citizen, shipment

CENTRE = PostalConfig().centres[SANDBOX_AGENCY]


def test_a_delivery_goes_from_the_centre_to_the_citizen_with_its_fees() -> None:
    # OpenCPS createMOrderDatas: the centre (config) sends, the citizen (input) receives
    packet = to_wire(ShipmentRequest.model_validate(shipment()), CENTRE, customer_code="C1")
    assert packet.OrderNumber == "000.00.01.H22-240105-0007-delivery"
    assert (packet.SenderName, packet.SenderTel) == (CENTRE.name, CENTRE.phone)
    assert (packet.ReceiverName, packet.ReceiverTel) == ("Nguyễn Văn An", "0912345678")
    assert (packet.SenderProvince, packet.SenderDistrict) == (25, 227)  # integers on the wire
    assert packet.CODAmount == 58_000
    assert packet.SenderDesc == "Kết quả giải quyết TTHC"
    sent = packet.model_dump(mode="json")
    assert len(sent) == 17
    assert not {"ServiceName", "IsReturn", "Weight"} & set(sent)


def test_a_pickup_goes_from_the_citizen_to_the_centre_and_collects_nothing() -> None:
    # OpenCPS createMOrderDatasCollect: the citizen sends, the centre receives
    request = ShipmentRequest.model_validate(shipment("pickup", cong_dan=citizen(ma_tinh="01")))
    packet = to_wire(request, CENTRE, customer_code="C")
    assert packet.SenderName == "Nguyễn Văn An"
    assert packet.SenderProvince == 1  # "01" as the integer the public senders send
    assert packet.ReceiverProvince == int(CENTRE.province_id)
    assert packet.CODAmount == 0
    with pytest.raises(ValidationError) as caught:
        ShipmentRequest.model_validate(shipment("pickup", tien_thu_ho=1))
    assert caught.value.errors()[0]["loc"] == ("tien_thu_ho",)


def test_the_paseto_profile_adds_its_two_fields() -> None:
    request = ShipmentRequest.model_validate(shipment())
    packet = to_wire(request, CENTRE, customer_code="C", profile=ORDER_PROFILES["paseto"])
    sent = packet.model_dump(mode="json")
    assert (sent["ItemCode"], sent["FlagConfig"]) == (None, 2)
    assert set(sent) - {"ItemCode", "FlagConfig"} == set(
        to_wire(request, CENTRE, customer_code="C").model_dump(mode="json")
    )


def test_a_quote_is_the_body_opencps_builds() -> None:
    quote = QuoteIn.model_validate(
        {"ma_dvc": SANDBOX_AGENCY, "flow": "delivery", "ma_tinh": "01", "ma_huyen": "001"}
    )
    body = quote_to_wire(quote, CENTRE).model_dump(mode="json")
    assert body == {
        "weight": 500,
        "mainSrv": "HCC",
        "isreturn": 1,
        "sender": {"provCode": 25, "distCode": 227},
        "receiver": {"provCode": 1, "distCode": 1},
    }
    pickup = quote_to_wire(quote.model_copy(update={"flow": "pickup"}), CENTRE)
    assert (pickup.sender.provCode, pickup.receiver.provCode) == (1, 25)


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
    doc = wire.FeedDoc.model_validate(
        {"OrderNumber": "N", "ItemCode": "I", "StatusCode": 42, "EventTime": "20261123150000"}
    )
    event = event_from_wire("N", doc)
    assert (event.status, event.platform_code, event.item_code) == (None, "42", "I")
    assert event.at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Vietnam is UTC+7
    with pytest.raises(ValueError, match="EventTime"):
        event_from_wire("N", doc.model_copy(update={"EventTime": None}))


@pytest.mark.parametrize(
    "value",
    [
        "20261123150000",  # yyyyMMddHHmmss, Vietnam time
        20261123150000,
        1795420800000,  # Unix milliseconds
        "1795420800000",
        1795420800,  # Unix seconds
        "2026-11-23T15:00:00+07:00",
        "2026-11-23T15:00:00",  # naive: Vietnam time
    ],
)
def test_event_times_are_read_in_every_public_form(value: int | str) -> None:
    assert wire.parse_event_time(value) == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["", "yesterday", 12345, "202611231500000"])
def test_unreadable_event_times_are_refused(value: int | str) -> None:
    with pytest.raises(ValueError, match="EventTime"):
        wire.parse_event_time(value)


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
