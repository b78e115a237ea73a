"""The tamper drill (issue 17, must-show): every tamper a dishonest operator with the database
owner's rights can try is named by the verifier, or refused by the database.

One realistic sealed log per backend (dossiers through the API and the workers, a refusal, an
auditor's read of a body, an officer registry change, a dead letter skipped with a reason; two
sealing rounds, so two checkpoints, and a witness copy of the signed heads), built once through
the real flows and restored, row for row, before each case. Each case first shows that the
database refuses the change to a sealed row or a checkpoint as the application would send it
(the triggers of migration 0012), then makes it as the owner does (the triggers dropped for the
transaction), and runs the auditors' verification as ``lgsp audit verify --since WITNESS``
does: chain, MACs (the data key), signatures with the trusted key, the witness copy, and the
outbox's decisions. Asked to carry on after a deletion or an unsealing, the sealer refuses.

The database cannot refuse a new row (a forged row is a plain ``INSERT``, which the gateway's
own role must be able to make) nor a change to the outbox (the application's working table):
those the application's role makes here, and the verifier alone can name them. Deleting the
newest entries together with their checkpoints leaves a consistent shorter chain: only evidence
outside the database (the witness here, the RFC 3161 anchors in ``test_anchoring.py``) names it.
The sealer, asked to carry on over a tamper (a deletion, an unsealing, checkpoints gone, rows
appended past the last checkpoint), refuses; what an attacker holding the signing key then signs
by hand, the MACs or the witness copy name.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from gateway.core.crypto import CheckpointSigner
from gateway.core.delivery import outbox
from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import (
    ChainIntegrityError,
    checkpoint_message,
    checkpoint_time,
    entry_hash,
    sealed_head_key,
    verify_database,
    write_values,
)
from gateway.core.log.immutability import suspended
from gateway.core.log.offline import VerifyReport
from gateway.core.runtime import Gateway
from gateway.core.settings import AuditSettings
from gateway.core.store.db import Base, Checkpoint, ExchangeEntry, utcnow
from gateway.core.store.state import StateStore
from gateway.sandbox import create_sandbox_app
from tests.audit import build_log, retired_dead_letter, signed_checkpoint
from tests.conftest import bearer, serving, started_gateway
from tests.officer_factories import register_officer

pytestmark = pytest.mark.usefixtures("restore_logging")


@dataclass(frozen=True)
class Marks:
    """Where the notable entries of the built log are."""

    read_seq: int
    officer_seq: int
    skip_seq: int
    head: int
    checkpoints: list[int]
    #: seq -> entry id, as sealed
    entry_ids: dict[int, str]
    #: a dead letter not yet decided (for the untraced skips)
    dead_exchange: str


@dataclass(frozen=True)
class Snapshot:
    """The built log of one backend: every table's rows, the witness copy, and the head the
    sealer remembers in the state store (outside the database)."""

    rows: dict[str, list[dict[str, Any]]]
    witness: Path
    remembered: bytes | None
    marks: Marks


@dataclass
class Log:
    gw: Gateway
    witness: Path
    marks: Marks

    def entry(self, seq: int) -> str:
        return self.marks.entry_ids[seq]


# --- the sealed log --------------------------------------------------------------------------


async def _seq_of(gw: Gateway, *where: Any) -> int:
    async with gw.db.reading() as session:
        found = await session.scalar(
            select(func.min(ExchangeEntry.seq)).where(ExchangeEntry.seq.is_not(None), *where)
        )
    assert found is not None, where
    return int(found)


async def _build(gw: Gateway, witness: Path, keep: Path) -> Snapshot:
    """The realistic log, through the API and the workers, sealed in two rounds; the witness
    copy the sealer wrote in ``witness`` kept in ``keep``."""
    service = DeliveryService(gw)
    async with serving(gw) as api:
        await build_log(gw, api, dossiers=3)
        await service.seal_once()
        # an auditor reads a sealed body, an officer is registered, a dead letter is skipped
        body = await _seq_of(gw, ExchangeEntry.request_body.is_not(None))
        async with gw.db.reading() as session:
            entry = await session.scalar(
                select(ExchangeEntry.entry_id).where(ExchangeEntry.seq == body)
            )
        read = await api.get(
            f"/v1/audit/entries/{entry}/body",
            headers={
                **await bearer(gw, "audit:read"),
                "X-Audit-Reason": quote("kiểm tra định kỳ"),
                "X-Audit-Person": "Nguyen Van A",
            },
        )
        assert read.status_code == 200, read.text
        await register_officer(gw, 1)
        skipped = await retired_dead_letter(gw, 1)
        await outbox.skip(gw.db, skipped, reason="nền tảng cũ", log=gw.log, actor="ops")
        dead = await retired_dead_letter(gw, 2)
        await build_log(gw, api, dossiers=2, first=4, refusal=False)
        await service.seal_once()
    async with gw.db.reading() as session:
        checkpoints = list(await session.scalars(select(Checkpoint.seq).order_by(Checkpoint.seq)))
        sealed = (
            await session.execute(
                select(ExchangeEntry.seq, ExchangeEntry.entry_id).where(
                    ExchangeEntry.seq.is_not(None)
                )
            )
        ).all()
        unsealed = await session.scalar(
            select(func.count()).select_from(ExchangeEntry).where(ExchangeEntry.seq.is_(None))
        )
        rows = {
            table.name: [dict(r) for r in (await session.execute(select(table))).mappings()]
            for table in Base.metadata.sorted_tables
        }
    assert len(checkpoints) == 2, checkpoints
    assert unsealed == 0
    marks = Marks(
        read_seq=await _seq_of(gw, ExchangeEntry.kind == "audit_access"),
        officer_seq=await _seq_of(gw, ExchangeEntry.operation == "officer:registered"),
        skip_seq=await _seq_of(gw, ExchangeEntry.operation == "dlq:skip"),
        head=checkpoints[-1],
        checkpoints=checkpoints,
        entry_ids={int(seq): str(entry_id) for seq, entry_id in sealed},
        dead_exchange=dead,
    )
    # the notable entries are all covered by the second round, with entries after them
    assert checkpoints[0] < marks.read_seq < marks.officer_seq < marks.skip_seq < marks.head
    shutil.copytree(witness, keep)
    return Snapshot(
        rows=rows,
        witness=keep,
        remembered=await gw.state.get(sealed_head_key(gw.db)),
        marks=marks,
    )


async def _restore(gw: Gateway, snapshot: Snapshot, witness: Path) -> None:
    """The built log again, in the emptied tables of a fresh gateway (the same keys)."""
    async with gw.db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if rows := snapshot.rows[table.name]:
                await session.execute(insert(table), rows)
    shutil.copytree(snapshot.witness, witness)
    if snapshot.remembered is not None:
        await gw.state.set(sealed_head_key(gw.db), snapshot.remembered)


@pytest.fixture(scope="module")
def snapshots() -> dict[str, Snapshot]:
    """The log built once per backend, restored for each case."""
    return {}


@pytest.fixture(scope="module")
def simulators() -> Any:
    """The platforms' simulators, made once: the cases deliver little, and making them is
    most of what a case costs."""
    return create_sandbox_app()


@pytest.fixture(scope="module")
def drill_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("drill")


@pytest.fixture
async def log(
    backend: str,
    request: pytest.FixtureRequest,
    drill_dir: Path,
    snapshots: dict[str, Snapshot],
    state_store: StateStore,
    simulators: Any,
    tmp_path: Path,
) -> AsyncIterator[Log]:
    # one SQLite file for the module: migrated once, emptied for each case like PostgreSQL's
    url = (
        str(request.getfixturevalue("pg_database_url"))
        if backend == "postgresql"
        else f"sqlite+aiosqlite:///{drill_dir}/lgsp.db"
    )
    witness = tmp_path / "witness"
    gw = await started_gateway(
        url, state_store, simulators, audit=AuditSettings(witness_dir=witness)
    )
    try:
        snapshot = snapshots.get(backend)
        if snapshot is None:
            snapshot = snapshots[backend] = await _build(
                gw, witness, drill_dir / f"witness-{backend}"
            )
        else:
            await _restore(gw, snapshot, witness)
        yield Log(gw=gw, witness=witness, marks=snapshot.marks)
    finally:
        await gw.aclose()


# --- the attacker's and the auditor's tools --------------------------------------------------


async def owner(gw: Gateway, *statements: str, **params: Any) -> None:
    """What the owner of the database can do: the triggers dropped for the transaction."""
    async with gw.db.transaction() as session, suspended(session):
        for statement in statements:
            await session.execute(text(statement), params)


async def as_app(gw: Gateway, statement: str, **params: Any) -> None:
    """A change the application's role may make (the outbox is its working table): accepted."""
    async with gw.db.transaction() as session:
        await session.execute(text(statement), params)


