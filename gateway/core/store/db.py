"""The database layer: SQLAlchemy 2 (async) tables and engine.

SQLite (the embedded default) and PostgreSQL behave the same: times are stored as UTC and always
come back timezone-aware; ids are 64-bit on PostgreSQL; write transactions on SQLite start with
``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of failing with
"database is locked" when a read lock cannot be upgraded. The schema is owned by Alembic
(``gateway/migrations``); ``Base.metadata`` is its source.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from gateway.core.store.batching import GroupCommitter, Row

T = TypeVar("T")
#: a pooled server connection idle longer than this (seconds) is pinged before it is reused
PING_AFTER_IDLE_SECONDS = 5.0
BigId = BigInteger().with_variant(Integer, "sqlite")


#: execution option of :meth:`Database.reading` sessions
READ_ONLY = "lgsp_read_only"
#: set while the current task holds its loop's SQLite write lock (see Database.transaction)
_holds_write_lock: ContextVar[bool] = ContextVar("lgsp_sqlite_write_lock", default=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class ApiClient(Base):
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeEntry(Base):
    """One crossing of the gateway. Append-only; ``seq``/hashes are set once by the sealer."""

    __tablename__ = "exchange_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(String(36), unique=True)
    parent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # inbound | attempt | callback | refusal | audit_access | decision (an operator's, e.g. a
    # dead letter skipped) | change (a record's state, e.g. a fee paid)
    kind: Mapped[str] = mapped_column(String(16))
    connector: Mapped[str | None] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64))
    officer_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(255))
    ma_ho_so: Mapped[str | None] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    duration_ms: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[int | None] = mapped_column(Integer)
    request_size: Mapped[int] = mapped_column(Integer, default=0)
    response_size: Mapped[int] = mapped_column(Integer, default=0)
    request_digest: Mapped[str | None] = mapped_column(String(64))
    response_digest: Mapped[str | None] = mapped_column(String(64))
    request_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    #: ``<data key id>:<hex HMAC>`` of the content, made when written (see gateway.core.crypto)
    entry_mac: Mapped[str | None] = mapped_column(String(330))
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index(
            "ix_exchange_entries_unsealed",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
        Index("ix_exchange_entries_connector_kind", "connector", "kind", "id"),
        # usage reviews per officer (seed 004, Điều 8): counts by officer over a period
        Index("ix_exchange_entries_officer_usage", "connector", "officer_id", "started_at"),
    )


class AttemptLink(Base):
    """An attempt that carried several exchanges at once (a batch), linked to each of them.

    Derived data: the same ids are in the attempt's hashed ``detail``; this table only lets
    ``GET /v1/exchanges/{id}`` find the attempt."""

    __tablename__ = "attempt_links"

    entry_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    exchange_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class Checkpoint(Base):
    """A signed statement of the chain head: entries 1..seq hash to ``head_hash``."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class CheckpointAnchor(Base):
    """An RFC 3161 timestamp over a signed checkpoint (:mod:`gateway.core.log.anchoring`):
    proof from outside the operator's reach that the checkpoint existed at ``gen_time``.
    Append-only, like the checkpoints (triggers); an anchor vouches for every entry up to its
    checkpoint's ``seq``."""

    __tablename__ = "checkpoint_anchors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    #: the DER TimeStampToken (CMS SignedData) the authority answered
    token: Mapped[bytes] = mapped_column(LargeBinary)
    #: the token's own time (read from it; the verifier reads it again from the token)
    gen_time: Mapped[datetime]
    authority: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]


#: the outbox items a claim looks at, and those that hold the items behind them (the
#: predicates of the claim's partial indexes; gateway.core.delivery.outbox spells them alike)
OUTBOX_PENDING = ("queued", "failed", "delivering")
OUTBOX_HOLDING = ("queued", "failed", "delivering", "dead")
OUTBOX_PENDING_SQL = f"status IN ({', '.join(repr(s) for s in OUTBOX_PENDING)})"
OUTBOX_HOLDING_SQL = f"status IN ({', '.join(repr(s) for s in OUTBOX_HOLDING)})"


class OutboxItem(Base):
    """Accepted work waiting for delivery to a platform, FIFO per ``ordering_key``."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(String(36), unique=True)
    connector: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(64))
    ordering_key: Mapped[str] = mapped_column(String(128))
    ma_ho_so: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted canonical JSON
    # queued | delivering | failed (retry scheduled) | delivered | dead | skipped
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        # partial, so a claim costs the same however much is delivered or queued
        # (gateway.core.delivery.outbox.claim_statement spells the same predicates)
        Index(
            "ix_outbox_pending",
            "id",
            postgresql_where=text(OUTBOX_PENDING_SQL),
            sqlite_where=text(OUTBOX_PENDING_SQL),
        ),
        Index(
            "ix_outbox_holding",
            "ordering_key",
            "id",
            postgresql_where=text(OUTBOX_HOLDING_SQL),
            sqlite_where=text(OUTBOX_HOLDING_SQL),
        ),
        Index("ix_outbox_connector_status", "connector", "status"),
    )


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # in_flight | done
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EventSubscription(Base):
    """A case system's webhook subscription to gateway events (see :mod:`gateway.core.events`).

    The HMAC secret is stored sealed with the data key, bound to the subscription's name; after
    a rotation, the previous secret's HMAC key too, until its grace period ends."""

    __tablename__ = "event_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(String(2048))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: standard (``whsec_`` + base64 of the key) | legacy (the secret's UTF-8 bytes are the key)
    secret_format: Mapped[str] = mapped_column(String(16), server_default="legacy")
    previous_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_key_expires_at: Mapped[datetime | None]
    event_types: Mapped[list[str]] = mapped_column(JSON)  # empty: every type
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MaintenanceWindow(Base):
    """A planned maintenance: of a national platform (``scope`` its slug: deliveries held,
    look-ups answered 503) or of the gateway itself (``scope`` ``gateway``: a notice to the
    case systems). See :mod:`gateway.core.maintenance`."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # maintenance | upgrade
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))
    #: scheduled with less notice than the regulations ask (its reason says why)
    urgent: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(16))  # api | cli | config
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    #: when the case systems were told it started, and ended (events)
    started_announced_at: Mapped[datetime | None]
    ended_announced_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_maintenance_windows_scope_ends", "scope", "ends_at"),)


class Event(Base):
    """An event for the case system; ``id`` is the pull inbox's cursor."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(32))  # the connector's slug
    subject: Mapped[str | None] = mapped_column(String(255))  # e.g. a dossier code
    occurred_at: Mapped[datetime]
    payload_sealed: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted canonical JSON
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_events_type_id", "type", "id"),)


