"""The platform's packets in the OpenAPI document (issue 21): the callback routes read their
bodies raw (the checksum covers what was sent), so each packet is declared by hand from the
wire model the route parses with, and its example is one the model accepts."""

from __future__ import annotations

from typing import Any, get_args

from connectors.payment.routes import PaymentStatus
from connectors.payment.routes_portal import BILL_REQUEST_EXAMPLE, CALLBACK_EXAMPLE, _packet_body
from connectors.payment.status import STATUSES
from schemas import payment as wire


def _schema(declared: dict[str, Any]) -> dict[str, Any]:
    media: dict[str, Any] = declared["requestBody"]["content"]["application/json"]
    return media


def test_the_examples_are_packets_the_wire_models_accept() -> None:
    assert wire.Callback.model_validate(CALLBACK_EXAMPLE).SoTien == 50_000
    assert wire.BillRequest.model_validate(BILL_REQUEST_EXAMPLE).MaHoSo.startswith("000.00")


def test_the_callback_declares_its_amount_as_sent() -> None:
    media = _schema(_packet_body(wire.Callback, CALLBACK_EXAMPLE))
    amount = media["schema"]["properties"]["SoTien"]
    assert [branch["type"] for branch in amount["anyOf"]] == ["integer", "string"]
    assert set(media["schema"]["required"]) == set(wire.Callback.model_fields)
    assert media["examples"]["packet"]["value"] == CALLBACK_EXAMPLE


def test_the_declared_statuses_are_the_connectors() -> None:
    assert get_args(PaymentStatus) == STATUSES
