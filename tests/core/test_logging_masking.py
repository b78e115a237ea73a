"""No personal data or secret in a log line, and none in clear in the exchange log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import select

from gateway.core.crypto import sha256_hex
from gateway.core.delivery.workers import DeliveryService
from gateway.core.logging import (
    configure_logging,
    mask_event,
    mask_id_number,
    mask_text,
    register_secrets,
)
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry
from tests.conftest import bearer
from tests.factories import dossier, ma_ho_so

ID_NUMBER = "001090000345"
DVCQG_PASSWORD = "sandbox-secret"  # the simulator's documented default


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the next tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    httpx_level = logging.getLogger("httpx").level
    config = structlog.get_config()
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(httpx_level)
    structlog.configure(**config)


def test_mask_id_numbers() -> None:
    assert mask_id_number(ID_NUMBER) == "001******345"
    assert mask_id_number("CMND 123456789 cấp 2010") == "CMND 123***789 cấp 2010"
    assert mask_id_number(f"so={ID_NUMBER};") == "so=001******345;"
    # wire timestamps (14 digits) and other long numbers are not ID numbers
    assert mask_id_number("NgayTiepNhan=20240105080000") == "NgayTiepNhan=20240105080000"
    assert mask_id_number("1234567890123") == "1234567890123"
    assert mask_id_number("12345678") == "12345678"
    # a UUID whose last group happens to be all decimal digits is an id, not a citizen's number
    uuid_text = "88c103c6-8fe1-4617-9a49-556680788359"
    assert mask_id_number(f"exchange {uuid_text}") == f"exchange {uuid_text}"
    assert mask_id_number(f"CCCD-{ID_NUMBER}") == "CCCD-001******345"


def test_mask_text_replaces_registered_secrets() -> None:
    register_secrets(["Xk9-registered-secret-value", "abc"])  # "abc" is too short to register
    assert mask_text("token=Xk9-registered-secret-value!") == "token=***!"
    assert mask_text("abc") == "abc"


def test_mask_event_masks_secret_keys_nested_values_and_integers() -> None:
    event = mask_event(
        None,
        "info",
        {
            "event": f"owner {ID_NUMBER}",
            "password": "hunter22",
            "headers": {"Authorization": "Bearer lgsp_x", "madonvi": "000.00.00.H22"},
            "owners": [ID_NUMBER, "ok"],
            "cccd": 790000000345,  # a 12-digit integer
            "count": 42,
        },
    )
    assert event["event"] == "owner 001******345"
    assert event["password"] == "***"
    assert event["headers"] == {"Authorization": "***", "madonvi": "000.00.00.H22"}
    assert event["owners"] == ["001******345", "ok"]
    assert event["cccd"] == "790******345"
    assert event["count"] == 42


def test_configured_logging_masks_what_reaches_stderr(
    restore_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = "Zq7-the-registered-secret"
    register_secrets([secret])
    configure_logging("DEBUG", json_lines=True)
    structlog.get_logger("tests").info(
        "citizen_looked_up", note=f"CCCD {ID_NUMBER}", password="pw-hunter2", other=secret
    )
    # third-party lines through the standard library are masked by the handler's filter
    logging.getLogger("tests.third_party").warning("payload with %s and %s", ID_NUMBER, secret)
    err = capfd.readouterr().err
    assert "citizen_looked_up" in err
    assert "payload with" in err
    assert "001******345" in err
    for clear in (ID_NUMBER, secret, "pw-hunter2"):
        assert clear not in err


def test_third_party_tracebacks_are_masked(
    restore_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    """A library's ``logger.exception`` appends a traceback after the message filter ran."""
    configure_logging("INFO", json_lines=True)
    try:
        raise ValueError(f"row refused: so_giay_to={ID_NUMBER}")
    except ValueError:
        logging.getLogger("tests.third_party").exception("connection failed")
    err = capfd.readouterr().err
    assert "Traceback" in err
    assert "so_giay_to=001******345" in err
    assert ID_NUMBER not in err


async def test_end_to_end_nothing_personal_or_secret_in_logs_or_clear_bodies(
    gateway: Gateway,
    api: httpx.AsyncClient,
    simulator: Any,
    restore_logging: None,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging("DEBUG", json_lines=True)
    caplog.set_level(logging.DEBUG)
    data_key = gateway.settings.data_key.get_secret_value()
    headers = await bearer(gateway, "dvcqg:sync")
    body = dossier(1, so_giay_to_chu_ho_so=ID_NUMBER)
    raw = json.dumps(body, ensure_ascii=False).encode()
    r = await api.post(
        "/v1/dvcqg/dossiers", content=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 202, r.text
    exchange_id = r.json()["exchange_id"]
    service = DeliveryService(gateway)
    while await service.run_once():
        pass
    assert simulator.dossiers[ma_ho_so(1)].current["SoGiayToChuHoSo"] == ID_NUMBER
    # a look-up brings the ID number back through the gateway too
    reader = await bearer(gateway, "dvcqg:read")
    assert (await api.get(f"/v1/dvcqg/dossiers/{ma_ho_so(1)}", headers=reader)).status_code == 200

    captured = capfd.readouterr()
    logs = captured.err + captured.out + caplog.text
    assert exchange_id in logs  # the delivery was logged (at DEBUG), so the check means something
    for clear in (ID_NUMBER, DVCQG_PASSWORD, data_key):
        assert clear not in logs

    async with gateway.db.sessions() as session:
        entries = list((await session.scalars(select(ExchangeEntry))).all())
    inbound = next(e for e in entries if e.entry_id == exchange_id)
    assert inbound.request_body is not None
    assert ID_NUMBER.encode() not in inbound.request_body
    # the digest is keyed: not the plain SHA-256 anyone could recompute from a guessed body
    assert inbound.request_digest == gateway.cipher.entries.body_digest(raw)
    assert inbound.request_digest != sha256_hex(raw)
    assert inbound.request_size == len(raw)
    attempts = [e for e in entries if e.kind == "attempt"]
    assert attempts  # auth, the sync, the look-up
    for entry in entries:
        for stored in (entry.request_body, entry.response_body):
            if stored is not None:
                assert ID_NUMBER.encode() not in stored
                assert DVCQG_PASSWORD.encode() not in stored
        assert ID_NUMBER not in (entry.detail or "")


def test_an_exception_logged_in_plain_text_is_printed_without_a_warning(
    restore_logging: None, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json_lines=False)
    try:
        raise RuntimeError("the platform dropped the connection")
    except RuntimeError:
        # warnings are errors in the tests: the console renderer must not warn here
        structlog.get_logger("test").exception("delivery_internal_error")
    err = capfd.readouterr().err
    assert "delivery_internal_error" in err
    assert "RuntimeError: the platform dropped the connection" in err
