"""Logs an ops team can ship as they are (issue 19): one JSON object per line for everything,
third-party libraries included, an exception as one field, and one access line per request,
refusals named."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog

from gateway.core.logging import configure_logging
from gateway.core.runtime import Gateway
from tests.conftest import bearer, serving
from tests.factories import dossier

ID_NUMBER = "001090000345"

pytestmark = pytest.mark.usefixtures("restore_logging")


def _lines(err: str) -> list[dict[str, Any]]:
    """Every line of stderr, each of which must be one JSON object."""
    out = []
    for line in err.splitlines():
        assert line.strip(), "an empty line"
        record = json.loads(line)  # fails on any plain-text line
        assert isinstance(record, dict)
        out.append(record)
    return out


def test_every_line_is_one_json_object_third_party_included(
    capfd: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json_lines=True)
    structlog.get_logger("gateway.test").info("ours", connector="dvcqg")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("alembic.runtime.migration").info("Running upgrade 0013 -> 0014")
    try:
        raise RuntimeError(f"lost the connection while sending {ID_NUMBER}")
    except RuntimeError:
        logging.getLogger("sqlalchemy.pool").exception("connection invalidated")
        structlog.get_logger("gateway.test").exception("delivery_internal_error")
    logging.getLogger("uvicorn.error").debug("below the level: not printed")
    lines = _lines(capfd.readouterr().err)
    assert [line["event"] for line in lines] == [
        "ours",
        "Started server process [42]",
        "Running upgrade 0013 -> 0014",
        "connection invalidated",
        "delivery_internal_error",
    ]
    assert all({"timestamp", "level"} <= line.keys() for line in lines)
    assert lines[1]["logger"] == "uvicorn.error"
    assert lines[2]["logger"] == "alembic.runtime.migration"
    for failed in lines[3:]:
        assert failed["level"] == "error"
        # the traceback is one field of the one line, masked like the rest
        assert failed["exception"].startswith("Traceback")
        assert "RuntimeError" in failed["exception"]
        assert ID_NUMBER not in failed["exception"]
        assert "001******345" in failed["exception"]


def test_libraries_own_handlers_do_not_print_twice(capfd: pytest.CaptureFixture[str]) -> None:
    """uvicorn's and Alembic's default configurations give their loggers handlers of their
    own, and a ``logging.config`` call may have disabled them: configuring the gateway's
    logging takes the handlers away and lets the loggers speak, once each."""
    plain = logging.StreamHandler()
    logging.getLogger("uvicorn.error").addHandler(plain)
    logging.getLogger("alembic").addHandler(plain)
    # uvicorn's configuration set a level of its own, and a logging.config call (its
    # disable_existing_loggers) silenced one: as an earlier test of the suite can leave them
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    logging.getLogger("alembic").disabled = True
    try:
        configure_logging("INFO", json_lines=True)
        logging.getLogger("uvicorn.error").info("once")
        logging.getLogger("alembic").warning("once too")
    finally:
        logging.getLogger("alembic").disabled = False
    assert [line["event"] for line in _lines(capfd.readouterr().err)] == ["once", "once too"]


async def test_one_access_line_per_request_refusals_named(
    gateway: Gateway, capfd: pytest.CaptureFixture[str]
) -> None:
    headers = await bearer(gateway, "dvcqg:sync", "ops:read", name="motcua-tinh")
    configure_logging("INFO", json_lines=True)
    capfd.readouterr()
    async with serving(gateway) as api:
        assert (await api.get("/v1/connectors", headers=headers)).status_code == 200
        accepted = await api.post("/v1/dvcqg/dossiers", json=dossier(1), headers=headers)
        assert accepted.status_code == 202, accepted.text
        exchange = accepted.json()["exchange_id"]
        assert (await api.get(f"/v1/exchanges/{exchange}", headers=headers)).status_code == 200
        # refusals: no key, a packet with a bad field, an exchange that does not exist
        assert (await api.get("/v1/connectors")).status_code == 401
        bad = dossier(2, so_giay_to_chu_ho_so=ID_NUMBER, ngay_tiep_nhan="not a date")
        invalid = await api.post(
            "/v1/dvcqg/dossiers", json=bad, headers={**headers, "X-Request-Id": "req-422"}
        )
        assert invalid.status_code == 422
        missing = await api.get("/v1/exchanges/does-not-exist", headers=headers)
        assert missing.status_code == 404
    lines = [
        line for line in _lines(capfd.readouterr().err) if line["event"] in ("request", "refused")
    ]
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/v1/connectors", 200),
        ("POST", "/v1/dvcqg/dossiers", 202),
        # the route template, never the path with its identifiers
        ("GET", "/v1/exchanges/{exchange_id}", 200),
        ("GET", "/v1/connectors", 401),
        ("POST", "/v1/dvcqg/dossiers", 422),
        ("GET", "/v1/exchanges/{exchange_id}", 404),
    ]
    assert [line["level"] for line in lines] == ["info"] * 3 + ["warning"] * 3
    assert all(isinstance(line["duration_ms"], float | int) for line in lines)
    assert all(line["request_id"] for line in lines)
    assert [line["client"] for line in lines] == ["motcua-tinh"] * 3 + [None] + ["motcua-tinh"] * 2
    unauthorised, refused, absent = lines[3:]
    assert unauthorised["problem"] == "unauthenticated"
    assert refused["problem"] == "invalid-input"
    assert refused["request_id"] == "req-422"
    assert refused["exchange_id"]  # the refusal's entry in the exchange log
    assert "ngay_tiep_nhan" in refused["detail"]
    assert absent["problem"] == "not-found"
    text = json.dumps(lines, ensure_ascii=False)
    assert ID_NUMBER not in text
    assert exchange not in text  # the path's identifier stays out of the access line
