"""The pull inbox never skips nor repeats an event: across a restart of the gateway (the cursor
is stored, not remembered), and when transactions publishing events commit out of order (on
PostgreSQL the publishers are serialised so ids commit in order)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from gateway.core import events
from gateway.core.registry import load_specs
from gateway.core.runtime import Gateway
from gateway.core.store.state import StateStore
from tests.conftest import make_settings
from tests.core.test_events import gw, receiver

__all__ = ["gw", "receiver"]  # fixtures used by name


async def publish(gateway: Gateway, n: int) -> str:
    return await events.publish_now(
        gateway, type="dvcqg.dossier.received", source="dvcqg", payload={"n": n}
    )


async def read_all(gateway: Gateway, client: str) -> list[str]:
    page = await events.read_inbox(gateway.db, gateway.cipher, client=client)
    return [e["id"] for e in page.events]


async def test_the_inbox_resumes_exactly_after_a_restart(
    gw: Gateway, database_url: str, state_store: StateStore, sandbox_app: Any
) -> None:
    ids = [await publish(gw, n) for n in range(5)]
    page = await events.read_inbox(gw.db, gw.cipher, client="motcua", limit=2)
    assert [e["id"] for e in page.events] == ids[:2]
    await events.acknowledge(gw.db, client="motcua", cursor=page.next)

    # the gateway restarts: a new process on the same database
    again = Gateway(
        make_settings(database_url),
        sandbox_base="http://sandbox",
        transports={s: httpx.ASGITransport(app=sandbox_app) for s in load_specs()},
        state=state_store,
    )
    await again.start()
    try:
        assert await read_all(again, "motcua") == ids[2:]  # nothing skipped, nothing repeated
        later = [await publish(again, n) for n in range(5, 7)]
        page = await events.read_inbox(again.db, again.cipher, client="motcua")
        await events.acknowledge(again.db, client="motcua", cursor=page.next)
        assert [e["id"] for e in page.events] == ids[2:] + later
        assert await read_all(again, "motcua") == []
    finally:
        await again.aclose()


async def test_a_reader_never_skips_an_event_that_commits_late(gw: Gateway) -> None:
    """Publisher A starts first and commits last; a reader in between must not move past
    A's event. (SQLite serialises writers anyway; PostgreSQL takes an advisory lock.)"""
    a_published = asyncio.Event()
    a_may_commit = asyncio.Event()
    ids: dict[str, str] = {}

    async def slow_a() -> None:
        async with gw.db.transaction() as session:
            ids["a"] = await events.publish(
                session, gw.cipher, type="payment.paid", source="payment", payload={"p": "a"}
            )
            a_published.set()
            await a_may_commit.wait()

    async def quick_b() -> None:
        await a_published.wait()
        ids["b"] = await publish(gw, 2)

    task_a = asyncio.create_task(slow_a())
    task_b = asyncio.create_task(quick_b())
    await a_published.wait()
    await asyncio.sleep(0.2)  # B has tried to publish by now, and must wait for A
    seen_early = await read_all(gw, "reader")
    assert seen_early == []  # neither is visible: B cannot commit ahead of A
    a_may_commit.set()
    await asyncio.gather(task_a, task_b)
    page = await events.read_inbox(gw.db, gw.cipher, client="reader")
    assert [e["id"] for e in page.events] == [ids["a"], ids["b"]]
