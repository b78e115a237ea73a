"""The hash chain over the exchange log: sealing, checkpoints, verification, export.

Sealing: a single sealer at a time (a PostgreSQL advisory lock; SQLite serialises writers)
takes the unsealed entries in id order, gives each the next ``seq`` and
``entry_hash = SHA-256(prev_hash || content)``, where ``content`` is a length-prefixed encoding
of every recorded field (the ciphertexts enter through their SHA-256). The order lives only in
the links: an entry does not hash its own ``seq``, so moving an entry shows as a broken link
whose target is elsewhere in the chain (reordered), not as an altered entry. After each round
the sealer signs a checkpoint (Ed25519) over ``seq || head_hash``; a checkpoint is what
reveals entries deleted from the end.

Verification recomputes everything from the rows alone (database or an exported directory) and
reports the first problem: a missing ``seq`` (deleted), an entry whose hash does not match its
content (altered), a link pointing to another entry of the chain (reordered), a link pointing
nowhere (the entry before was altered and re-hashed, or replaced), a checkpoint that does not
match or is not signed by the trusted key, or entries missing after the last one.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import hashlib
import json
import os
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import structlog
from sqlalchemy import (
    BigInteger,
    String,
    Table,
    bindparam,
    func,
    or_,
    select,
    text,
    type_coerce,
    update,
)

from gateway.core.crypto import CheckpointSigner, EntryAuthenticator
from gateway.core.errors import GatewayError
from gateway.core.local_time import month_bounds
from gateway.core.log import offline
from gateway.core.log.offline import (
    GENESIS,
    HASHED_FIELDS,
    AnchorRow,
    ChainRow,
    ChainVerifier,
    CheckpointRow,
    Problem,
    TrustedKeys,
    TsaTrust,
    VerifyReport,
    check_anchors,
    checkpoint_message,
    entry_content,
    entry_hash,
    read_heads,
    read_signed_heads,
    verify_export,
)
from gateway.core.metrics import SEAL_REFUSALS
from gateway.core.store.db import (
    AttemptLink,
    Checkpoint,
    CheckpointAnchor,
    Database,
    ExchangeEntry,
    OutboxItem,
    utcnow,
)
from gateway.core.store.state import StateStore

__all__ = [
    "GENESIS",
    "HASHED_FIELDS",
    "ChainIntegrityError",
    "Problem",
    "TrustedKeys",
    "VerifyReport",
    "checkpoint_message",
    "checkpoint_time",
    "entry_content",
    "entry_hash",
    "export_chain",
    "mac_message",
    "seal_pending",
    "verify_database",
    "verify_export",
    "write_values",
]

log = structlog.get_logger(__name__)

_SEALER_LOCK = 7413002
#: the most entries one sealing round takes (a round that took fewer saw every unsealed row)
SEAL_BATCH = 5000

MAC_PREFIX = b"lgsp-entry|"


def mac_message(values: Iterable[Any]) -> bytes:
    """What an entry's MAC covers: ``lgsp-entry|`` and its canonical content."""
    return MAC_PREFIX + entry_content(values).encode()


def write_values(entry: ExchangeEntry) -> tuple[Any, ...]:
    """An entry's :data:`HASHED_FIELDS` as it is about to be written, in the canonical form
    the sealer will read back (times in UTC)."""
    return tuple(
        v.astimezone(UTC) if isinstance(v, datetime) else v
        for v in (getattr(entry, name) for name in HASHED_FIELDS)
    )


_TIME_FIELDS = frozenset({"started_at", "finished_at"})
_TIME_POSITIONS = tuple(i for i, f in enumerate(HASHED_FIELDS) if f in _TIME_FIELDS)
_BODY_POSITIONS = tuple(i for i, f in enumerate(HASHED_FIELDS) if f.endswith("_body"))


def _hashed_columns() -> list[Any]:
    """The hashed columns, times read as the database stores them: parsing a datetime per
    row costs more than hashing it, and sealing and verifying read every row."""
    return [
        type_coerce(getattr(ExchangeEntry, f), String())
        if f in _TIME_FIELDS
        else getattr(ExchangeEntry, f)
        for f in HASHED_FIELDS
    ]


def _canonical(values: Sequence[Any]) -> tuple[Any, ...]:
    """Times as ISO-8601 UTC with microseconds and bodies as bytes, whatever the backend gave:
    SQLite keeps ``2024-01-05 01:00:00.000000`` (UTC), PostgreSQL returns an aware datetime.
    The result is what :func:`entry_hash` would make of the datetime itself."""
    out = list(values)
    for i in _TIME_POSITIONS:
        v = out[i]
        if isinstance(v, str):
            out[i] = v.replace(" ", "T", 1) + "+00:00"
        elif isinstance(v, datetime):
            out[i] = v.astimezone(UTC).isoformat(timespec="microseconds")
    for i in _BODY_POSITIONS:  # some drivers hand binary columns back as memoryview
        if isinstance(out[i], memoryview):
            out[i] = bytes(out[i])
    return tuple(out)


class ChainIntegrityError(GatewayError):
    """The sealer will not go on: the chain in the database is behind what was sealed."""

    status = 409
    type_slug = "chain-integrity"
    title = "The exchange log's chain was tampered with"


