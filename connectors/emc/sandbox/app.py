"""A simulator of EMC as the public record shows it (``TrackingMCDT``), plus this project's own
aggregate profile. Paths are relative (the app is mounted, e.g. under ``/emc``):

* ``POST /TrackingMCDT``: one event (JSON, at most :data:`MAX_REQUEST_BYTES`), validated strictly
  against the simulator's own model (:mod:`.wire`: SiteId known, every code in range, ``User``
  a JSON string whose TYPE matches the ID); HTTP 200 ``{"status": "ok"|"duplicate"}``, 400
  ``{"error", "field"}`` for a bad packet, 403 for an unknown SiteId, 413 for a body too large.
  No credential is asked (PASETO sends none).
* ``OPTIONS /TrackingMCDT``: 204 (what the connector's check reaches).
* ``POST /aggregate`` (our profile): one month's aggregate; ``{"status": "accepted" |
  "replaced" | "duplicate", "report_id"}``.

Not part of the platform, under ``/_sandbox``: ``GET /received`` (every event and aggregate
kept), ``GET /stats``, ``POST /reset``, ``GET|PUT /faults`` (:class:`FaultConfig`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.emc.sandbox.platform import EmcSimulator, FaultConfig, Refusal
from gateway.core.http.simulators import (
    BodyTooLarge,
    DroppedResponse,
    add_control_routes,
    count,
    read_body,
)

__all__ = ["MAX_REQUEST_BYTES", "create_app", "get_simulator"]

MAX_REQUEST_BYTES = 256 * 1024


def get_simulator(app: FastAPI) -> EmcSimulator:
    sim = getattr(app.state, "sim", None)
    if not isinstance(sim, EmcSimulator):
        raise TypeError("app.state.sim is not an EmcSimulator")
    return sim


def create_app(*, seed: int = 2026) -> FastAPI:
    """Build the simulator app; its state is ``app.state.sim`` (an :class:`EmcSimulator`)."""
    sim = EmcSimulator(seed=seed)
    app = FastAPI(title="EMC sandbox", docs_url=None, redoc_url=None)
    app.state.sim = sim

    async def serve(
        request: Request, endpoint: str, handle: Callable[[Any], dict[str, Any]]
    ) -> Response:
        count(sim.stats.received, endpoint)
        faults = sim.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sim.roll(faults.error_rate):
            return Response("Service Unavailable", status_code=503, headers={"Retry-After": "1"})
        if sim.roll(faults.http_500_rate):
            return Response("Internal Server Error", status_code=500)
        try:
            raw = await read_body(request, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            return JSONResponse({"error": "body too large", "field": None}, status_code=413)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "body is not JSON", "field": None}, status_code=400)
        try:
            result = handle(body)
        except Refusal as refusal:
            return JSONResponse(refusal.body(), status_code=refusal.status)
        # applied: the answer may now be lost or spoiled
        if sim.roll(faults.timeout_rate):
            await asyncio.sleep(faults.timeout_seconds)
        if sim.roll(faults.drop_rate):
            return DroppedResponse(json.dumps(result).encode(), media_type="application/json")
        if sim.roll(faults.malformed_rate):
            return Response("<html>gateway error</html>", status_code=200, media_type="text/html")
        return JSONResponse(result)

    @app.post("/TrackingMCDT")
    async def tracking(request: Request) -> Response:
        return await serve(request, "TrackingMCDT", sim.track)

    @app.options("/TrackingMCDT")
    async def tracking_options() -> Response:
        count(sim.stats.received, "probe")
        return Response(status_code=204, headers={"Allow": "POST, OPTIONS"})

    @app.post("/aggregate")
    async def aggregate(request: Request) -> Response:
        return await serve(request, "aggregate", sim.aggregate)

    @app.get("/_sandbox/received")
    async def received() -> dict[str, Any]:
        return sim.received()

    add_control_routes(app, sim, FaultConfig)
    return app
