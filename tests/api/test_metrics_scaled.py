"""Metrics an ops team can trust when scaled out (issue 19): the database's gauges exact at each
scrape (0 once a queue drains), /metrics answering with the state store down, the breakers'
three states, process metrics, and a worker's own /metrics."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx

from gateway.cli.servers import serve_metrics
from gateway.core.delivery.workers import DeliveryService
from gateway.core.metrics import DELIVERIES
from gateway.core.runtime import Gateway
from tests.core.test_delivery import accept


def sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return None


async def test_the_gauges_read_zero_once_the_queue_drains(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    for n in (1, 2, 3):
        await accept(gateway, n)
    before = (await api.get("/metrics")).text
    assert sample(before, "lgsp_outbox_items", connector="dvcqg", status="queued") == 3
    assert (sample(before, "lgsp_outbox_oldest_pending_seconds", connector="dvcqg") or 0) >= 0
    while await DeliveryService(gateway).run_once():
        pass
    after = (await api.get("/metrics")).text
    for status in ("queued", "failed", "delivering", "dead"):
        assert sample(after, "lgsp_outbox_items", connector="dvcqg", status=status) == 0
    assert sample(after, "lgsp_outbox_oldest_pending_seconds", connector="dvcqg") == 0
    assert sample(after, "lgsp_circuit_state", connector="dvcqg") == 0
    # the process itself: CPU, memory, open files
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"):
        assert sample(after, name) is not None, name


async def test_metrics_answer_with_the_state_store_down(
    gateway: Gateway, api: httpx.AsyncClient, monkeypatch: Any
) -> None:
    async def down(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionError("Redis is not answering")

    monkeypatch.setattr(gateway.state, "get", down)
    answer = await api.get("/metrics")
    assert answer.status_code == 200
    assert sample(answer.text, "lgsp_circuit_state", connector="dvcqg") == -1


async def test_a_worker_serves_its_own_metrics() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    serve_metrics(port, host="127.0.0.1")
    DELIVERIES.labels("dvcqg", "delivered").inc(0)
    async with httpx.AsyncClient() as client:
        for _ in range(50):  # the server thread starts listening at once; give it the moment
            try:
                answer = await client.get(f"http://127.0.0.1:{port}/metrics")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
    assert answer.status_code == 200
    assert "lgsp_deliveries_total" in answer.text
    assert "process_resident_memory_bytes" in answer.text
