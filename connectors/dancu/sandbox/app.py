"""A simulator of the National Population Database: an ASGI app that speaks its SOAP profile.

It plays the platform in tests, demos and benchmarks, answering from a deterministic
synthetic population (:mod:`connectors.dancu.sandbox.population`). It models the platform
from the public record (:mod:`connectors.dancu.sandbox.request` for what it accepts,
:mod:`connectors.dancu.sandbox.auth` for who it lets in), never from the gateway's own WSDL
or wire models; the result codes are the project's documented profile
(``connectors/dancu/errors.py``; 004 and 005 are the ones public systems document):

* ``GET /ws?wsdl`` (or ``GET /ws/wsdl``) serves the simulator's WSDL, its ``soap:address``
  naming the URL it was fetched from (the app is mounted, e.g. under ``/dancu``: the mount
  is kept).
* ``POST /ws`` is the SOAP endpoint. The body is bounded (:data:`MAX_REQUEST_BYTES`, else 413)
  and read by :func:`connectors.dancu.sandbox.request.parse_request`; what is not a SOAP call
  (a DTD, an entity, broken XML, an unknown operation) is HTTP 500 with a ``soap:Fault``.
  The caller is then authenticated: relayed by the LGSP (``X-LGSP-Relay``), HTTP Basic with
  a fresh ``timestamp``, or, with neither, an officer's ``AuthHash`` in the SOAP header; a
  failed or missing credential is HTTP 401 with a ``soap:Client`` fault. A call is then
  checked in this order, each failure answered with HTTP 200 and the operation's own answer
  element: ``001`` the request breaks the platform's rules; ``003`` ``MaTichHop`` unknown;
  ``005`` ``MaCanBo`` unknown; ``002`` ``AuthHash`` not this officer's (or missing when it is
  the only credential); ``005`` the officer is not permitted; ``004`` ``MaDVC`` not licensed
  (a local variant ``1.001776.000.00.00.H56`` counts as its national code). Then
  ``TraCuuThongTinCongDan`` answers ``000`` with the record when the number (``SoDinhDanh``,
  or the old card's ``SoCMND``), the name (compared without diacritics, case or spaces) and
  the birth date (``NgayThangNam`` or ``Nam``) all match, else ``006`` without saying which
  part differed; ``XacThucThongTinCongDan`` answers ``000`` with ``TonTai`` true or false.

Not part of the platform, under ``/_sandbox``: officers, integration accounts, licensed
procedures and integration codes to change, faults, a reset, counters, the last requests
received (ID numbers masked), and sample citizens for setting up tests and demos. Faults
apply to ``POST /ws`` only and are drawn from a ``random.Random`` seeded from ``seed``
(re-seeded by ``FaultConfig.seed``). The simulator logs nothing; no full ID number leaves it
except in ``/_sandbox/citizens``, which serves its synthetic records on purpose.

All state lives in one :class:`DancuSimulator` at ``app.state.sim``; handlers never await
between reading and writing it, so plain dicts suffice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from connectors.dancu.sandbox.auth import IntegrationAccount, Refused, http_credential
from connectors.dancu.sandbox.population import Population
from connectors.dancu.sandbox.request import SoapFault, parse_request
from connectors.dancu.sandbox.soap import MALFORMED_BODIES, fault_body, hostile_body, serialize
from connectors.dancu.sandbox.state import (
    DEFAULT_INTEGRATION_CODES,
    DEFAULT_PROCEDURES,
    NOT_PERMITTED_OFFICER,
    REQUEST_LOG_SIZE,
    UNLICENSED_PROCEDURE,
    DancuSimulator,
    FaultConfig,
    Officer,
    SimStats,
    citizen_json,
    default_officers,
)
from gateway.core.http.simulators import (
    BodyTooLarge,
    DroppedResponse,
    SimulatedConnectionDrop,
    add_control_routes,
    read_body,
)

__all__ = [
    "DEFAULT_INTEGRATION_CODES",
    "DEFAULT_PROCEDURES",
    "MAX_REQUEST_BYTES",
    "NOT_PERMITTED_OFFICER",
    "UNLICENSED_PROCEDURE",
    "DancuSimulator",
    "FaultConfig",
    "Officer",
    "SimStats",
    "SimulatedConnectionDrop",
    "create_app",
    "default_officers",
    "get_simulator",
]

MAX_REQUEST_BYTES = 64 * 1024
"""Request bodies above this are refused with HTTP 413 (a look-up is well under 2 KiB)."""

_XML = "text/xml; charset=utf-8"


# --- HTTP -------------------------------------------------------------------------------------


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=_XML)


def _endpoint_url(request: Request) -> str:
    # root_path holds the mount prefix (/dancu); request.base_url would drop it
    path = request.scope.get("root_path", "") + "/ws"
    return str(request.url.replace(path=path, query=""))


class OfficerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ma_can_bo: str = Field(min_length=1, max_length=64)
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)
    permitted: bool = True


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=128)
    secret: str = Field(min_length=1, max_length=256)
    auth_url: str | None = Field(None, max_length=1024)


class ProcedureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ma_dvc: str = Field(min_length=1, max_length=64)
    licensed: bool


class IntegrationCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ma_tich_hop: str = Field(min_length=1, max_length=64)
    known: bool


def get_simulator(app: FastAPI) -> DancuSimulator:
    """The typed simulator behind an app made by :func:`create_app`."""
    sim = app.state.sim
    if not isinstance(sim, DancuSimulator):
        raise TypeError("app.state.sim is not a DancuSimulator")
    return sim


def create_app(
    *, seed: int = 2024, size: int = 5000, population: Population | None = None
) -> FastAPI:
    """Build the simulator app; its state is ``app.state.sim`` (a :class:`DancuSimulator`).

    Paths are relative (``/ws``, ``/_sandbox/...``): the app is meant to be mounted, e.g.
    under ``/dancu``. ``population`` reuses one already drawn (it is immutable).
    """
    sim = DancuSimulator(seed=seed, size=size, population=population)
    app = FastAPI(title="CSDLQG về dân cư sandbox", docs_url=None, redoc_url=None)
    app.state.sim = sim

    async def wsdl(request: Request) -> Response:
        if request.url.path.endswith("/ws") and "wsdl" not in {
            key.lower() for key in request.query_params
        }:
            return Response("POST SOAP calls here; GET ?wsdl for the WSDL", status_code=405)
        return _xml(sim.wsdl.render(_endpoint_url(request)))

    async def soap(request: Request) -> Response:
        # a plain Starlette endpoint: no pydantic, no dependency injection on the hot path
        sim.stats.received += 1
        try:
            raw = await read_body(request, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            sim.stats.too_large += 1
            message = f"the request is larger than {MAX_REQUEST_BYTES} bytes"
            return _xml(fault_body(message), status=413)
        try:
            call = parse_request(raw, request.headers.get("soapaction"))
        except SoapFault as fault:
            sim.stats.soap_faults += 1
            sim.remember(None, f"soap:{fault.code}")
            return _xml(fault_body(fault.message, code=fault.code), status=500)
        try:
            credential = http_credential(
                request.headers,
                url=_endpoint_url(request),
                accounts=sim.accounts,
                now=sim.clock(),
                window=sim.timestamp_window,
            )
            if credential == "none" and call.auth_hash is None:
                raise Refused("no credential: HTTP Basic, the LGSP's relay or an AuthHash")
        except Refused as refused:
            sim.stats.refused_auth += 1
            sim.remember(None, "http:401")
            message = f"Xác thực không thành công: {refused.reason}"
            return _xml(fault_body(message, code="Client"), status=401)
        sim.note_operation(call, credential)

        faults = sim.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sim.roll(faults.error_rate):
            return Response("Service Unavailable", status_code=503, headers={"Retry-After": "1"})
        if sim.roll(faults.http_500_rate):
            return _xml(fault_body("Lỗi hệ thống", code="Server"), status=500)
        forced = "008" if sim.roll(faults.quota_rate) else None
        if forced is None and sim.roll(faults.busy_rate):
            forced = "009"
        envelope = sim.answer(call, forced, credential)

        if sim.roll(faults.timeout_rate):
            await asyncio.sleep(faults.timeout_seconds)
        if sim.roll(faults.drop_rate):
            return DroppedResponse(serialize(envelope), media_type=_XML)
        if sim.roll(faults.malformed_rate):
            content, media_type = sim.rng.choice(MALFORMED_BODIES)
            return Response(content, status_code=200, media_type=media_type)
        hostile = sim.take_hostile()
        if hostile is not None:
            return _xml(hostile_body(envelope, hostile, oversize_bytes=faults.oversize_bytes))
        return _xml(serialize(envelope))

    app.add_route("/ws", wsdl, methods=["GET"])
    app.add_route("/ws/wsdl", wsdl, methods=["GET"])
    app.add_route("/ws", soap, methods=["POST"])

    add_control_routes(app, sim, FaultConfig)

    @app.get("/_sandbox/officers")
    async def officers() -> list[dict[str, Any]]:
        # the passwords are the well-known defaults or what a test set; still not echoed
        return [_officer_json(officer) for officer in sim.officers.values()]

    @app.post("/_sandbox/officers")
    async def add_officer(body: OfficerIn) -> dict[str, Any]:
        officer = Officer(body.ma_can_bo, body.username, body.password, body.permitted)
        sim.add_officer(officer)
        return _officer_json(officer)

    @app.get("/_sandbox/accounts")
    async def accounts() -> list[dict[str, Any]]:
        """The integration accounts HTTP Basic accepts (their secrets are not echoed)."""
        return [
            {"username": account.username, "auth_url": account.auth_url}
            for account in sim.accounts.values()
        ]

    @app.post("/_sandbox/accounts")
    async def add_account(body: AccountIn) -> dict[str, Any]:
        sim.add_account(IntegrationAccount(body.username, body.secret, body.auth_url))
        return {"username": body.username, "auth_url": body.auth_url}

    @app.get("/_sandbox/procedures")
    async def procedures() -> dict[str, list[str]]:
        return {"licensed": sorted(sim.licensed_procedures)}

    @app.post("/_sandbox/procedures")
    async def set_procedure(body: ProcedureIn) -> dict[str, Any]:
        sim.set_procedure(body.ma_dvc, body.licensed)
        return {"ma_dvc": body.ma_dvc, "licensed": body.ma_dvc in sim.licensed_procedures}

    @app.get("/_sandbox/integration-codes")
    async def integration_codes() -> dict[str, list[str]]:
        return {"known": sorted(sim.integration_codes)}

    @app.post("/_sandbox/integration-codes")
    async def set_integration_code(body: IntegrationCodeIn) -> dict[str, Any]:
        sim.set_integration_code(body.ma_tich_hop, body.known)
        return {"ma_tich_hop": body.ma_tich_hop, "known": body.ma_tich_hop in sim.integration_codes}

    @app.get("/_sandbox/requests")
    async def requests(limit: int = Query(50, ge=1, le=REQUEST_LOG_SIZE)) -> list[dict[str, Any]]:
        """The last ``limit`` requests received, oldest first; ID numbers masked."""
        return list(sim.requests)[-limit:]

    @app.get("/_sandbox/citizens")
    async def citizens(
        limit: int = Query(20, ge=1, le=500), offset: int = Query(0, ge=0)
    ) -> dict[str, Any]:
        """Synthetic records for setting up tests and demos (sandbox only)."""
        chosen = sim.population.citizens[offset : offset + limit]
        return {"total": len(sim.population), "citizens": [citizen_json(c) for c in chosen]}

    @app.get("/_sandbox/citizens/{so_dinh_danh}")
    async def citizen(so_dinh_danh: str) -> dict[str, Any]:
        record = sim.population.get(so_dinh_danh)
        if record is None:
            raise HTTPException(status_code=404, detail="no such citizen")
        return citizen_json(record)

    return app


def _officer_json(officer: Officer) -> dict[str, Any]:
    return {
        "ma_can_bo": officer.ma_can_bo,
        "username": officer.username,
        "permitted": officer.permitted,
    }
