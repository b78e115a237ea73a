"""The DVCQG simulator as an ASGI app: the portal's adapter for tests, demos and the crash test.

Routes (relative: the app is mounted, e.g. under ``/dvcqg``):

* ``POST /auth``: ``{username, password}`` -> ``{session, error_code: 0}`` (or 100);
* ``POST /api``: the integration endpoint; ``POST /share``: the share endpoint (catalogue
  and code lists). Both require the ``dstcode`` header OpenCPS sends on every call
  (``DVCQGIntegrationActionImpl.java``, rc-3.0, lines 1867, 2048, 2243): without it the
  call is refused with HTTP 400. See :mod:`connectors.dvcqg.sandbox.platform`.
* ``GET /files/{id}`` and ``/_sandbox/online-dossiers...``, ``/_sandbox/citizen-items...``:
  the online portal of :mod:`connectors.dvcqg.sandbox.online`.

Not part of the platform, under ``/_sandbox``: inspection of the stored dossiers and counters,
a reset, and fault injection (latency, 503, 500, late answers, dropped connections, malformed
answers, session expiry), on the integration and share endpoints. Fault draws come from a
``random.Random`` seeded from ``seed`` (re-seeded by ``FaultConfig.seed``), so a run is
reproducible for a given configuration and request sequence.

Delivery semantics the gateway is tested against: a late, dropped or malformed answer is
produced *after* the request was applied, exactly like a real platform that commits and then
loses the answer; resending the same packet is then counted as a duplicate, not applied twice.

All state lives in one :class:`DvcqgSimulator` at ``app.state.sim``. The app runs on one event
loop and handlers never await between reading and writing state, so plain dicts suffice.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from connectors.dvcqg.sandbox.faults import FaultConfig
from connectors.dvcqg.sandbox.online import add_online_routes
from connectors.dvcqg.sandbox.packets import problems
from connectors.dvcqg.sandbox.platform import INTEGRATION, SHARE, DvcqgSimulator
from gateway.core.http.simulators import (
    BodyTooLarge,
    DroppedResponse,
    add_control_routes,
    read_body,
)

__all__ = ["MAX_BODY_BYTES", "create_app", "get_simulator"]

MAX_BODY_BYTES = 5 * 1024 * 1024
"""Request bodies above this are refused with HTTP 413 (a 50-dossier batch is far smaller)."""

# Bodies of the "malformed" fault: a truncated JSON, an HTML error page from a proxy, and
# valid JSON without error_code. A connector must treat all three as "unknown outcome".
_MALFORMED_BODIES = (
    b'{"error_code": "0", "message": "Th',
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b'{"result": null, "status": "ok"}',
)


class _Credentials(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str
    password: str


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _too_large() -> JSONResponse:
    return JSONResponse(
        {"error_code": "413", "message": f"Dữ liệu vượt quá {MAX_BODY_BYTES} byte"},
        status_code=413,
    )


def get_simulator(app: FastAPI) -> DvcqgSimulator:
    """The typed simulator behind an app made by :func:`create_app`."""
    sim = app.state.sim
    if not isinstance(sim, DvcqgSimulator):
        raise TypeError("app.state.sim is not a DvcqgSimulator")
    return sim


def create_app(
    *,
    username: str = "lgsp-sandbox",
    password: str = "sandbox-secret",  # noqa: S107 - a test double's well-known default
    seed: int | None = None,
    session_ttl_seconds: float = 900.0,
) -> FastAPI:
    """Build the simulator app; its state is ``app.state.sim`` (a :class:`DvcqgSimulator`)."""
    sim = DvcqgSimulator(
        username=username,
        password=password,
        seed=seed,
        session_ttl_seconds=session_ttl_seconds,
    )
    app = FastAPI(title="DVCQG sandbox", docs_url=None, redoc_url=None)
    app.state.sim = sim

    @app.post("/auth")
    async def auth(request: Request) -> Response:
        sim.saw_dstcode(request.headers)
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return _too_large()
        try:
            credentials = _Credentials.model_validate(_parse_json(raw))
        except ValidationError as exc:
            return JSONResponse({"error_code": 500, "message": problems(exc)})
        token = sim.authenticate(credentials.username, credentials.password)
        if token is None:
            return JSONResponse({"error_code": 100, "message": "Sai thông tin xác thực"})
        return JSONResponse({"session": token, "error_code": 0, "message": "OK"})

    async def endpoint(request: Request, name: str) -> Response:
        sim.stats.received += 1
        sim.stats.by_endpoint[name] = sim.stats.by_endpoint.get(name, 0) + 1
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            sim.stats.rejected += 1
            return _too_large()
        body = _parse_json(raw)
        service = body.get("service") if isinstance(body, dict) else None
        if isinstance(service, str):
            sim.stats.by_service[service] = sim.stats.by_service.get(service, 0) + 1
        if sim.saw_dstcode(request.headers) is None:
            sim.stats.rejected += 1
            return JSONResponse(
                {"error_code": "400", "message": "Thiếu header dstcode (mã đơn vị)"},
                status_code=400,
            )

        faults = sim.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sim.roll(faults.error_rate):
            return JSONResponse(
                {"error_code": "503", "message": "Hệ thống đang bận, vui lòng thử lại"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        if sim.roll(faults.http_500_rate):
            return Response(b"Internal Server Error", status_code=500, media_type="text/plain")

        # from here on the request is applied, whatever happens to the answer
        answer = sim.handle(body, name)

        if sim.roll(faults.timeout_rate):
            await asyncio.sleep(faults.timeout_seconds)
        if sim.roll(faults.drop_rate):
            body_bytes = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            return DroppedResponse(body_bytes, media_type="application/json")
        if sim.roll(faults.malformed_rate):
            content = sim.rng.choice(_MALFORMED_BODIES)
            return Response(content, status_code=200, media_type="application/json")
        return JSONResponse(answer)

    @app.post("/api")
    async def api(request: Request) -> Response:
        return await endpoint(request, INTEGRATION)

    @app.post("/share")
    async def share(request: Request) -> Response:
        return await endpoint(request, SHARE)

    @app.get("/_sandbox/dossiers")
    async def dossiers() -> dict[str, Any]:
        return {code: record.as_dict() for code, record in sim.dossiers.items()}

    @app.get("/_sandbox/dossiers/{ma_ho_so}")
    async def dossier(ma_ho_so: str) -> dict[str, Any]:
        record = sim.dossiers.get(ma_ho_so)
        if record is None:
            raise HTTPException(status_code=404, detail=f"unknown dossier {ma_ho_so}")
        return record.as_dict()

    add_online_routes(app, sim.online)
    add_control_routes(app, sim, FaultConfig)

    return app
