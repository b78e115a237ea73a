"""A simulator of the public postal service (VNPost), speaking this project's profile.

It plays the platform in tests, demos and benchmarks; paths are relative (the app is mounted,
e.g. under ``/postal``). The protocol logic and the state machine live in
:mod:`connectors.postal.sandbox_platform`; this module serves them over HTTP.

* ``POST /token``; then, with the header ``access_token``: ``POST /orders``,
  ``POST /orders/cancel``, ``POST /quote``, ``GET /tracking?CustomerCode=&OrderNumber=``,
  ``GET /statement?CustomerCode=&Date=yyyyMMdd``. Every packet is validated against
  :mod:`schemas.postal` (a bad field: code "104" naming it); refusals are HTTP 200 with
  ``{"Code", "Message"}``; bodies above :data:`MAX_REQUEST_BYTES` are HTTP 413.
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

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from connectors.postal.sandbox_platform import (
    MESSAGES,
    FaultConfig,
    Outcome,
    PostalSimulator,
    Refusal,
    SimConfig,
    SimStats,
    StatementDiscrepancies,
)
from gateway.core.simulators import (
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

    def answer(payload: dict[str, Any]) -> JSONResponse:
        count(sim.stats.by_code, str(payload.get("Code")))
        pusher.push_new()
        return JSONResponse(payload)

    async def faulted() -> Response | None:
        faults = sim.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sim.roll(faults.error_rate):
            return Response("Service Unavailable", status_code=503, headers={"Retry-After": "1"})
        if sim.roll(faults.system_error_rate):
            return answer({"Code": "199", "Message": "Lỗi hệ thống, vui lòng thử lại"})
        return None

    async def packet(request: Request, endpoint: str) -> Any:
        if request.method != "POST":
            return dict(request.query_params)
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

    async def serve(
        request: Request,
        endpoint: str,
        handle: Callable[[Any], dict[str, Any]],
        *,
        token: bool = True,
        droppable: bool = False,
    ) -> Response:
        """One platform request: counted, the clock ticked, the packet read, faults drawn,
        the token checked, then ``handle(packet)``; a :class:`Refusal` is its answer."""
        count(sim.stats.received, endpoint)
        sim.tick()
        body = await packet(request, endpoint)
        fault = await faulted()
        if fault is not None:
            return fault
        try:
            if token:
                sim.authorize(request.headers.get("access_token"))
            result = handle(body)
        except Refusal as refusal:
            return answer({"Code": refusal.code, "Message": refusal.message})
        if droppable and sim.roll(sim.faults.drop_rate):
            # applied, but the answer is cut off mid-way: the client cannot know
            pusher.push_new()
            return DroppedResponse(json.dumps(result).encode(), media_type="application/json")
        return answer(result)

    def created(body: Any) -> dict[str, Any]:
        order, _new = sim.create(body)
        return {
            "Code": "100",
            "Message": "OK",
            "OrderNumber": order.order_number,
            "ItemCode": order.item_code,
            "TotalFee": order.fee,
        }

    def cancelled(body: Any) -> dict[str, Any]:
        return {"Code": "100", "Message": "OK", "OrderNumber": sim.cancel(body).order_number}

    @app.post("/token")
    async def token(request: Request) -> Response:
        return await serve(request, "token", sim.token, token=False)

    @app.post("/orders")
    async def create_order(request: Request) -> Response:
        return await serve(request, "orders", created, droppable=True)

    @app.post("/orders/cancel")
    async def cancel_order(request: Request) -> Response:
        return await serve(request, "cancel", cancelled, droppable=True)

    @app.post("/quote")
    async def quote(request: Request) -> Response:
        return await serve(request, "quote", sim.quote)

    @app.get("/tracking")
    async def tracking(request: Request) -> Response:
        return await serve(
            request, "tracking", lambda q: sim.tracking(q.get("CustomerCode"), q.get("OrderNumber"))
        )

    @app.get("/statement")
    async def statement(request: Request) -> Response:
        return await serve(
            request, "statement", lambda q: sim.statement(q.get("CustomerCode"), q.get("Date"))
        )

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
        line = {
            "statusCode": options.status_code,
            "statusMessage": MESSAGES[options.status_code],
            "time": order.lines[-1]["time"],
        }
        record = sim.webhook(order, line, kind="forged")
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
