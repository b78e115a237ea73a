"""A simulator of the document exchange axis and the receiving agencies' QLVB, speaking this
project's HTTP profile of the VXP SDK's operations (paths relative: mounted under ``/qlvb``).

* ``POST /sendEdoc``: the edXML package as the body, the SDK's header JSON in the ``header``
  HTTP header; checked strictly (:mod:`.packets`); answer ``{status: "OK", ErrorDesc, DocID}``,
  a repeat of a DocumentId ``{status: "OK", ErrorCode: "DUPLICATE", DocID}``, a refusal
  ``{status: "FAIL", ErrorCode, ErrorDesc}`` (HTTP 200, as the SDK answers);
* ``POST /getReceivedEdocList`` (body: the header JSON; ``servicetype`` ``status``): the status
  packages not yet acknowledged; ``POST /getEdoc`` ``{docId}``: the package (XML);
  ``POST /updateStatus`` ``{docid, status: done|fail}``.
* Every operation needs the ``systemid`` and ``secret`` headers.

Controls under ``/_sandbox``: ``GET /documents``; ``POST /documents/advance`` ``{document_id,
organ_id?, code?, reject?}`` (the next status of each recipient, pushed when ``callback_url``
is set); ``GET /statuses``; ``POST /statuses/{id}/duplicate``; ``POST /statuses/push`` (push
again what was not answered 2xx); ``GET /certificate`` (the PEM of the status signer);
``GET|PUT /config``; ``GET /received``; ``GET /stats``, ``POST /reset``, ``GET|PUT /faults``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from connectors.qlvb.sandbox.packets import Refused
from connectors.qlvb.sandbox.platform import (
    FaultConfig,
    QlvbSimulator,
    SimConfig,
    StatusItem,
)
from gateway.core.http.simulators import (
    BodyTooLarge,
    DroppedResponse,
    add_control_routes,
    count,
    read_body,
)

__all__ = ["Advance", "StatusPusher", "create_app", "get_pusher", "get_simulator"]

MAX_JSON_BYTES = 16 * 1024


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_id: str = Field(min_length=1, max_length=200)
    organ_id: str | None = Field(default=None, max_length=32)
    code: str | None = Field(default=None, pattern=r"^\d{2}$")
    reject: bool = False


class StatusPusher:
    """Pushes status packages to ``callback_url`` in background tasks, signed with the
    callback secret (HMAC-SHA256 over ``"{timestamp}.{body}"``). ``transport`` replaces the
    network (tests: an ASGI transport)."""

    def __init__(self, sim: QlvbSimulator) -> None:
        self.sim = sim
        self.transport: httpx.AsyncBaseTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def push(self, item: StatusItem) -> None:
        url = self.sim.config.callback_url
        if url is None:
            return
        item.pushed = "pushing"
        task = asyncio.get_running_loop().create_task(self._send(url, item))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, url: str, item: StatusItem) -> None:
        stamp = str(int(time.time()))
        secret = self.sim.config.callback_secret.encode()
        mac = hmac.new(secret, stamp.encode() + b"." + item.body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/xml",
            "X-QLVB-Timestamp": stamp,
            "X-QLVB-Signature": mac,
        }
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=10.0) as client:
                answer = await client.post(url, content=item.body, headers=headers)
            item.pushed = answer.status_code
        except httpx.HTTPError as exc:
            item.pushed = f"error: {type(exc).__name__}"

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def get_simulator(app: FastAPI) -> QlvbSimulator:
    sim = getattr(app.state, "sim", None)
    if not isinstance(sim, QlvbSimulator):
        raise TypeError("app.state.sim is not a QlvbSimulator")
    return sim


def get_pusher(app: FastAPI) -> StatusPusher:
    pusher = getattr(app.state, "pusher", None)
    if not isinstance(pusher, StatusPusher):
        raise TypeError("app.state.pusher is not a StatusPusher")
    return pusher


def _refusal(exc: Refused) -> dict[str, Any]:
    return {"status": "FAIL", "ErrorCode": exc.code, "ErrorDesc": f"{exc.where}: {exc.why}"}


def create_app(
    *,
    system_id: str = "lgsp.sandbox.01",
    secret: str = "sandbox-qlvb-secret",  # noqa: S107 - the sandbox placeholder
    seed: int = 2026,
) -> FastAPI:
    sim = QlvbSimulator(system_id=system_id, secret=secret, seed=seed)
    pusher = StatusPusher(sim)
    app = FastAPI(
        title="Trục liên thông văn bản (QLVB, edXML) sandbox", docs_url=None, redoc_url=None
    )
    app.state.sim = sim
    app.state.pusher = pusher

    def answer(payload: dict[str, Any]) -> JSONResponse:
        count(sim.stats.by_code, str(payload.get("ErrorCode") or payload.get("status")))
        return JSONResponse(payload)

    async def faulted() -> Response | None:
        faults = sim.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sim.roll(faults.timeout_rate):
            await asyncio.sleep(faults.timeout_seconds)
        if sim.roll(faults.error_rate):
            return Response("Service Unavailable", status_code=503, headers={"Retry-After": "1"})
        if sim.roll(faults.system_error_rate):
            return answer(
                {"status": "FAIL", "ErrorCode": "SYSTEM_ERROR", "ErrorDesc": "Lỗi hệ thống"}
            )
        return None

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            raw = await read_body(request, MAX_JSON_BYTES)
            body = json.loads(raw)
        except BodyTooLarge:
            raise HTTPException(413, "body too large") from None
        except (ValueError, UnicodeDecodeError):
            raise Refused("INVALID_PACKAGE", "body", "not JSON") from None
        if not isinstance(body, dict):
            raise Refused("INVALID_PACKAGE", "body", "not a JSON object")
        return body

    async def begin(request: Request, name: str) -> Response | None:
        count(sim.stats.received, name)
        fault = await faulted()
        if fault is not None:
            return fault
        return None

    @app.post("/sendEdoc")
    async def send_edoc(request: Request) -> Response:
        fault = await begin(request, "sendEdoc")
        if fault is not None:
            return fault
        try:
            sim.authorize(request.headers)
            try:
                data = await read_body(request, sim.config.max_package_bytes)
            except BodyTooLarge:
                raise Refused("TOO_LARGE", "edXML", "over the axis's limit") from None
            try:
                header = json.loads(request.headers.get("header", ""))
            except ValueError:
                raise Refused("INVALID_PACKAGE", "header", "not JSON") from None
            if not isinstance(header, dict):
                raise Refused("INVALID_PACKAGE", "header", "not a JSON object")
            result = sim.send(data, header)
        except Refused as exc:
            return answer(_refusal(exc))
        if sim.roll(sim.faults.drop_rate):
            return DroppedResponse(json.dumps(result).encode(), media_type="application/json")
        return answer(result)

    @app.post("/getReceivedEdocList")
    async def received_list(request: Request) -> Response:
        fault = await begin(request, "getReceivedEdocList")
        if fault is not None:
            return fault
        try:
            sim.authorize(request.headers)
            return answer(sim.waiting(await json_body(request)))
        except Refused as exc:
            return answer(_refusal(exc))

    @app.post("/getEdoc")
    async def get_edoc(request: Request) -> Response:
        fault = await begin(request, "getEdoc")
        if fault is not None:
            return fault
        try:
            sim.authorize(request.headers)
            item = sim.item(str((await json_body(request)).get("docId", "")))
        except Refused as exc:
            return answer(_refusal(exc))
        return Response(item.body, media_type="application/xml")

    @app.post("/updateStatus")
    async def update_status(request: Request) -> Response:
        fault = await begin(request, "updateStatus")
        if fault is not None:
            return fault
        try:
            sim.authorize(request.headers)
            return answer(sim.acknowledge(await json_body(request)))
        except Refused as exc:
            return answer(_refusal(exc))

    # --- controls -------------------------------------------------------------------------------

    @app.get("/_sandbox/documents")
    async def list_documents() -> list[dict[str, Any]]:
        return [d.as_json() for d in sim.documents.values()]

    @app.post("/_sandbox/documents/advance")
    async def advance(options: Advance) -> list[dict[str, Any]]:
        try:
            produced = sim.advance(
                options.document_id,
                organ_id=options.organ_id,
                code=options.code,
                reject=options.reject,
            )
        except KeyError:
            raise HTTPException(404, "no such document or recipient") from None
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from None
        for item in produced:
            pusher.push(item)
        return [i.as_json() for i in produced]

    @app.get("/_sandbox/statuses")
    async def statuses() -> list[dict[str, Any]]:
        return [s.as_json() for s in sim.statuses]

    @app.post("/_sandbox/statuses/{status_id}/duplicate")
    async def duplicate(status_id: str) -> dict[str, Any]:
        try:
            item = sim.duplicate(status_id)
        except Refused:
            raise HTTPException(404, "no such status package") from None
        pusher.push(item)
        return item.as_json()

    @app.post("/_sandbox/statuses/push")
    async def push_again() -> dict[str, int]:
        pending = [s for s in sim.statuses if not (isinstance(s.pushed, int) and s.pushed < 300)]
        for item in pending:
            pusher.push(item)
        return {"pushed": len(pending)}

    @app.get("/_sandbox/certificate")
    async def certificate() -> Response:
        return Response(sim.certificate_pem, media_type="application/x-pem-file")

    @app.get("/_sandbox/config")
    async def get_config() -> SimConfig:
        return sim.config

    @app.put("/_sandbox/config")
    async def put_config(config: SimConfig) -> SimConfig:
        sim.config = config
        return config

    @app.get("/_sandbox/received")
    async def received() -> list[dict[str, Any]]:
        return list(sim.received)

    add_control_routes(app, sim, FaultConfig)
    return app