async def refused(gw: Gateway, statement: str, **params: Any) -> None:
    """The same change as the application's role would send it: the database refuses it."""
    with pytest.raises(DBAPIError, match="never changed or deleted"):
        async with gw.db.transaction() as session:
            await session.execute(text(statement), params)


async def verify(log: Log) -> VerifyReport:
    """``lgsp audit verify --since WITNESS``, as the auditor runs it: the trusted key, the
    data key's MACs, the witness copy of the signed heads."""
    gw = log.gw
    return await verify_database(
        gw.db, gw.public_key, authenticator=gw.cipher.entries, since=log.witness
    )


async def sealer_refuses(log: Log) -> None:
    """The sealer will not carry on over (or start again) a chain it did not leave so."""
    with pytest.raises(ChainIntegrityError):
        await DeliveryService(log.gw).seal_once()


async def _rehash_from(gw: Gateway, seq: int, *, signer: CheckpointSigner | None = None) -> None:
    """Recompute every link from ``seq`` on (the hash function is public); with ``signer``,
    sign the checkpoints again over the new heads (the signing key stolen)."""
    async with gw.db.transaction() as session, suspended(session):
        rows = (
            await session.scalars(
                select(ExchangeEntry).where(ExchangeEntry.seq >= seq).order_by(ExchangeEntry.seq)
            )
        ).all()
        prev = rows[0].prev_hash
        assert prev is not None
        heads: dict[int, str] = {}
        for row in rows:
            row.prev_hash = prev
            row.entry_hash = prev = entry_hash(prev, write_values(row))
            assert row.seq is not None
            heads[row.seq] = prev
        if signer is not None:
            for cp in (await session.scalars(select(Checkpoint))).all():
                if cp.seq >= seq:
                    cp.head_hash = heads[cp.seq]
                    cp.signature = signer.sign(
                        checkpoint_message(cp.seq, cp.head_hash, checkpoint_time(cp.created_at))
                    )
        await session.flush()


