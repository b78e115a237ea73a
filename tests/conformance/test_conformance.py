"""The connector conformance suite: one contract, checked for every registered connector.

Parametrized over :data:`connectors.REGISTRY`, so a new platform is
covered the moment it is registered. Each connector is built the way the gateway builds it
(``spec.factory(config, http)``) and talks to its own simulator (``spec.sandbox_factory()``)
through ``httpx.ASGITransport``; nothing here knows a platform's wire format, except the last
test, which checks the DVCQG simulator's de-duplication that the crash test relies on.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog
from pydantic import BaseModel, SecretStr, ValidationError

from connectors import REGISTRY as CONNECTOR_PACKAGES
from gateway.core.connector import (
    Actor,
    CheckResult,
    Connector,
    ConnectorSpec,
    ErrorRule,
    Resolution,
    raise_for_rule,
)
from gateway.core.errors import GatewayError, PermanentUpstreamError, UpstreamError
from gateway.core.registry import load_specs
from tests.e2e.procs import free_port

SANDBOX = "http://sandbox"
SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def _spec(package: str) -> ConnectorSpec:
    spec = importlib.import_module(package).SPEC
    assert isinstance(spec, ConnectorSpec)
    return spec


@pytest.fixture(params=CONNECTOR_PACKAGES, ids=lambda p: p.rpartition(".")[2])
def package(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def spec(package: str) -> ConnectorSpec:
    return _spec(package)


def _secret_fields(model: type[BaseModel]) -> list[str]:
    return [name for name, f in model.model_fields.items() if f.annotation is SecretStr]


def _sandbox_section(spec: ConnectorSpec, base: str = SANDBOX) -> dict[str, Any]:
    assert spec.sandbox_config is not None, f"{spec.slug} has no sandbox_config"
    return dict(spec.sandbox_config(base))


class _Built:
    """A connector built as the gateway builds it, with the HTTP client it was given."""

    def __init__(self, spec: ConnectorSpec, section: dict[str, Any], transport: Any) -> None:
        self.config = spec.config_model.model_validate(section)
        self.http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0))
        self.connector = spec.factory(self.config, self.http)

    async def aclose(self) -> None:
        await self.connector.aclose()
        await self.http.aclose()


@pytest.fixture
async def sandbox_app(spec: ConnectorSpec) -> Any:
    assert spec.sandbox_factory is not None, f"{spec.slug} ships no simulator"
    return spec.sandbox_factory()


@pytest.fixture
async def built(spec: ConnectorSpec, sandbox_app: Any) -> AsyncIterator[_Built]:
    """The connector, configured for its simulator, over an in-process transport."""
    b = _Built(spec, _sandbox_section(spec), httpx.ASGITransport(app=sandbox_app))
    yield b
    await b.aclose()


# --- the spec and the registry -----------------------------------------------------------------


def test_registry_lists_every_package_once() -> None:
    specs = load_specs()
    assert sorted(specs) == sorted(_spec(p).slug for p in CONNECTOR_PACKAGES)


def test_slug_is_lowercase_and_names_the_package(package: str, spec: ConnectorSpec) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9]*", spec.slug), spec.slug
    assert package == f"connectors.{spec.slug}"
    assert spec.title.strip()


# --- the configuration model -------------------------------------------------------------------


def test_config_defaults_validate(spec: ConnectorSpec) -> None:
    # the embedded default runs with no configuration at all
    assert isinstance(spec.config_model.model_validate({}), spec.config_model)
    spec.config_model.model_validate(_sandbox_section(spec))


def test_config_refuses_unknown_keys(spec: ConnectorSpec) -> None:
    # a misspelt LGSP_CONNECTORS__<SLUG>__<FIELD> must fail start-up, not be ignored
    assert spec.config_model.model_config.get("extra") == "forbid"
    with pytest.raises(ValidationError):
        spec.config_model.model_validate({"no_such_setting": "x"})


def test_config_fields_are_documented(spec: ConnectorSpec) -> None:
    undocumented = [n for n, f in spec.config_model.model_fields.items() if not f.description]
    assert undocumented == []


def test_config_schema_hides_secrets(spec: ConnectorSpec) -> None:
    schema = spec.config_model.model_json_schema()
    text = json.dumps(schema, ensure_ascii=False)
    config = spec.config_model.model_validate({})
    for name in _secret_fields(spec.config_model):
        prop = schema["properties"][name]
        assert prop.get("writeOnly") is True, (name, prop)
        assert prop.get("format") == "password", (name, prop)
        default = getattr(config, name).get_secret_value()
        if default:
            assert default not in text
            assert default not in repr(config)
            assert default not in str(config)
            assert default not in config.model_dump_json()
    for placeholder in spec.placeholder_secrets:
        assert placeholder not in text
        assert placeholder not in repr(config)


def test_placeholder_secrets_are_the_secret_defaults(spec: ConnectorSpec) -> None:
    # production refuses exactly these; a secret default missing here would slip through
    config = spec.config_model.model_validate({})
    defaults = {getattr(config, n).get_secret_value() for n in _secret_fields(spec.config_model)}
    assert {d for d in defaults if d} <= set(spec.placeholder_secrets)


# --- the connector -------------------------------------------------------------------------------


async def test_connector_satisfies_the_protocol(spec: ConnectorSpec, built: _Built) -> None:
    connector = built.connector
    assert isinstance(connector, Connector)
    assert connector.slug == spec.slug
    assert isinstance(connector.operations, frozenset)
    # a look-up-only platform (the population database) delivers nothing through the outbox;
    # its deliver() must then refuse everything (checked below)
    assert all(SNAKE.fullmatch(op) for op in connector.operations), connector.operations


def test_error_table_resolves_every_code(spec: ConnectorSpec) -> None:
    b = _Built(spec, _sandbox_section(spec), httpx.MockTransport(lambda r: httpx.Response(500)))
    table = b.connector.error_table
    assert table
    for code, rule in table.items():
        assert isinstance(code, str)
        assert code.strip()
        assert isinstance(rule, ErrorRule), code
        assert isinstance(rule.resolution, Resolution), code
        assert isinstance(rule.actor, Actor), code
        assert rule.description.strip(), code
        # every resolution maps onto the core's behaviour: return, or one of its errors
        try:
            raise_for_rule(rule, code=code, message="conformance")
        except UpstreamError:
            assert rule.resolution not in (Resolution.SUCCESS, Resolution.EXISTS), code
        else:
            assert rule.resolution in (Resolution.SUCCESS, Resolution.EXISTS), code
    successes = [c for c, r in table.items() if r.resolution is Resolution.SUCCESS]
    assert successes, "no code means success"
    assert all(table[c].actor is Actor.NONE for c in successes)


async def test_check_passes_against_its_simulator(built: _Built) -> None:
    result = await built.connector.check()
    assert isinstance(result, CheckResult)
    assert result.ok, result.detail
    assert result.latency_ms >= 0


async def test_check_fails_cleanly_when_unreachable(spec: ConnectorSpec) -> None:
    # a real transport toward a port where nobody listens: refused at once
    b = _Built(spec, _sandbox_section(spec, f"http://127.0.0.1:{free_port()}"), None)
    try:
        result = await b.connector.check()
    finally:
        await b.aclose()
    assert isinstance(result, CheckResult)
    assert result.ok is False
    assert result.detail


async def test_unknown_operation_is_a_permanent_error(built: _Built) -> None:
    with pytest.raises(PermanentUpstreamError):
        await built.connector.deliver("no_such_operation", {})


async def test_invalid_payload_is_a_gateway_error(built: _Built) -> None:
    # a payload that cannot validate can never succeed: an error the core can settle
    for operation in sorted(built.connector.operations):
        with pytest.raises(GatewayError):
            await built.connector.deliver(operation, {"unexpected": True})


# --- redaction ---------------------------------------------------------------------------------


async def test_secrets_never_reach_logs_or_errors(
    spec: ConnectorSpec,
    sandbox_app: Any,
    logging_at_debug: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    secret_fields = _secret_fields(spec.config_model)
    if not secret_fields:
        pytest.skip(f"{spec.slug} has no secret settings")
    secrets = {n: f"Conformance-{n}-5e7c1d9a" for n in secret_fields}
    structlog.get_logger("conformance").warning("conformance.marker")
    errors: list[str] = []

    async def exercise(section: dict[str, Any], transport: Any) -> None:
        b = _Built(spec, {**section, **secrets}, transport)
        try:
            result = await b.connector.check()
            errors.append(result.detail)
            for operation in [*sorted(b.connector.operations), "no_such_operation"]:
                try:
                    await b.connector.deliver(operation, {})
                except Exception as exc:  # every error is inspected, whatever its type
                    errors.extend([str(exc), repr(exc), getattr(exc, "detail", "")])
        finally:
            await b.aclose()

    # the simulator refuses these credentials; then nobody listens at all
    await exercise(_sandbox_section(spec), httpx.ASGITransport(app=sandbox_app))
    await exercise(_sandbox_section(spec, f"http://127.0.0.1:{free_port()}"), None)
    assert errors
    out, err = capfd.readouterr()
    assert "conformance.marker" in err, "the log capture is not working"
    for name, value in secrets.items():
        assert value not in out + err, f"{name} leaked into the logs"
        assert not [e for e in errors if value in e], f"{name} leaked into an error"


# --- the DVCQG simulator's de-duplication (the crash test relies on it) ------------------------


async def test_dvcqg_simulator_deduplicates_a_repeated_packet() -> None:
    from connectors.dvcqg import HoSo
    from tests.factories import dossier

    spec = load_specs()["dvcqg"]
    assert spec.sandbox_factory is not None
    app = spec.sandbox_factory()
    sim = app.state.sim
    b = _Built(spec, _sandbox_section(spec), httpx.ASGITransport(app=app))
    try:
        payload = HoSo.model_validate(dossier(7)).model_dump(mode="json")
        await b.connector.deliver("sync_dossier", payload)
        applied = sim.stats.applied
        await b.connector.deliver("sync_dossier", payload)  # at-least-once: a redelivery
    finally:
        await b.aclose()
    assert sim.stats.applied == applied
    assert sim.stats.duplicates == 1
    assert sim.dossiers[payload["ma_ho_so"]].history == [2]
