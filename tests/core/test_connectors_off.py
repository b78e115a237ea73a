"""LGSP_CONNECTORS_OFF: a province leaves a platform out until it is connected."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gateway.core.delivery.workers import DeliveryService
from gateway.core.errors import ConfigurationError, NotFound
from gateway.core.registry import configuration_problems, load_specs
from gateway.core.runtime import Gateway
from gateway.core.settings import Settings
from gateway.core.store.state import StateStore
from tests.conftest import make_settings
from tests.core.test_delivery import accept, item
from tests.core.test_settings import REAL_KEY


def production(**overrides: Any) -> Settings:
    return Settings(
        environment="production",
        data_key=SecretStr(REAL_KEY),
        signing_key=SecretStr(REAL_KEY),
        **overrides,
    )


def test_the_list_reads_json_or_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_CONNECTORS_OFF", '["qlvb", "DKDN"]')
    assert Settings().connectors_off == ["dkdn", "qlvb"]
    monkeypatch.setenv("LGSP_CONNECTORS_OFF", " qlvb, dkdn ,")
    assert Settings().connectors_off == ["dkdn", "qlvb"]
    monkeypatch.setenv("LGSP_CONNECTORS_OFF", "")
    assert Settings().connectors_off == []
    monkeypatch.delenv("LGSP_CONNECTORS_OFF")
    assert Settings().connectors_off == []


def test_off_connectors_placeholders_are_not_refused_in_production() -> None:
    specs = load_specs()
    before = configuration_problems(production(), specs)
    mentions = [p for p in before if "__QLVB__" in p or "__DKDN__" in p]
    assert mentions, "qlvb and dkdn have development placeholders to refuse"
    after = configuration_problems(production(connectors_off=["qlvb", "dkdn"]), specs)
    assert not [p for p in after if "QLVB" in p or "DKDN" in p]
    assert after == [p for p in before if p not in mentions]


def test_an_unknown_slug_is_a_problem_naming_the_variable() -> None:
    problems = configuration_problems(production(connectors_off=["qlvb", "nowhere"]), load_specs())
    assert [p for p in problems if p.startswith("LGSP_CONNECTORS_OFF:")] == [
        "LGSP_CONNECTORS_OFF: no connector ['nowhere'] (registered: "
        + ", ".join(sorted(load_specs()))
        + ")"
    ]
    with pytest.raises(ConfigurationError, match="LGSP_CONNECTORS_OFF: no connector"):
        Gateway(Settings(connectors_off=["nowhere"]))


async def test_production_starts_with_qlvb_and_dkdn_off(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every other connector's placeholders are left out too here (only their problems would
    stop it): the gateway builds with qlvb and dkdn's placeholders still in place."""
    specs = {s: spec for s, spec in load_specs().items() if s in ("qlvb", "dkdn", "postal")}
    settings = production(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/p.db", connectors_off=["qlvb", "dkdn"]
    )
    problems = configuration_problems(settings, specs)
    assert not [p for p in problems if "QLVB" in p or "DKDN" in p]
    if problems:  # postal's own placeholders, if any: off too, and it starts
        settings = production(
            database_url=f"sqlite+aiosqlite:///{tmp_path}/p.db",
            connectors_off=["qlvb", "dkdn", "postal"],
        )
    gw = Gateway(settings, specs=specs)
    try:
        assert "qlvb" not in gw.connectors
        assert "dkdn" not in gw.connectors
        assert set(gw.off_specs) >= {"qlvb", "dkdn"}
        with pytest.raises(ConfigurationError, match="'qlvb' is off"):
            gw.connector("qlvb")
        with pytest.raises(NotFound):
            gw.connector("nowhere")
    finally:
        await gw.aclose()


async def test_a_queued_item_waits_through_an_off_period_and_goes_after(
    gateway: Gateway, database_url: str, state_store: StateStore, sandbox_app: Any
) -> None:
    exchange_id = await accept(gateway, 1)

    def built(**settings: Any) -> Gateway:
        return Gateway(
            make_settings(database_url, **settings),
            sandbox_base="http://sandbox",
            transports={s: httpx.ASGITransport(app=sandbox_app) for s in load_specs()},
            state=state_store,
        )

    off = built(connectors_off=["dvcqg"])
    await off.start()
    try:
        assert "dvcqg" not in off.connectors
        for _ in range(3):
            assert await DeliveryService(off).run_once() == 0
        assert (await item(off, exchange_id)).status == "queued"
    finally:
        await off.aclose()

    on = built()
    await on.start()
    try:
        assert await DeliveryService(on).run_once() == 1
        assert (await item(on, exchange_id)).status == "delivered"
    finally:
        await on.aclose()