def _forged(entry_id: str) -> ExchangeEntry:
    """A row as a forger writes it: plausible, but without the MAC only the data key makes."""
    return ExchangeEntry(
        entry_id=entry_id,
        kind="attempt",
        connector="dvcqg",
        operation="sync_dossier",
        outcome="delivered",
        started_at=utcnow(),
        finished_at=utcnow(),
        duration_ms=1,
        request_size=0,
        response_size=0,
    )


async def _append_after_head(log: Log, entry_id: str) -> None:
    """A forged row after the head, with the right seq, link and hash: as the application's
    role can write it (a new row: nothing for the triggers to refuse)."""
    gw = log.gw
    async with gw.db.reading() as session:
        head = await session.scalar(
            select(ExchangeEntry.entry_hash).where(ExchangeEntry.seq == log.marks.head)
        )
    assert head is not None
    forged = _forged(entry_id)
    forged.seq = log.marks.head + 1
    forged.prev_hash = head
    forged.entry_hash = entry_hash(head, write_values(forged))
    async with gw.db.transaction() as session:
        session.add(forged)


async def _sign_head(log: Log, seq: int) -> None:
    """A checkpoint over the entry at ``seq``, signed with the real key (stolen)."""
    gw = log.gw
    async with gw.db.reading() as session:
        head = await session.scalar(
            select(ExchangeEntry.entry_hash).where(ExchangeEntry.seq == seq)
        )
    assert head is not None
    async with gw.db.transaction() as session:
        session.add(signed_checkpoint(gw, seq, head))


