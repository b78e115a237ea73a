"""The StateStore contract, on the in-process store and on Redis (the ``state_store``
fixture runs each test over both)."""

from __future__ import annotations

import asyncio

from gateway.core.store.state import MemoryStateStore, StateStore, make_state_store


async def test_implements_the_protocol(state_store: StateStore) -> None:
    assert isinstance(state_store, StateStore)
    assert await state_store.ping()


async def test_get_set_and_overwrite(state_store: StateStore) -> None:
    assert await state_store.get("k") is None
    await state_store.set("k", b"one")
    assert await state_store.get("k") == b"one"
    await state_store.set("k", b"\x00\xffbytes")
    assert await state_store.get("k") == b"\x00\xffbytes"


async def test_ttl_expiry(state_store: StateStore) -> None:
    await state_store.set("short", b"v", ttl=0.1)
    await state_store.set("long", b"v", ttl=30)
    assert await state_store.get("short") == b"v"
    await asyncio.sleep(0.2)
    assert await state_store.get("short") is None
    assert await state_store.get("long") == b"v"


async def test_set_without_ttl_clears_an_earlier_ttl(state_store: StateStore) -> None:
    await state_store.set("k", b"v", ttl=0.1)
    await state_store.set("k", b"w")
    await asyncio.sleep(0.2)
    assert await state_store.get("k") == b"w"


async def test_set_if_absent_has_one_winner(state_store: StateStore) -> None:
    assert await state_store.set_if_absent("lock", b"first", ttl=30)
    assert not await state_store.set_if_absent("lock", b"second", ttl=30)
    assert await state_store.get("lock") == b"first"


async def test_set_if_absent_under_twenty_concurrent_callers(state_store: StateStore) -> None:
    results = await asyncio.gather(
        *(state_store.set_if_absent("nonce", str(i).encode(), ttl=30) for i in range(20))
    )
    assert sum(results) == 1
    winner = results.index(True)
    assert await state_store.get("nonce") == str(winner).encode()


async def test_set_if_absent_succeeds_again_after_expiry(state_store: StateStore) -> None:
    assert await state_store.set_if_absent("lease", b"a", ttl=0.1)
    await asyncio.sleep(0.2)
    assert await state_store.set_if_absent("lease", b"b", ttl=0.1)
    assert await state_store.get("lease") == b"b"


async def test_incr_counts_and_ttl_applies_at_creation(state_store: StateStore) -> None:
    assert await state_store.incr("n", ttl=0.2) == 1
    assert await state_store.incr("n", ttl=30) == 2  # does not extend the first ttl
    assert await state_store.incr("n") == 3
    assert await state_store.get("n") == b"3"
    await asyncio.sleep(0.3)
    assert await state_store.get("n") is None
    assert await state_store.incr("n") == 1


async def test_incr_is_atomic_under_concurrency(state_store: StateStore) -> None:
    values = await asyncio.gather(*(state_store.incr("c", ttl=30) for _ in range(25)))
    assert sorted(values) == list(range(1, 26))


async def test_delete_reports_whether_the_key_existed(state_store: StateStore) -> None:
    await state_store.set("d", b"v")
    assert await state_store.delete("d") is True
    assert await state_store.delete("d") is False
    assert await state_store.get("d") is None
    await state_store.set("gone", b"v", ttl=0.1)
    await asyncio.sleep(0.2)
    assert await state_store.delete("gone") is False  # an expired key does not exist


async def test_make_state_store_without_redis_is_in_process() -> None:
    store = make_state_store(None)
    assert isinstance(store, MemoryStateStore)
    await store.aclose()


async def test_take_reads_and_removes_with_one_winner(state_store: StateStore) -> None:
    await state_store.set("login-state", b"verifier", ttl=60)
    results = await asyncio.gather(*(state_store.take("login-state") for _ in range(10)))
    assert sorted(results, key=lambda r: r is None) == [b"verifier"] + [None] * 9
    assert await state_store.get("login-state") is None
    assert await state_store.take("never-set") is None