class EventCursor(Base):
    """How far a client has acknowledged the pull inbox (never moves backwards)."""

    __tablename__ = "event_cursors"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


# --- a connector's own tables live in its package (connectors/<slug>/tables.py) -------------


class Database:
    """The engine and session factory for one database URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=20, max_overflow=20)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        else:
            _ping_after_idle(self.engine, PING_AFTER_IDLE_SECONDS)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._committer = GroupCommitter(self.transaction)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error.

        On SQLite every transaction takes the database's one write lock (``BEGIN
        IMMEDIATE``). Within a process they queue on an asyncio lock first: SQLite's own busy
        handler waits by sleeping in growing steps (up to 100 ms), so two connections of one
        process contending for it (the group committer and the sealer) add long tails to both.
        A task that already holds the lock does not queue again."""
        if not self.is_sqlite or _holds_write_lock.get():
            async with self.sessions() as session, session.begin():
                yield session
            return
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:  # one per event loop: a lock may not be shared between loops
            lock = self._write_locks[loop] = asyncio.Lock()
        async with lock:
            token = _holds_write_lock.set(True)
            try:
                async with self.sessions() as session, session.begin():
                    yield session
            finally:
                _holds_write_lock.reset(token)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads. On SQLite it begins DEFERRED, so in WAL mode it reads
        a snapshot without ever waiting for the write lock (``BEGIN IMMEDIATE`` would queue
        behind every commit, and SQLite's busy handler waits by sleeping)."""
        async with self.sessions() as session:
            if self.is_sqlite:
                options: dict[str, Any] = {READ_ONLY: True}  # a custom option, not a typed one
                await session.connection(execution_options=options)
            yield session

    async def insert_if_absent(self, model: type[Base], values: dict[str, Any]) -> bool:
        """``INSERT ... ON CONFLICT DO NOTHING`` in its own transaction; True when inserted.

        Used instead of catching IntegrityError: a failed statement must not be what tells
        two racing writers apart (and on SQLite it would cost the whole transaction).
        """
        stmt: Any
        if self.is_postgresql:
            stmt = pg_insert(model).values(**values).on_conflict_do_nothing()
        else:
            stmt = sqlite_insert(model).values(**values).on_conflict_do_nothing()
        async with self.transaction() as session:
            result = await session.execute(stmt)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def grouped(
        self, work: Callable[[AsyncSession], Awaitable[T]] | None, rows: Sequence[Row] = ()
    ) -> T:
        """Insert ``rows`` (table, column values) and run ``work`` in a transaction shared with
        other concurrent writers (group commit; the rows of the batch go in one multi-row insert
        per table); returns once that transaction has committed."""
        return await self._committer.run(work, rows)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # any driver error means "not reachable"
            return False
        return True

    async def dispose(self) -> None:
        await self._committer.aclose()
        await self.engine.dispose()


def _ping_after_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """SQLAlchemy's ``pool_pre_ping``, for connections idle in the pool longer than
    ``idle_seconds`` only.

    ``pool_pre_ping`` costs a ``SELECT 1`` round trip on every checkout: about 3% of a
    look-up's CPU, and a round trip of latency, to guard against a connection the server or a
    proxy dropped while it sat in the pool, which mostly happens to idle ones (idle timeouts,
    restarts during a quiet spell). A connection checked in within the last ``idle_seconds`` is
    used without the ping; if the server dropped it meanwhile (a restart under load), the
    statement fails with a disconnect error, SQLAlchemy invalidates the whole pool, and the
    next checkouts open fresh connections: the failed unit is retried alone by the group
    committer, a read fails once. A stale idle connection is replaced before use, as before
    (``DisconnectionError`` from ``checkout`` makes the pool open another)."""
    sync_engine = engine.sync_engine
    idle_key = "lgsp_idle_since"

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[idle_key] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(idle_key)
        if since is None or time.monotonic() - since <= idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            alive = sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # a dead connection raises the driver's error
            raise DisconnectionError("the pooled connection was lost while idle") from exc
        if not alive:
            raise DisconnectionError("the pooled connection was lost while idle")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control from the driver so BEGIN IMMEDIATE can be issued below
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # an accepted request survives power loss
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
