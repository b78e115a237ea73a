"""A simulator of the public postal service (VNPost), service HCC, as the public record shows
it (see :mod:`connectors.postal.sandbox.wire` and :mod:`connectors.postal.sandbox.platform`).

It plays the platform in tests, demos and benchmarks; paths are relative (the app is mounted,
e.g. under ``/postal``). The protocol logic and the state machine live in
:mod:`connectors.postal.sandbox.platform`; this module serves them over HTTP.

* ``POST /token``: the ``vnpost_token`` exchange (JSON), or an NGSP client-credentials token
  (HTTP Basic and ``grant_type=client_credentials``, form-encoded; HTTP 401 when refused).
* With a credential (``access_token`` header, ``Authorization: Bearer``, a static token), or
  relayed by the LGSP (``X-LGSP-Relay``): ``POST /orders`` (HTTP 201 when made, as the NGSP
  SDK waits for; "101" when the order is already there), ``GET /orders/cancel?CustomerCode=
  &OrderNumber=`` (HTTP 201, as the SDK waits for), ``POST /quote`` (``{content: {price}}``),
  ``GET /tracking?pagesize=&lastId=`` (the feed), ``GET /statement?CustomerCode=&Date=``.
* The same through one address, as OpenCPS calls its LGSP: ``GET|POST /?service=<name>``
  (names in :class:`SimConfig` ``lgsp_services``).
* Packets are validated against the simulator's own models (a bad field: "104" naming it);
  refusals are HTTP 200 with ``{"Status", "Message"}``; bodies above :data:`MAX_REQUEST_BYTES`
  are HTTP 413.
* Every status change produces a signed webhook, kept (``GET /_sandbox/webhooks``) and pushed
  to ``webhook_url`` when one is configured, in the background (``await sim_app.state.pusher.
  drain()`` waits for the pushes in flight; tests may set ``app.state.pusher.transport``).

Not part of the platform, under ``/_sandbox``: ``GET /orders``; ``POST /orders/{n}/advance``
with an optional ``{"outcome": "fail"|"return", "at": yyyyMMddHHmmss}``; ``POST /tick`` (the
accelerated clock, also run before every platform request); ``GET /webhooks``;
``POST /webhooks/forge {"order_number", "status_code"}`` (a webhook with a wrong signature);
``POST /webhooks/{seq}/duplicate`` (the same webhook again, byte for byte);
``POST /webhooks/push`` (push again every webhook not yet answered 2xx); ``GET|PUT /config``
(:class:`SimConfig`); ``GET /received``; ``GET /stats``, ``POST /reset``,
``GET|PUT /faults`` (:class:`FaultConfig`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from connectors.postal.sandbox.platform import (
    FaultConfig,
    Outcome,
    PostalSimulator,
    Refusal,
    SimConfig,
    SimStats,
    StatementDiscrepancies,
)
from gateway.core.http.simulators import (
    BodyTooLarge,
    DroppedResponse,
    add_control_routes,
    count,
    read_body,
)

__all__ = [
    "MAX_REQUEST_BYTES",
    "Advance",
    "FaultConfig",
    "Forge",
    "PostalSimulator",
    "SimConfig",
    "SimStats",
    "StatementDiscrepancies",
    "WebhookPusher",
    "create_app",
    "get_pusher",
    "get_simulator",
]

MAX_REQUEST_BYTES = 64 * 1024


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome | None = None
    at: str | None = Field(default=None, pattern=r"^\d{14}$")


class Forge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_number: str = Field(min_length=1, max_length=64)
    status_code: str = Field("5", pattern=r"^[1-8]$")


class WebhookPusher:
    """Pushes kept webhooks to the configured URL, in background tasks (the platform does not
    wait for the partner). ``transport`` replaces the network (tests: an ASGI transport)."""

    def __init__(self, sim: PostalSimulator) -> None:
        self.sim = sim
        self.transport: httpx.AsyncBaseTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def push_new(self) -> None:
        for record in self.sim.webhooks:
            if record["pushed"] is None:
                self.push(record)

    def push(self, record: dict[str, Any]) -> None:
        url = self.sim.config.webhook_url
        if url is None or record["pushed"] == "lost":
            return
        record["pushed"] = "pushing"
        task = asyncio.get_running_loop().create_task(self._send(url, record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, url: str, record: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json", **record["headers"]}
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=10.0) as client:
                answer = await client.post(url, content=record["body"].encode(), headers=headers)
            record["pushed"] = answer.status_code
        except httpx.HTTPError as exc:
            record["pushed"] = f"error: {type(exc).__name__}"

    async def drain(self) -> None:
        """Wait for every push in flight (pushes a push starts are waited for too)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def get_simulator(app: FastAPI) -> PostalSimulator:
    """The typed simulator behind an app made by :func:`create_app`."""
    sim = getattr(app.state, "sim", None)
    if not isinstance(sim, PostalSimulator):
        raise TypeError("app.state.sim is not a PostalSimulator")
    return sim