# --- the tampers -----------------------------------------------------------------------------

Tamper = Callable[[Log], Awaitable[None]]


def _middle(log: Log) -> int:
    """A sealed entry of the first round, neither its first nor its last."""
    return log.marks.checkpoints[0] // 2


async def edit(log: Log) -> None:
    statement = "UPDATE exchange_entries SET outcome = 'tampered' WHERE seq = :s"
    await refused(log.gw, statement, s=_middle(log))
    await owner(log.gw, statement, s=_middle(log))


async def delete_middle(log: Log) -> None:
    statement = "DELETE FROM exchange_entries WHERE seq = :s"
    await refused(log.gw, statement, s=_middle(log))
    await owner(log.gw, statement, s=_middle(log))


async def delete_tail(log: Log) -> None:
    statement = "DELETE FROM exchange_entries WHERE seq > :s"
    await refused(log.gw, statement, s=log.marks.head - 2)
    await owner(log.gw, statement, s=log.marks.head - 2)
    await sealer_refuses(log)  # it remembers the head it sealed


async def delete_tail_and_checkpoints(log: Log) -> None:
    first = log.marks.checkpoints[0]
    await refused(log.gw, "DELETE FROM checkpoints WHERE seq > :s", s=first)
    await owner(
        log.gw,
        "DELETE FROM exchange_entries WHERE seq > :s",
        "DELETE FROM checkpoints WHERE seq > :s",
        s=first,
    )
    await sealer_refuses(log)


async def delete_all_checkpoints(log: Log) -> None:
    await refused(log.gw, "DELETE FROM checkpoints")
    await owner(log.gw, "DELETE FROM checkpoints")


async def unseal_edit_reseal(log: Log) -> None:
    """Every entry unsealed, one edited, the checkpoints gone: the sealer, asked to seal the
    lot again, refuses (it remembers the head it sealed) and seals nothing."""
    await refused(log.gw, "UPDATE exchange_entries SET seq = NULL")
    await owner(
        log.gw,
        "UPDATE exchange_entries SET seq = NULL, prev_hash = NULL, entry_hash = NULL",
        "DELETE FROM checkpoints",
        "UPDATE exchange_entries SET outcome = 'tampered' WHERE entry_id = :e",
        e=log.entry(_middle(log)),
    )
    await sealer_refuses(log)


async def unseal_edit_keep_checkpoints(log: Log) -> None:
    """The same, the checkpoints left: no sealed entry under signed checkpoints."""
    await owner(
        log.gw,
        "UPDATE exchange_entries SET seq = NULL, prev_hash = NULL, entry_hash = NULL",
        "UPDATE exchange_entries SET outcome = 'tampered' WHERE entry_id = :e",
        e=log.entry(_middle(log)),
    )
    await log.gw.state.delete(sealed_head_key(log.gw.db))  # even with the memory wiped
    await sealer_refuses(log)


async def forged_unsealed_row(log: Log) -> None:
    async with log.gw.db.transaction() as session:
        session.add(_forged("forged-1"))
    await DeliveryService(log.gw).seal_once()
    async with log.gw.db.reading() as session:
        seq = await session.scalar(
            select(ExchangeEntry.seq).where(ExchangeEntry.entry_id == "forged-1")
        )
    assert seq is None  # the sealer left it out


async def forged_row_after_head(log: Log) -> None:
    await _append_after_head(log, "forged-2")


async def forged_row_after_head_then_sealed(log: Log) -> None:
    """The same, then a sealing round: the sealer will not sign over entries no checkpoint
    covers; signed over with the stolen key, the row's MAC (the data key) still names it."""
    await _append_after_head(log, "forged-3")
    await sealer_refuses(log)
    await log.gw.state.delete(sealed_head_key(log.gw.db))  # not even with its memory wiped
    await sealer_refuses(log)
    await _sign_head(log, log.marks.head + 1)