def sealed_head_key(db: Database) -> str:
    """Where the sealer remembers the head it sealed last, outside the database (``seq:hash``):
    one key per database (its URL, without the password, hashed)."""
    url = db.engine.url.render_as_string(hide_password=True)
    return f"audit:sealed-head:{hashlib.sha256(url.encode()).hexdigest()[:16]}"


async def seal_pending(
    db: Database,
    signer: CheckpointSigner,
    *,
    batch: int = SEAL_BATCH,
    authenticator: EntryAuthenticator | None = None,
    memory: StateStore | None = None,
    witness: Path | None = None,
) -> int:
    """Seal up to ``batch`` unsealed entries and sign a checkpoint; return how many sealed.

    Safe to call from every process: only one sealer holds the lock at a time; the others
    return 0 at once. Never silently: with ``authenticator`` a row whose MAC fails (inserted
    by hand, or edited before it was sealed) is refused, and so is a row without one under the
    sealed head (rows from before the MACs); they stay unsealed, logged and counted once per
    process, and the chain goes on without them. A genuine row committed after rows inserted
    after it (other processes' transactions) is sealed when it appears.
    The sealer never starts a chain again: with no sealed entry while checkpoints exist, or a
    chain behind the head it remembers in ``memory`` (the state store, outside the database),
    it raises :class:`ChainIntegrityError` and seals nothing.
    """
    # what the sealer remembers (the state store, outside the database): read before the
    # round, checked against the database inside it
    key = sealed_head_key(db)
    remembered = await memory.get(key) if memory is not None else None
    mark = _remembered(remembered)
    async with db.transaction() as session:
        if db.is_postgresql:
            got = await session.scalar(text(f"SELECT pg_try_advisory_xact_lock({_SEALER_LOCK})"))
            if not got:
                return 0
        # the head, the newest checkpoint, the remembered entry and checkpoint, and whether
        # anything waits to be sealed: one statement (a round with little to seal is cheap)
        at = -1 if mark is None else mark[0]  # no entry has seq -1
        state = (await session.execute(_ROUND_STATE, {"at": at})).one()
        head = None if state[0] is None else state[0:4]
        _refuse_a_reset(head, state[4], mark, state[5], state[6])
        if state[7] is None:
            return 0  # nothing unsealed: the checks above are all a quiet round does
        seq, prev = (head[0], head[1]) if head else (0, GENESIS)
        head_id = head[2] if head else None
        legacy = head is None or head[3] is None  # no MAC written yet: rows before version 0012
        updates: list[dict[str, Any]] = []
        after: int | None = None  # ids are not always positive (a row inserted by hand)
        # every unsealed row, in id order: on PostgreSQL ids are handed out when a row is
        # inserted but rows become visible when their transaction commits, so with several
        # processes writing, a genuine row can appear under a head already sealed; its MAC
        # says it is genuine and it is sealed next. Page on past refused rows: forged rows,
        # however many, never keep the genuine ones behind them from being sealed
        while len(updates) < batch:
            rows = (
                await session.execute(
                    select(ExchangeEntry.id, ExchangeEntry.entry_mac, *_hashed_columns())
                    .where(
                        ExchangeEntry.seq.is_(None),
                        *(() if after is None else (ExchangeEntry.id > after,)),
                    )
                    .order_by(ExchangeEntry.id)
                    .limit(batch - len(updates))
                )
            ).all()
            if not rows:
                break
            after = rows[-1][0]
            for row in rows:
                values = _canonical(row[2:])
                content = entry_content(values)  # once: the MAC and the hash both cover it
                refusal = _refusal(row[0], row[1], content, head_id, legacy, authenticator)
                if refusal is not None:
                    _refused_once(row[0], str(values[0]), content, refusal, seq)
                    continue
                legacy = legacy and row[1] is None
                seq += 1
                digest = hashlib.sha256((prev + content).encode()).hexdigest()
                updates.append({"k": row[0], "seq": seq, "prev_hash": prev, "entry_hash": digest})
                prev = digest
        if not updates:
            return 0
        # plain executemany by primary key (no ORM bulk-update machinery per row)
        await session.execute(_SEAL_UPDATE, updates)
        now = utcnow()
        checkpoint = Checkpoint(
            seq=seq,
            head_hash=prev,
            created_at=now,
            key_id=signer.key_id,
            public_key=signer.public_key_b64(),
            # the time is signed too (version 2 of the message)
            signature=signer.sign(checkpoint_message(seq, prev, checkpoint_time(now))),
        )
        session.add(checkpoint)
        published = head_record(checkpoint)
    if witness is not None:  # once committed: the witness never holds a head that was not
        publish_head(witness, published)
    if memory is not None:
        await memory.set(key, f"{seq}:{prev}".encode())
    return len(updates)


def _refusal(
    row_id: int,
    mac: str | None,
    content: str,
    head_id: int | None,
    legacy: bool,
    authenticator: EntryAuthenticator | None,
) -> str | None:
    """Why the sealer refuses this unsealed row, or None. A valid MAC makes a row genuine
    wherever it lies (the data key is not in the database; ``entry_id`` is unique, so a copy of
    a genuine row cannot be inserted again); without MACs to go by (rows from before them, or
    no key) a row under the sealed head was slipped in."""
    if authenticator is not None and mac is not None:
        return None if authenticator.check(MAC_PREFIX + content.encode(), mac) else "mac"
    if authenticator is not None and not legacy:
        return "mac"  # the rows before it carry one: written by someone without the key
    if head_id is not None and row_id < head_id:
        return "below-head"
    return None


