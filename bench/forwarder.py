"""The floor of the gateway's stack: a FastAPI route that forwards a body, nothing more.

``bench/dancu_lookup.py`` runs it beside the gateway as a path to the simulator. It does none
of the gateway's work (no key, officer or purpose check, no validation, no SOAP, no log, no
database); it is what any look-up served by FastAPI on uvicorn costs on the machine before the
gateway adds anything. Its outbound client is the one the gateway's connectors use: an
``httpx.AsyncClient`` over the transport ``LGSP_HTTP_TRANSPORT`` names (``aiohttp``, the
default, or ``httpx``), built by :func:`gateway.core.http.transports.network_transport`, so
the floor moves with the gateway when the transport changes. A target below this floor cannot
be met by tuning the gateway; it would take another stack.

Run as ``python -m uvicorn bench.forwarder:app --loop uvloop`` with ``LGSP_BENCH_FORWARD_TO``
set to the simulator's SOAP endpoint. Not part of the gateway; nothing imports it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.core.http.transports import TRANSPORTS, TransportName, network_transport

TARGET = os.environ.get("LGSP_BENCH_FORWARD_TO", "http://127.0.0.1:9000/dancu/ws")
NETWORK = os.environ.get("LGSP_HTTP_TRANSPORT", "aiohttp")
HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "SOAPAction": '"http://dancuquocgia.bca/TraCuuThongTinCongDan"',
}
_client: list[httpx.AsyncClient] = []


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    if NETWORK not in TRANSPORTS:
        raise SystemExit(f"LGSP_HTTP_TRANSPORT: one of {', '.join(TRANSPORTS)}")
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    transport = network_transport(cast(TransportName, NETWORK), limits=limits)
    async with httpx.AsyncClient(transport=transport, timeout=30) as client:
        _client.append(client)
        yield
        _client.clear()


app = FastAPI(lifespan=lifespan)


@app.post("/forward")
async def forward(request: Request) -> Response:
    answer = await _client[0].post(TARGET, content=await request.body(), headers=HEADERS)
    return Response(answer.content, status_code=answer.status_code, media_type="text/xml")