async def delete_all_checkpoints_then_seal(log: Log) -> None:
    """All checkpoints deleted: the sealer refuses to sign the chain again (it remembers the
    checkpoint it signed; without its memory, the chain is sealed past every checkpoint). With
    the stolen key one checkpoint is signed over the whole chain: the witness copy holds the
    checkpoints that are gone."""
    await delete_all_checkpoints(log)
    await sealer_refuses(log)
    await log.gw.state.delete(sealed_head_key(log.gw.db))
    await sealer_refuses(log)
    await _sign_head(log, log.marks.head)


async def resigned_with_another_key(log: Log) -> None:
    other = CheckpointSigner.from_seed("dev-ed25519-1", b"\x07" * 32)
    await refused(log.gw, "UPDATE checkpoints SET signature = 'x'")
    async with log.gw.db.transaction() as session, suspended(session):
        for cp in (await session.scalars(select(Checkpoint))).all():
            cp.public_key = other.public_key_b64()
            cp.signature = other.sign(
                checkpoint_message(cp.seq, cp.head_hash, checkpoint_time(cp.created_at))
            )
        await session.flush()


async def rewritten_with_the_signing_key(log: Log) -> None:
    """An entry edited, the chain re-hashed from it and every checkpoint signed again with
    the real key: only the MACs (the data key, which the signing key does not give) name it."""
    statement = "UPDATE exchange_entries SET outcome = 'tampered' WHERE seq = :s"
    await refused(log.gw, statement, s=_middle(log))
    await owner(log.gw, statement, s=_middle(log))
    await _rehash_from(log.gw, _middle(log), signer=log.gw.signer)


async def swapped_seq(log: Log) -> None:
    a = _middle(log)
    await refused(log.gw, "UPDATE exchange_entries SET seq = -1 WHERE seq = :s", s=a)
    await owner(
        log.gw,
        "UPDATE exchange_entries SET seq = -1 WHERE seq = :a",
        "UPDATE exchange_entries SET seq = :a WHERE seq = :b",
        "UPDATE exchange_entries SET seq = :b WHERE seq = -1",
        a=a,
        b=a + 1,
    )


async def edited_auditor_read(log: Log) -> None:
    """The reason the auditor gave, changed, and the chain re-hashed consistently after it."""
    statement = "UPDATE exchange_entries SET purpose = 'routine' WHERE seq = :s"
    await refused(log.gw, statement, s=log.marks.read_seq)
    await owner(log.gw, statement, s=log.marks.read_seq)
    await _rehash_from(log.gw, log.marks.read_seq)


async def edited_officer_event(log: Log) -> None:
    statement = "UPDATE exchange_entries SET client = 'someone-else' WHERE seq = :s"
    await refused(log.gw, statement, s=log.marks.officer_seq)
    await owner(log.gw, statement, s=log.marks.officer_seq)


async def deleted_skip_decision(log: Log) -> None:
    """The trace of a genuine ``lgsp dlq skip`` deleted (sealed: refused, then done)."""
    statement = "DELETE FROM exchange_entries WHERE seq = :s"
    await refused(log.gw, statement, s=log.marks.skip_seq)
    await owner(log.gw, statement, s=log.marks.skip_seq)


async def dlq_skip_without_trace(log: Log) -> None:
    """A dead letter set ``skipped`` in SQL, not by ``lgsp dlq skip``: no decision entry."""
    await as_app(
        log.gw,
        "UPDATE outbox SET status = 'skipped' WHERE exchange_id = :e",
        e=log.marks.dead_exchange,
    )


async def dlq_deleted_without_trace(log: Log) -> None:
    """A dead letter's outbox row deleted in SQL: the queue behind it moves on, no decision."""
    await as_app(log.gw, "DELETE FROM outbox WHERE exchange_id = :e", e=log.marks.dead_exchange)


async def dlq_marked_delivered_without_trace(log: Log) -> None:
    """A dead letter set ``delivered`` in SQL: terminal too, and no attempt ever delivered."""
    await as_app(
        log.gw,
        "UPDATE outbox SET status = 'delivered' WHERE exchange_id = :e",
        e=log.marks.dead_exchange,
    )