def get_pusher(app: FastAPI) -> WebhookPusher:
    pusher = getattr(app.state, "pusher", None)
    if not isinstance(pusher, WebhookPusher):
        raise TypeError("app.state.pusher is not a WebhookPusher")
    return pusher


def create_app(
    *,
    customer_code: str = "LGSP-SANDBOX",
    username: str = "lgsp-sandbox",
    password: str = "sandbox-postal-password",  # noqa: S107 - the sandbox placeholder
    webhook_secret: str = "sandbox-postal-webhook",  # noqa: S107 - the sandbox placeholder
    seed: int = 2024,
) -> FastAPI:
    """Build the simulator app; its state is ``app.state.sim`` (a :class:`PostalSimulator`)."""
    sim = PostalSimulator(
        customer_code=customer_code,
        username=username,
        password=password,
        webhook_secret=webhook_secret,
        seed=seed,
    )
    pusher = WebhookPusher(sim)
    app = FastAPI(title="Bưu chính công ích (VNPost) sandbox", docs_url=None, redoc_url=None)
    app.state.sim = sim
    app.state.pusher = pusher

    def answer(payload: dict[str, Any], status: int = 200) -> JSONResponse:
        count(sim.stats.by_code, str(payload.get("Status", status)))
        pusher.push_new()
        return JSONResponse(payload, status_code=status)

    async def faulted() -> Response | None:
        faults = sim.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sim.roll(faults.error_rate):
            return Response("Service Unavailable", status_code=503, headers={"Retry-After": "1"})
        if sim.roll(faults.system_error_rate):
            return answer({"Status": "199", "Message": "Lỗi hệ thống, vui lòng thử lại"})
        return None

    async def packet(request: Request, endpoint: str) -> Any:
        if request.method != "POST":
            query = {k: v for k, v in request.query_params.items() if k != "service"}
            sim.keep(endpoint, query)
            return query
        try:
            raw = await read_body(request, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            raise HTTPException(413, f"the body is over {MAX_REQUEST_BYTES} bytes") from None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None  # refused as "104" by the simulator
        sim.keep(endpoint, body)
        return body

    Handler = Callable[[Any], tuple[dict[str, Any], int]]

    async def serve(
        request: Request, endpoint: str, handle: Handler, *, droppable: bool = False
    ) -> Response:
        """One platform request: counted, the clock ticked, the packet read, faults drawn,
        the credential checked, then ``handle(packet)``; a :class:`Refusal` is its answer."""
        count(sim.stats.received, endpoint)
        sim.tick()
        body = await packet(request, endpoint)
        fault = await faulted()
        if fault is not None:
            return fault
        try:
            sim.authorize(request.headers)
            result, status = handle(body)
        except Refusal as refusal:
            return answer({"Status": refusal.code, "Message": refusal.message})
        if droppable and sim.roll(sim.faults.drop_rate):
            # applied, but the answer is cut off mid-way: the client cannot know
            pusher.push_new()
            return DroppedResponse(json.dumps(result).encode(), media_type="application/json")
        return answer(result, status)

    def created(body: Any) -> tuple[dict[str, Any], int]:
        order, new = sim.create(body)
        if new:
            return {"Status": "100", "Message": "Tạo đơn thành công"}, 201
        # PASETO counts "101" as handed over (YeuCauBuuDienLayKetQuaWithoutItemCodeHandler.cs
        # L128): the order is already there
        return {"Status": "101", "Message": f"Đơn hàng {order.order_number} đã tồn tại"}, 200

    def cancelled(query: Any) -> tuple[dict[str, Any], int]:
        sim.cancel(query)
        return {"Status": "100", "Message": "Hủy đơn thành công"}, 201

    endpoints: dict[str, tuple[str, Handler, bool]] = {
        "orders": ("POST", created, True),
        "cancel": ("GET", cancelled, True),
        "quote": ("POST", lambda body: (sim.quote(body), 200), False),
        "tracking": ("GET", lambda query: (sim.tracking(query), 200), False),
        "statement": ("GET", lambda query: (sim.statement(query), 200), False),
    }

    async def endpoint(request: Request, name: str) -> Response:
        method, handle, droppable = endpoints[name]
        if request.method != method:
            raise HTTPException(405, f"{name} takes {method}")
        return await serve(request, name, handle, droppable=droppable)

    @app.post("/token")
    async def token(request: Request) -> Response:
        count(sim.stats.received, "token")
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            # the NGSP SDK's IToken.getToken: a form, HTTP 401 when refused
            raw = await read_body(request, MAX_REQUEST_BYTES)
            form = dict(parse_qsl(raw.decode("utf-8", "replace")))
            sim.keep("token", form)
            issued = sim.ngsp_token(authorization, form)
            if issued is None:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            return JSONResponse(issued)
        body = await packet(request, "token")
        fault = await faulted()
        if fault is not None:
            return fault
        try:
            return answer(sim.token(body))
        except Refusal as refusal:
            return answer({"Status": refusal.code, "Message": refusal.message})

    @app.post("/orders")
    async def create_order(request: Request) -> Response:
        return await endpoint(request, "orders")

    @app.get("/orders/cancel")
    async def cancel_order(request: Request) -> Response:
        return await endpoint(request, "cancel")

    @app.post("/quote")
    async def quote(request: Request) -> Response:
        return await endpoint(request, "quote")

    @app.get("/tracking")
    async def tracking(request: Request) -> Response:
        return await endpoint(request, "tracking")

    @app.get("/statement")
    async def statement(request: Request) -> Response:
        return await endpoint(request, "statement")

    @app.api_route("/", methods=["GET", "POST"])
    async def through_lgsp(request: Request) -> Response:
        """OpenCPS's one LGSP address: the operation named by ``?service=<name>``
        (VNPostManagementImpl.java L178-180)."""
        name = sim.config.lgsp_services.get(request.query_params.get("service", ""))
        if name is None:
            raise HTTPException(404, "no such service")
        return await endpoint(request, name)

    # --- the sandbox's own controls ------------------------------------------------------------

    @app.get("/_sandbox/orders")
    async def orders() -> list[dict[str, Any]]:
        sim.tick()
        pusher.push_new()
        return [order.as_json() for order in sim.orders.values()]

    @app.post("/_sandbox/orders/{number}/advance")
    async def advance(number: str, options: Advance | None = None) -> dict[str, Any]:
        options = options or Advance()
        try:
            order = sim.advance(number, options.outcome, options.at)
        except KeyError:
            raise HTTPException(404, "no such order") from None
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from None
        pusher.push_new()
        return order.as_json()

    @app.post("/_sandbox/tick")
    async def tick() -> dict[str, int]:
        moved = sim.tick()
        pusher.push_new()
        return {"moved": moved}

    @app.get("/_sandbox/webhooks")
    async def webhooks() -> list[dict[str, Any]]:
        """Every webhook produced, oldest first: ``{seq, kind, order_number, body, headers,
        pushed}`` (``pushed``: the HTTP status answered, an error, ``lost`` or ``None``)."""
        return list(sim.webhooks)

    @app.post("/_sandbox/webhooks/forge")
    async def forge(options: Forge) -> dict[str, Any]:
        order = sim.orders.get(options.order_number)
        if order is None:
            raise HTTPException(404, "no such order")
        record = sim.forge(order, options.status_code)
        pusher.push(record)
        return record

    @app.post("/_sandbox/webhooks/{seq}/duplicate")
    async def duplicate(seq: int) -> dict[str, Any]:
        if not 0 <= seq < len(sim.webhooks):
            raise HTTPException(404, "no webhook with this number")
        record = sim.duplicate(seq)
        pusher.push(record)
        return record

    @app.post("/_sandbox/webhooks/push")
    async def push_again() -> dict[str, int]:
        pending = [
            w for w in sim.webhooks if not (isinstance(w["pushed"], int) and w["pushed"] < 300)
        ]
        for record in pending:
            record["pushed"] = None
            pusher.push(record)
        return {"pushed": len(pending)}

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