#: the rows this process already reported refused, by id and content (each is logged and
#: counted once, not at every sealing round); bounded, as a flood of forged rows must not grow
#: memory
_REPORTED: set[tuple[int, str]] = set()
_REPORTED_MAX = 100_000


def _refused_once(row_id: int, entry_id: str, content: str, reason: str, head_seq: int) -> None:
    key = (row_id, hashlib.sha256(content.encode()).hexdigest())
    if key in _REPORTED:
        return
    if len(_REPORTED) < _REPORTED_MAX:
        _REPORTED.add(key)
    SEAL_REFUSALS.labels(reason).inc()
    log.error(
        "audit.entry_refused", entry_id=entry_id, row_id=row_id, reason=reason, head_seq=head_seq
    )


def _remembered(value: bytes | None) -> tuple[int, str] | None:
    """``seq:hash`` as the sealer stored it, or None."""
    if not value:
        return None
    seq_text, _, digest = value.decode().partition(":")
    return int(seq_text), digest


def _round_state() -> Any:
    """One row: the sealed head (seq, hash, id, MAC; NULLs when nothing is sealed), the newest
    checkpoint's seq, the hash of the entry and of the checkpoint at ``:at`` (the remembered
    seq), and the lowest unsealed id (NULL when nothing waits). Built once."""
    e = ExchangeEntry
    head = (
        select(e.seq, e.entry_hash, e.id, e.entry_mac)
        .where(e.seq.is_not(None))
        .order_by(e.seq.desc())
        .limit(1)
        .subquery()
    )
    at: Any = bindparam("at", type_=BigInteger())

    def scalar(stmt: Any) -> Any:
        return stmt.scalar_subquery()

    return select(
        scalar(select(head.c.seq)),
        scalar(select(head.c.entry_hash)),
        scalar(select(head.c.id)),
        scalar(select(head.c.entry_mac)),
        scalar(select(func.max(Checkpoint.seq))),
        scalar(select(ExchangeEntry.entry_hash).where(ExchangeEntry.seq == at)),
        scalar(select(Checkpoint.head_hash).where(Checkpoint.seq == at)),
        scalar(
            select(ExchangeEntry.id)
            .where(ExchangeEntry.seq.is_(None))
            .order_by(ExchangeEntry.id)
            .limit(1)
        ),
    )


_ROUND_STATE = _round_state()


#: a sealed entry's links, by primary key (executemany)
_ENTRIES = cast(Table, ExchangeEntry.__table__)
_SEAL_UPDATE = (
    update(_ENTRIES)
    .where(_ENTRIES.c.id == bindparam("k"))
    .values(
        seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), entry_hash=bindparam("entry_hash")
    )
)


def _refuse_a_reset(
    head: Any,
    covered: int | None,
    remembered: tuple[int, str] | None,
    found: str | None,
    signed: str | None,
) -> None:
    """Raise :class:`ChainIntegrityError` when the chain is not as the sealer left it:
    ``head`` the sealed head (or None), ``covered`` the newest checkpoint's seq (None: none),
    ``remembered`` the head the sealer remembers outside the database, ``found`` and
    ``signed`` the entry's and the checkpoint's hash at that seq in the database now."""
    if head is None and covered is not None:
        SEAL_REFUSALS.labels("chain-reset").inc()
        raise ChainIntegrityError(
            "no entry is sealed but signed checkpoints exist: the chain was unsealed; "
            "the sealer will not start it again (run `lgsp audit verify`)"
        )
    # a round writes its entries and its checkpoint in one transaction: sealed entries no
    # checkpoint covers were appended by someone else, and sealing on would sign them
    if head is not None and head[0] > (covered or 0):
        SEAL_REFUSALS.labels("uncovered").inc()
        raise ChainIntegrityError(
            f"entries seq {(covered or 0) + 1}..{head[0]} are sealed but no signed "
            "checkpoint covers them: they were appended outside the sealer; the sealer "
            "will not sign over them (run `lgsp audit verify`)"
        )
    if remembered is None:
        return
    seq, digest = remembered
    if found != digest:
        SEAL_REFUSALS.labels("chain-reset").inc()
        raise ChainIntegrityError(
            f"the chain no longer holds the entry seq {seq} this gateway sealed (hash "
            f"{digest[:16]}…): it was rewritten or truncated; the sealer stops "
            "(run `lgsp audit verify`)"
        )
    if signed != digest:
        SEAL_REFUSALS.labels("chain-reset").inc()
        raise ChainIntegrityError(
            f"the checkpoint this gateway signed at seq {seq} (head {digest[:16]}…) is no longer "
            "in the database: the signed evidence was deleted or replaced; the sealer will not "
            "sign the chain again (run `lgsp audit verify`)"
        )


