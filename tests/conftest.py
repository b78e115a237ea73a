"""Shared fixtures.

Backends: every test that takes ``gateway`` runs on SQLite + the in-process state store, and
again on PostgreSQL + Redis when those answer on 127.0.0.1 (they do in CI). Each PostgreSQL
session gets its own database; each test gets emptied tables and its own Redis key prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.api.main import create_app
from gateway.core.clients import create_client
from gateway.core.log.immutability import suspended
from gateway.core.logging import QUIETED_LOGGERS, configure_logging
from gateway.core.registry import load_specs
from gateway.core.runtime import Gateway
from gateway.core.settings import DeliverySettings, Settings
from gateway.core.store.db import Base
from gateway.core.store.migrate import upgrade
from gateway.core.store.state import MemoryStateStore, RedisStateStore, StateStore
from gateway.sandbox import create_sandbox_app

PG_HOST = os.environ.get("LGSP_TEST_PG_HOST", "127.0.0.1")
REDIS_URL = os.environ.get("LGSP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


PG_UP = _reachable(PG_HOST, 5432)
REDIS_UP = _reachable("127.0.0.1", 6379)

#: Redis databases of their own for the end-to-end tests whose ``lgsp`` processes use the
#: gateway's default key prefix (``lgsp:``): the state store and the rate limiter both follow
#: the URL's database number, so these tests no longer share keys (and an xdist worker)
E2E_REDIS_DBS = {"crash-postgresql": 14, "scale-out": 15}


@contextlib.contextmanager
def own_redis_db(name: str) -> Iterator[str]:
    """``LGSP_REDIS_URL`` for the test ``name``: :data:`REDIS_URL` on a database of its own,
    with the gateway's keys (``lgsp:*``, the limiter's ``LIMITS*``) cleared before and after."""
    import redis

    url = REDIS_URL.rsplit("/", 1)[0] + f"/{E2E_REDIS_DBS[name]}"
    client = redis.Redis.from_url(url)

    def clear() -> None:
        for pattern in ("lgsp:*", "LIMITS*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)

    try:
        clear()
        yield url
    finally:
        clear()
        client.close()


BACKENDS = [
    pytest.param("sqlite", id="sqlite-memory"),
    pytest.param(
        "postgresql",
        id="postgresql-redis",
        marks=pytest.mark.skipif(
            not (PG_UP and REDIS_UP), reason="PostgreSQL or Redis not reachable"
        ),
    ),
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (in each worker, which all collect alike), the long end-to-end
    tests (marked ``slow``) are handed out first: the short ones then fill the other workers
    meanwhile, instead of one long test running alone at the end. Otherwise, file order."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LGSP_ variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("LGSP_") and not name.startswith("LGSP_TEST_"):
            monkeypatch.delenv(name, raising=False)


@contextlib.contextmanager
def fresh_pg_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database (its URL), dropped afterwards."""
    if not PG_UP:
        pytest.skip("PostgreSQL not reachable")
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/postgres"

    async def run(sql: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    def in_thread(sql: str) -> None:
        # a thread of its own, so this loop never touches the one pytest-asyncio runs
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, run(sql)).result()

    in_thread(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
    finally:
        in_thread(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped at the end)."""
    with fresh_pg_database("lgsp_test") as url:
        yield url


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests that run the CLI, which configures process-wide logging: undo it after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database migrated to the head revision once per session (per xdist worker):
    each test's SQLite database starts as a copy of it, which its gateway, migrating when it
    starts, finds at head (half the CPU of a gateway's start-up saved on each test; migrating
    from nothing is tested in tests/core/test_migrations.py and by the CLI's tests)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "lgsp.db"

    async def migrate() -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    # a thread of its own, so this loop never touches the one pytest-asyncio runs
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    return path


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_database_url"))
    template: Path = request.getfixturevalue("sqlite_template")
    shutil.copyfile(template, tmp_path / "lgsp.db")
    return f"sqlite+aiosqlite:///{tmp_path}/lgsp.db"


@pytest.fixture
async def state_store(backend: str) -> AsyncIterator[StateStore]:
    store: StateStore
    if backend == "postgresql":
        store = RedisStateStore(REDIS_URL, prefix=f"lgsp-test:{uuid.uuid4().hex}:")
    else:
        store = MemoryStateStore()
    yield store
    await store.aclose()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    delivery = overrides.pop("delivery", {})
    # the tests' gateways migrate their database when they start, whichever it is
    overrides.setdefault("auto_migrate", True)
    return Settings(
        environment="test",
        database_url=database_url,
        log_json=False,
        delivery=DeliverySettings(
            workers=0,
            poll_interval_seconds=0.05,
            backoff_base_seconds=0.01,
            backoff_max_seconds=0.05,
            breaker_reset_seconds=0.5,
            **delivery,
        ),
        **overrides,
    )


@pytest.fixture
def sandbox_app() -> Any:
    return create_sandbox_app()


def dvcqg_simulator(sandbox_app: Any) -> Any:
    """The DVCQG simulator object inside the sandbox app."""
    from connectors.dvcqg.sandbox import get_simulator

    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/dvcqg":
            return get_simulator(route.app)
    raise LookupError("dvcqg simulator not mounted")


@pytest.fixture
def simulator(sandbox_app: Any) -> Any:
    return dvcqg_simulator(sandbox_app)


@pytest.fixture
async def gateway(
    database_url: str, state_store: StateStore, sandbox_app: Any
) -> AsyncIterator[Gateway]:
    """A started gateway (migrated, emptied) delivering to the in-process simulators."""
    gw = await started_gateway(database_url, state_store, sandbox_app)
    yield gw
    await gw.aclose()


async def started_gateway(
    database_url: str,
    state_store: StateStore,
    sandbox_app: Any,
    *,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    **settings: Any,
) -> Gateway:
    """A gateway on ``database_url``, migrated and emptied, every connector talking to its
    simulator inside the one sandbox app unless ``transports`` says otherwise; ``settings``
    override :func:`make_settings`. The caller closes it."""
    gw = Gateway(
        make_settings(database_url, **settings),
        sandbox_base="http://sandbox",
        transports={
            **{slug: httpx.ASGITransport(app=sandbox_app) for slug in load_specs()},
            **(transports or {}),
        },
        state=state_store,
    )
    await gw.start()
    async with gw.db.transaction() as session, suspended(session):
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(table.delete())
    return gw


@contextlib.asynccontextmanager
async def serving(gw: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """The API of ``gw`` (no background workers), its lifespan run, and a client of it."""
    application = create_app(gw, run_workers=False, start=False)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://gateway"
        ) as client,
    ):
        yield client


@pytest.fixture
async def app(gateway: Gateway) -> AsyncIterator[Any]:
    """The API without background workers (tests drive delivery with ``run_once``)."""
    application = create_app(gateway, run_workers=False, start=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        yield client


async def bearer(gateway: Gateway, *scopes: str, name: str | None = None) -> dict[str, str]:
    """Authorization headers of a new client with ``scopes``."""
    _, key = await create_client(
        gateway.db, name=name or f"client-{uuid.uuid4().hex[:8]}", scopes=list(scopes)
    )
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def logging_at_debug(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Logging as the gateway configures it, at DEBUG, writing into ``capfd`` (requested
    first, so that the handler is made on the captured stream); restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quieted = {name: logging.getLogger(name).level for name in QUIETED_LOGGERS}
    saved = structlog.get_config()
    configure_logging("DEBUG", json_lines=True)
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
        for name, old in quieted.items():
            logging.getLogger(name).setLevel(old)
        structlog.configure(**saved)