# --- the drill ---------------------------------------------------------------------------------

Where = Callable[[Log], int | None]
Entry = Callable[[Log], str | None]


@dataclass(frozen=True)
class Case:
    tamper: Tamper
    #: the problem the verifier names, at which seq, and which entry (exchange) it names
    kind: str
    seq: Where
    entry: Entry


def _none(log: Log) -> None:
    return None


CASES: dict[str, Case] = {
    "edit": Case(edit, "altered", _middle, lambda log: log.entry(_middle(log))),
    "delete middle": Case(delete_middle, "missing", _middle, _none),
    "delete tail, keep its checkpoint": Case(
        delete_tail, "truncated", lambda log: log.marks.head - 1, _none
    ),
    # a consistent shorter chain: the witness copy of the signed heads names it
    "delete tail with its checkpoints": Case(
        delete_tail_and_checkpoints,
        "truncated",
        lambda log: log.marks.checkpoints[0] + 1,
        _none,
    ),
    # the signed evidence now covers nothing: the witness copy holds what it covered
    "delete all checkpoints": Case(delete_all_checkpoints, "truncated", lambda log: 1, _none),
    "unseal, edit, reseal": Case(unseal_edit_reseal, "truncated", lambda log: 1, _none),
    "unseal, edit, keep the checkpoints": Case(
        unseal_edit_keep_checkpoints, "truncated", lambda log: 1, _none
    ),
    "forged unsealed row": Case(forged_unsealed_row, "forged", _none, lambda log: "forged-1"),
    "forged row after the head": Case(
        forged_row_after_head, "uncovered", lambda log: log.marks.head + 1, _none
    ),
    "forged row after the head, signed over with the stolen key": Case(
        forged_row_after_head_then_sealed,
        "forged",
        lambda log: log.marks.head + 1,
        lambda log: "forged-3",
    ),
    "delete all checkpoints, the chain signed again": Case(
        delete_all_checkpoints_then_seal,
        "checkpoint",
        lambda log: log.marks.checkpoints[0],
        _none,
    ),
    "re-signed with another key": Case(
        resigned_with_another_key, "checkpoint", lambda log: log.marks.checkpoints[0], _none
    ),
    "rewritten with the signing key": Case(
        rewritten_with_the_signing_key,
        "forged",
        _middle,
        lambda log: log.entry(_middle(log)),
    ),
    # the entry now at seq a is the one sealed at a + 1
    "swapped seq": Case(swapped_seq, "reordered", _middle, lambda log: log.entry(_middle(log) + 1)),
    # re-hashed consistently: the MAC (the data key) names it, before the witness would
    "edited auditor read": Case(
        edited_auditor_read,
        "forged",
        lambda log: log.marks.read_seq,
        lambda log: log.entry(log.marks.read_seq),
    ),
    "edited officer event": Case(
        edited_officer_event,
        "altered",
        lambda log: log.marks.officer_seq,
        lambda log: log.entry(log.marks.officer_seq),
    ),
    "deleted skip decision": Case(
        deleted_skip_decision, "missing", lambda log: log.marks.skip_seq, _none
    ),
    "DLQ skip without trace": Case(
        dlq_skip_without_trace, "untraced", _none, lambda log: log.marks.dead_exchange
    ),
    "DLQ item deleted without trace": Case(
        dlq_deleted_without_trace,
        "untraced",
        _none,
        lambda log: log.marks.dead_exchange,
    ),
    "DLQ item marked delivered without trace": Case(
        dlq_marked_delivered_without_trace,
        "untraced",
        _none,
        lambda log: log.marks.dead_exchange,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_every_tamper_is_named(log: Log, case: str) -> None:
    intact = await verify(log)
    assert intact.ok, intact.problem
    assert intact.head_seq == log.marks.head
    spec = CASES[case]
    await spec.tamper(log)
    report = await verify(log)
    assert report.problem is not None, case
    assert report.problem.kind == spec.kind, report.problem
    assert report.problem.seq == spec.seq(log), report.problem
    assert report.problem.entry_id == spec.entry(log), report.problem
    assert not report.ok