async def _db_rows(
    db: Database,
    page: int = 20000,
    *,
    until: int | None = None,
    after: int = 0,
    with_mac: bool = False,
) -> AsyncGenerator[list[ChainRow], None]:
    """The sealed rows in ``seq`` order, up to ``until`` (the last checkpoint read first: under
    live traffic, entries sealed after it belong to the next verification, not this one)."""
    # plain SQL through the driver: no per-row type processing, which costs more than the
    # hashing itself (times come back as the database keeps them; _canonical evens them out)
    names = (
        "seq",
        "prev_hash",
        "entry_hash",
        *HASHED_FIELDS,
        *(("entry_mac",) if with_mac else ()),
    )
    columns = ", ".join(names)
    width = 3 + len(HASHED_FIELDS)
    cap = f" AND seq <= {int(until)}" if until is not None else ""
    async with db.engine.connect() as conn:

        async def fetch(after: int) -> list[Any]:
            result = await conn.exec_driver_sql(
                f"SELECT {columns} FROM exchange_entries "  # noqa: S608 - fixed names, ints
                f"WHERE seq > {int(after)}{cap} ORDER BY seq LIMIT {int(page)}"
            )
            return list(result.all())

        pending: asyncio.Task[list[Any]] | None = asyncio.ensure_future(fetch(after))
        try:
            while pending is not None:
                raw = await pending
                # the next page is read (by the database, or the driver's thread) while the
                # caller hashes this one
                pending = asyncio.ensure_future(fetch(raw[-1][0])) if len(raw) == page else None
                if not raw:
                    return
                yield [
                    ChainRow(
                        r[0], r[1], r[2], _canonical(r[3:width]), r[width] if with_mac else None
                    )
                    for r in raw
                ]
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending


#: PostgreSQL formats the times itself, in the canonical form (what
#: ``datetime.isoformat(timespec="microseconds")`` gives of the UTC time): once per value, on
#: the server's core, instead of decoding a datetime and formatting it again in Python
_PG_TIME = "pg_catalog.to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


def _pg_columns(with_mac: bool) -> str:
    hashed = (_PG_TIME.format(f) if f in _TIME_FIELDS else f for f in HASHED_FIELDS)
    return ", ".join(
        ("seq", "prev_hash", "entry_hash", *hashed, *(("entry_mac",) if with_mac else ()))
    )


async def _pg_records(
    db: Database, *, until: int, with_mac: bool, chunk: int = 5000
) -> AsyncGenerator[list[Any], None]:
    """The sealed rows up to ``until`` in ``seq`` order, straight from asyncpg (no per-row
    processing by SQLAlchemy), as records ``(seq, prev_hash, entry_hash, *HASHED_FIELDS
    [, entry_mac])``, times already canonical text, bodies as bytes: one server-side cursor in
    one read-only snapshot, ``chunk`` rows at a time. The next chunk is asked for before the
    caller hashes this one, so the server reads while the client hashes; at most three chunks
    are held at once (memory stays flat, whatever the chain's length)."""
    query = (
        f"SELECT {_pg_columns(with_mac)} FROM exchange_entries "  # noqa: S608 - fixed names
        "WHERE seq > 0 AND seq <= $1 ORDER BY seq"
    )
    async with db.engine.connect() as sa:
        raw = await sa.get_raw_connection()
        conn: Any = raw.driver_connection
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = await conn.cursor(query, until)
            queue: asyncio.Queue[list[Any] | BaseException] = asyncio.Queue(maxsize=2)
            stop = False

            async def produce() -> None:
                try:
                    while not stop:
                        rows = await cursor.fetch(chunk)
                        if stop:
                            return
                        await queue.put(rows)
                        if len(rows) < chunk:
                            return
                except Exception as exc:  # handed to the consumer, raised there
                    await queue.put(exc)

            task = asyncio.ensure_future(produce())
            try:
                while True:
                    got = await queue.get()
                    if isinstance(got, BaseException):
                        raise got
                    await asyncio.sleep(0)  # let the producer ask for the next chunk now
                    if got:
                        yield got
                    if len(got) < chunk:
                        return
            finally:
                # never cancel a fetch half-way (the connection would be left mid-protocol):
                # stop the producer, free the queue, let its last fetch finish
                stop = True
                while not task.done():
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                    await asyncio.wait({task}, timeout=0.05)
                with contextlib.suppress(Exception):
                    task.result()


