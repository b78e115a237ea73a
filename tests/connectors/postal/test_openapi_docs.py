"""The platform's webhook in the OpenAPI document (issue 21): the route reads its body raw
(the signature covers it), so the packet is declared by hand from the wire model the route
parses with, and its example is one the model accepts."""

from __future__ import annotations

import json
from typing import get_args

from connectors.postal.routes import WEBHOOK_BODY, WEBHOOK_EXAMPLE, ShipmentStatus
from connectors.postal.status import STATUSES
from schemas.postal import StatusWebhook, parse_event_time


def test_the_example_is_a_webhook_the_wire_model_accepts() -> None:
    packet = StatusWebhook.model_validate(WEBHOOK_EXAMPLE)
    assert parse_event_time(packet.EventTime).year == 2024


def test_the_declared_schema_is_standard_json_schema() -> None:
    schema = WEBHOOK_BODY["requestBody"]["content"]["application/json"]["schema"]
    text = json.dumps(schema)
    assert '"ge"' not in text
    assert '"le"' not in text
    assert schema["required"] == ["CustomerCode", "OrderNumber", "StatusCode", "EventTime"]


def test_the_declared_statuses_are_the_connectors() -> None:
    assert get_args(ShipmentStatus) == STATUSES