def _check_records(
    verifier: ChainVerifier, macs: _SealedMacs | None, records: Sequence[Any], with_mac: bool
) -> bool:
    """Check a chunk of :func:`_pg_records`; False once a problem is found. The tight loop
    takes the rows that are in order and intact, computing each entry's content once for its
    hash and its MAC; from the first row that is not (or that the loop does not handle), the
    rest of the chunk goes through :meth:`ChainVerifier.feed` and :meth:`_SealedMacs.check`,
    which name the problem exactly as they do for every other source."""
    width = 3 + len(HASHED_FIELDS)
    report = verifier.report
    sha = hashlib.sha256
    content_of = entry_content
    checkpoints = verifier.checkpoints
    earlier = verifier.earlier
    earlier_signed = verifier.earlier_signed
    expected, prev = verifier.expected, verifier.prev
    counted = expected  # the first seq not yet counted in the report
    stop = 0 if verifier.segmented else len(records)  # a selection's export: not from here
    for i in range(stop):
        r = records[i]
        seq, entry = r[0], r[2]
        if seq != expected or r[1] != prev:
            stop = i
            break
        content = content_of(r[3:width])
        if sha((prev + content).encode()).hexdigest() != entry:
            stop = i
            break
        cp = checkpoints.get(seq)
        if (earlier is not None and earlier.get(seq, entry) != entry) or (
            cp is None and seq in earlier_signed
        ):
            stop = i
            break
        if macs is not None and not macs.valid(r[width] if with_mac else None, content):
            stop = i
            break
        prev = entry
        if cp is not None:  # as feed does: the link taken, the row counted once signed
            _count(report, counted, expected, r[1])
            verifier.prev, verifier.expected, counted = prev, expected, expected
            if not verifier._checkpoint_ok(cp, entry):
                return False
        expected += 1
    _count(report, counted, expected, prev)
    verifier.expected, verifier.prev = expected, prev
    if stop == len(records):
        return True
    rest = [
        ChainRow(r[0], r[1], r[2], tuple(r[3:width]), r[width] if with_mac else None)
        for r in records[stop:]
    ]
    intact = verifier.feed(rest)
    forged = macs.check(rest) if macs is not None else None
    if forged is not None and (
        report.problem is None or (report.problem.seq or 0) > (forged.seq or 0)
    ):
        report.problem = forged
    return intact and forged is None


def _count(report: VerifyReport, first: int, end: int, head_hash: str) -> None:
    """Count the entries ``first`` .. ``end - 1`` as checked, the last one the head."""
    if end > first:
        report.entries += end - first
        report.head_seq = end - 1
        report.head_hash = head_hash


def _write_manifest(
    out: Path,
    cps: Sequence[Checkpoint],
    signer: CheckpointSigner,
    count: int,
    selection: Mapping[str, Any],
) -> None:
    """``manifest.json``: what the export holds (seqs, counts, boundary hashes, times, keys,
    the files' digests), signed by the checkpoint key (see offline.manifest_message)."""
    first = last = None
    with (out / "entries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            first = first or record
            last = record
    manifest: dict[str, Any] = {
        "format": offline.MANIFEST_FORMAT,
        "exported_at": checkpoint_time(utcnow()),
        "entries": count,
        "first_seq": first["seq"] if first else None,
        "last_seq": last["seq"] if last else 0,
        "first_prev_hash": first["prev_hash"] if first else None,
        "last_entry_hash": last["entry_hash"] if last else GENESIS,
        "first_started_at": first["started_at"] if first else None,
        "last_started_at": last["started_at"] if last else None,
        "checkpoints": len(cps),
        "checkpoint_key_ids": sorted({c.key_id for c in cps}),
        "files": {
            name: offline.file_digest(out / name)
            for name in ("entries.jsonl", "checkpoints.jsonl", "anchors.jsonl")
        },
        "key_id": signer.key_id,
        **selection,
    }
    manifest["signature"] = signer.sign(offline.manifest_message(manifest))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def head_record(c: Checkpoint) -> dict[str, Any]:
    """A signed checkpoint as exported and published: what a witness copy holds."""
    return {
        "seq": c.seq,
        "head_hash": c.head_hash,
        "key_id": c.key_id,
        "signature": c.signature,
        "created_at": checkpoint_time(c.created_at),
    }


def publish_head(witness: Path, record: Mapping[str, Any]) -> None:
    """Append the signed checkpoint to ``witness/heads.jsonl`` (append-only, flushed to disk).
    A failure is logged, never raised: the exchange goes on, the next round publishes a later
    head that covers this one."""
    try:
        witness.mkdir(parents=True, exist_ok=True)
        with (witness / "heads.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(dict(record)) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        log.error("audit.witness_failed", witness=str(witness), error=str(exc))


def checkpoint_time(at: datetime) -> str:
    """A checkpoint's time as signed and exported: ISO-8601 UTC with microseconds."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


#: a progress hook: ``(entries done so far, entries in all)``, called once per page
OnPage = Callable[[int, int], None]


async def verify_database(
    db: Database,
    public_key: str,
    *,
    authenticator: EntryAuthenticator | None = None,
    trusted: TrustedKeys | None = None,
    since: Path | None = None,
    tsa: TsaTrust | None = None,
    max_anchor_delay_seconds: float = offline.MAX_ANCHOR_DELAY_SECONDS,
    now: datetime | None = None,
    on_page: OnPage | None = None,
) -> VerifyReport:
    """Recompute the chain from the database. ``public_key``: the trusted checkpoint key;
    ``authenticator`` (the gateway's, from the data key): also name the unsealed rows the
    sealer refuses (forged, edited before sealing, or inserted under the sealed head).
    ``on_page(done, total)``: called once per page of entries read (not per entry), with the
    entries checked so far and the number the pass covers (a progress bar's; it changes
    nothing else).

    One pass in ``seq`` order. (Splitting the pass over worker processes was measured slower
    on this project's two-core machine: each worker needs a core to read and one to hash.)
    """
    report = VerifyReport()
    async with db.reading() as session:
        # the anchors first: each names a checkpoint that was there before it
        anchors = [
            AnchorRow(seq, token)
            for seq, token in (
                await session.execute(select(CheckpointAnchor.seq, CheckpointAnchor.token))
            ).all()
        ]
        cps = [
            CheckpointRow(c.seq, c.head_hash, c.key_id, c.signature, checkpoint_time(c.created_at))
            for c in (await session.scalars(select(Checkpoint))).all()
        ]
        report.unsealed = int(
            await session.scalar(
                select(func.count()).select_from(ExchangeEntry).where(ExchangeEntry.seq.is_(None))
            )
            or 0
        )
    verifier = ChainVerifier(
        report,
        cps,
        trusted if trusted is not None else TrustedKeys.single(public_key),
        earlier=read_heads(since) if since is not None else None,
        earlier_signed=read_signed_heads(since) if since is not None else None,
    )
    # aclosing: stopping at the first problem must give the generator's connection back now,
    # not whenever the abandoned generator is collected (after the engine may be disposed,
    # leaking an unclosed connection; seen with `lgsp audit verify` on a broken chain)
    # one consistent picture under live traffic: the checkpoints first, then the entries they
    # cover (entries sealed meanwhile are the next verification's)
    covered = max((c.seq for c in cps), default=0)
    macs = _SealedMacs(authenticator) if authenticator is not None else None
    with_mac = macs is not None
    done = 0
    if db.is_postgresql:
        records = _pg_records(db, until=covered, with_mac=with_mac)
        async with contextlib.aclosing(records) as chunks:
            async for chunk in chunks:
                intact = _check_records(verifier, macs, chunk, with_mac)
                if on_page is not None:
                    done += len(chunk)
                    on_page(done, covered)
                if not intact:
                    break
    else:
        sealed = _db_rows(db, until=covered, with_mac=with_mac)
        async with contextlib.aclosing(sealed) as pages:
            async for page in pages:
                intact = verifier.feed(page)
                if on_page is not None:
                    done += len(page)
                    on_page(done, covered)
                # a chain re-hashed and re-signed consistently (the signing key stolen) still
                # cannot make the MACs, which need the data key; the first problem in seq
                # order is the one named
                forged = macs.check(page) if macs is not None else None
                if forged is not None and (
                    report.problem is None or (report.problem.seq or 0) > (forged.seq or 0)
                ):
                    report.problem = forged
                if not intact or forged is not None:
                    break
    if report.problem is not None and report.problem.kind == "broken-link":
        # only now pay for an index of every hash, to tell a reordering from an alteration
        async with db.reading() as session:
            rows = await session.execute(
                select(ExchangeEntry.entry_hash, ExchangeEntry.seq).where(
                    ExchangeEntry.entry_hash.is_not(None)
                )
            )
            verifier.hash_index = {h: s for h, s in rows.all()}
        failed = report.problem.seq
        report.problem = None
        failed_seq = failed or 0
        bad = [
            r
            async for page in _db_rows(db, until=failed_seq, after=failed_seq - 1)
            for r in page
            if r.seq == failed
        ]
        verifier._link_problem(bad[0])
    verifier.finish()
    if report.problem is None:
        report.problem = await _uncovered(db)
    if report.problem is None and authenticator is not None:
        report.problem = await _refused_unsealed(db, authenticator)
    if report.problem is None:
        report.problem = await _untraced_decisions(db)
    check_anchors(
        report,
        cps,
        anchors,
        tsa,
        now=now or utcnow(),
        max_delay_seconds=max_anchor_delay_seconds,
    )
    return report


class _SealedMacs:
    """The MACs of sealed entries, checked in ``seq`` order (entries from before the MACs have
    none, up to the first one that does)."""

    def __init__(self, authenticator: EntryAuthenticator) -> None:
        self.authenticator = authenticator
        self.legacy = True

    def valid(self, mac: str | None, content: str) -> bool:
        """Whether the entry with this MAC and content passes (as :meth:`check` would)."""
        if mac is None:
            return self.legacy
        if self.authenticator.check(MAC_PREFIX + content.encode(), mac):
            self.legacy = False
            return True
        return False

    def check(self, rows: Sequence[ChainRow]) -> Problem | None:
        for row in rows:
            if row.mac is None:
                if self.legacy:
                    continue
                why = "has no MAC, though the entries before it have one"
            elif self.authenticator.check(MAC_PREFIX + entry_content(row.values).encode(), row.mac):
                self.legacy = False
                continue
            else:
                why = "fails its MAC"
            return Problem(
                "forged",
                row.seq,
                row.entry_id,
                f"sealed entry seq {row.seq} ({row.entry_id}) {why}: the chain was rewritten by "
                "someone without the data key",
            )
        return None


async def _uncovered(db: Database) -> Problem | None:
    """Sealed entries no checkpoint covers, read afresh (the sealer writes a round's entries and
    its checkpoint in one transaction, so live traffic never shows any)."""
    async with db.reading() as session:
        head = await session.scalar(select(func.max(ExchangeEntry.seq)))
        covered = await session.scalar(select(func.max(Checkpoint.seq)))
    if head is None or head <= (covered or 0):
        return None
    first = (covered or 0) + 1
    return Problem(
        "uncovered",
        first,
        None,
        f"entries seq {first}..{head} are covered by no signed checkpoint: appended by someone "
        "who could not sign",
    )


async def _refused_unsealed(db: Database, authenticator: EntryAuthenticator) -> Problem | None:
    """The first unsealed row the sealer refuses, as a problem (None when there is none)."""
    async with db.reading() as session:
        head = (
            await session.execute(
                select(ExchangeEntry.id, ExchangeEntry.entry_mac)
                .where(ExchangeEntry.seq.is_not(None))
                .order_by(ExchangeEntry.seq.desc())
                .limit(1)
            )
        ).first()
        rows = (
            await session.execute(
                select(ExchangeEntry.id, ExchangeEntry.entry_mac, *_hashed_columns())
                .where(ExchangeEntry.seq.is_(None))
                .order_by(ExchangeEntry.id)
            )
        ).all()
    legacy = head is None or head[1] is None
    for row in rows:
        values = _canonical(row[2:])
        head_id = head[0] if head else None
        refusal = _refusal(row[0], row[1], entry_content(values), head_id, legacy, authenticator)
        if refusal is not None:
            why = (
                "was inserted under the sealed head"
                if refusal == "below-head"
                else "fails its MAC: written by hand or edited before it was sealed"
            )
            return Problem("forged", None, str(values[0]), f"unsealed entry {values[0]} {why}")
        legacy = legacy and row[1] is None
    return None


async def _untraced_decisions(db: Database) -> Problem | None:
    """Work given up, or called done, with nothing in the log to show for it. The outbox is the
    application's working table (its role must change it), so the verifier holds it to the
    chain: an item is ``skipped`` only by ``lgsp dlq skip``, which records who and why in the
    same transaction; every delivery the chain shows accepted (an inbound entry answered 202)
    keeps its outbox item, written in the same transaction and never deleted; and an item is
    ``delivered`` only after an attempt the recording transport logged (its ``parent_id``, or
    a batch's link). An item skipped, deleted or marked delivered by hand in the database
    frees the items queued behind it, and is named here."""
    decided = select(ExchangeEntry.parent_id).where(
        ExchangeEntry.kind == "decision", ExchangeEntry.operation == "dlq:skip"
    )
    queued = select(OutboxItem.id).where(OutboxItem.exchange_id == ExchangeEntry.entry_id)
    tried = select(ExchangeEntry.id).where(
        ExchangeEntry.kind == "attempt", ExchangeEntry.parent_id == OutboxItem.exchange_id
    )
    linked = select(AttemptLink.entry_id).where(AttemptLink.exchange_id == OutboxItem.exchange_id)
    async with db.reading() as session:
        skipped = (
            await session.execute(
                select(OutboxItem.exchange_id, OutboxItem.connector)
                .where(OutboxItem.status == "skipped", OutboxItem.exchange_id.not_in(decided))
                .order_by(OutboxItem.id)
                .limit(1)
            )
        ).first()
        gone = (
            await session.execute(
                select(ExchangeEntry.entry_id, ExchangeEntry.connector, ExchangeEntry.seq)
                .where(
                    ExchangeEntry.kind == "inbound",
                    ExchangeEntry.outcome == "accepted",
                    ExchangeEntry.status_code == 202,
                    ~queued.exists(),
                )
                .order_by(ExchangeEntry.id)
                .limit(1)
            )
        ).first()
        unsent = (
            await session.execute(
                select(OutboxItem.exchange_id, OutboxItem.connector)
                .where(OutboxItem.status == "delivered", ~tried.exists(), ~linked.exists())
                .order_by(OutboxItem.id)
                .limit(1)
            )
        ).first()
    if skipped is not None:
        exchange_id, connector = skipped
        return Problem(
            "untraced",
            None,
            str(exchange_id),
            f"the delivery {exchange_id} ({connector}) was skipped with no decision in the log: "
            "given up by hand in the database, not by `lgsp dlq skip`",
        )
    if gone is not None:
        exchange_id, connector, seq = gone
        where = f"entry seq {seq}" if seq is not None else "an entry not yet sealed"
        return Problem(
            "untraced",
            None,
            str(exchange_id),
            f"the delivery {exchange_id} ({connector}) was accepted ({where}) but its outbox "
            "item is gone: deleted by hand in the database (the gateway never deletes one)",
        )
    if unsent is not None:
        exchange_id, connector = unsent
        return Problem(
            "untraced",
            None,
            str(exchange_id),
            f"the delivery {exchange_id} ({connector}) is marked delivered but the log holds no "
            "attempt to deliver it: set by hand in the database",
        )
    return None


# --- export for offline verification -------------------------------------------------------


async def _selected_seqs(
    db: Database, after: int, until: int, dossier: str | None, connector: str | None
) -> set[int]:
    """The sealed entries (``after`` < seq <= ``until``) of the dossier (its own entries and
    the attempts made for them) and/or of the connector."""
    stmt = select(ExchangeEntry.seq).where(ExchangeEntry.seq > after, ExchangeEntry.seq <= until)
    if dossier is not None:
        own = select(ExchangeEntry.entry_id).where(ExchangeEntry.ma_ho_so == dossier)
        stmt = stmt.where(or_(ExchangeEntry.ma_ho_so == dossier, ExchangeEntry.parent_id.in_(own)))
    if connector is not None:
        stmt = stmt.where(ExchangeEntry.connector == connector)
    async with db.reading() as session:
        return {int(seq) for seq in (await session.scalars(stmt)).all() if seq is not None}


def _rounds_of(selected: set[int], checkpoints: Sequence[int]) -> list[tuple[int, int]]:
    """The sealing rounds holding ``selected``, as ``(opening checkpoint seq, closing
    checkpoint seq)`` (0: the genesis), adjacent rounds merged."""
    ordered = sorted(checkpoints)
    rounds: list[tuple[int, int]] = []
    for seq in sorted(selected):
        i = bisect.bisect_left(ordered, seq)
        if i == len(ordered):
            break  # past the last checkpoint: not exported (nothing covers it yet)
        start, end = (ordered[i - 1] if i else 0), ordered[i]
        if rounds and rounds[-1][1] >= start:
            rounds[-1] = (rounds[-1][0], max(rounds[-1][1], end))
        else:
            rounds.append((start, end))
    return rounds


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


async def export_chain(
    db: Database,
    out: Path,
    public_key: str,
    *,
    signer: CheckpointSigner | None = None,
    month: str | None = None,
    dossier: str | None = None,
    connector: str | None = None,
    on_page: OnPage | None = None,
) -> int:
    """Write ``entries.jsonl``, ``checkpoints.jsonl``, ``anchors.jsonl``, ``public_key.txt``
    and ``verify.py`` to ``out`` (and ``manifest.json`` with ``signer``): one consistent picture
    under live traffic (the anchors are read first, then the checkpoints, then the entries up to
    the last of them).

    ``month`` (``YYYY-MM``, Việt Nam time): only the rounds sealed that month, opened by the
    checkpoint that closed the month before (so monthly archives link, each verifying alone
    from its opening checkpoint) and closed by the month's last checkpoint.

    ``dossier`` / ``connector``: a selection, with its boundary proofs. A chain entry's hash
    needs the whole content of the entry before it, so an entry is proved by its sealing round:
    the export holds every round that holds a selected entry (the others of the round marked
    ``"selected": false``; their bodies, like every body, are never exported), each opened and
    closed by its signed checkpoints. It proves that the selected entries are in the signed
    chain, unchanged; not that no other entry of the dossier exists (the whole export does).

    ``on_page(done, total)``: called once per page of entries written (not per entry), with
    the entries exported so far (the page being written included) and the number to write
    (a progress bar's; nothing else changes).
    """
    out.mkdir(parents=True, exist_ok=True)
    async with db.reading() as session:
        # anchors, then checkpoints, then entries: under live traffic each is complete for
        # what was read before it
        anchors = list(
            (await session.execute(select(CheckpointAnchor.seq, CheckpointAnchor.token))).all()
        )
        cps = list((await session.scalars(select(Checkpoint).order_by(Checkpoint.seq))).all())
    opening = 0
    if month is not None:
        start, end = month_bounds(month)
        before = [c for c in cps if c.created_at < start]
        cps = [c for c in cps if c.created_at < end]
        opening = before[-1].seq if before else 0
        cps = [c for c in cps if c.seq >= opening]
    covered = max((c.seq for c in cps), default=0)
    selection = {k: v for k, v in (("dossier", dossier), ("connector", connector)) if v}
    segments = [(opening, covered)]
    selected: set[int] | None = None
    if selection:
        selected = await _selected_seqs(db, opening, covered, dossier, connector)
        segments = _rounds_of(selected, [c.seq for c in cps])
        bounds = {seq for segment in segments for seq in segment}
        cps = [c for c in cps if c.seq in bounds]
    count = 0
    total = sum(until - after for after, until in segments)
    with (out / "entries.jsonl").open("w", encoding="utf-8") as fh:
        for after, until in segments:
            async for page in _db_rows(db, until=until, after=after):
                if on_page is not None:
                    on_page(count + len(page), total)
                for row in page:
                    record = {
                        "seq": row.seq,
                        "prev_hash": row.prev_hash,
                        "entry_hash": row.entry_hash,
                    }
                    record.update(
                        {n: _encode(v) for n, v in zip(HASHED_FIELDS, row.values, strict=True)}
                    )
                    if selected is not None:
                        record["selected"] = row.seq in selected
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                    count += 1
    with (out / "checkpoints.jsonl").open("w", encoding="utf-8") as fh:
        for c in cps:
            fh.write(json.dumps(head_record(c)) + "\n")
    exported = {c.seq for c in cps}
    with (out / "anchors.jsonl").open("w", encoding="utf-8") as fh:
        for seq, token in sorted(anchors):
            if opening <= seq <= covered and (selected is None or seq in exported):
                record = {"seq": seq, "token": base64.b64encode(token).decode()}
                fh.write(json.dumps(record) + "\n")
    (out / "public_key.txt").write_text(public_key + "\n", encoding="utf-8")
    if signer is not None:
        extra: dict[str, Any] = {"month": month, "opening_seq": opening}
        if selected is not None:
            extra["selection"] = selection
            extra["selected"] = len(selected)
            extra["segments"] = [list(segment) for segment in segments]
        _write_manifest(out, cps, signer, count, extra)
    # the verifier with the evidence: Python and `cryptography` are all it needs
    (out / "verify.py").write_text(Path(offline.__file__).read_text(encoding="utf-8"))
    return count
