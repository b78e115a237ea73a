"""The tamper drill (issue 17, must-show): every tamper a dishonest operator with the database
owner's rights can try is named by the verifier, or refused by the database.

One realistic sealed log per case (dossiers through the API and the workers, a refusal, an
auditor's read, an officer registry change, a dead letter skipped with a reason; two sealing
rounds, a witness copy of the signed heads), on SQLite and PostgreSQL. Each case first shows
that the database refuses the change to a sealed row as the application would send it, then
makes it as the owner does (the triggers dropped for the transaction), and runs the auditors'
verification: chain, MACs, signatures with the trusted key, the witness copy, and the outbox's
decisions. Deleting the newest entries together with their checkpoints leaves a consistent
shorter chain: only evidence outside the database (the witness here, the RFC 3161 anchors in
``test_anchoring.py``) can name it, and does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gateway.core.crypto import CheckpointSigner
from gateway.core.delivery import outbox
from gateway.core.delivery.intake import accept_delivery
from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import (
    ChainIntegrityError,
    checkpoint_message,
    checkpoint_time,
    entry_hash,
    verify_database,
    write_values,
)
from gateway.core.log.immutability import suspended
from gateway.core.log.offline import VerifyReport
from gateway.core.runtime import Gateway
from gateway.core.settings import AuditSettings
from gateway.core.store.db import Checkpoint, ExchangeEntry, utcnow
from gateway.core.store.state import StateStore
from tests.audit import build_log
from tests.conftest import bearer, serving, started_gateway
from tests.officer_factories import register_officer

pytestmark = pytest.mark.usefixtures("restore_logging")


@dataclass
class Log:
    gw: Gateway
    witness: Path
    #: seq of notable entries
    read_seq: int
    officer_seq: int
    skip_seq: int
    head: int
    checkpoints: list[int]
    #: a dead letter not yet decided (for the untraced skip)
    dead_exchange: str


async def _seq_of(gw: Gateway, **where: str) -> int:
    stmt = select(ExchangeEntry.seq)
    for name, value in where.items():
        stmt = stmt.where(getattr(ExchangeEntry, name) == value)
    async with gw.db.reading() as session:
        found = (await session.scalars(stmt.order_by(ExchangeEntry.seq))).first()
    assert found is not None, where
    return int(found)


async def _dead_letter(gw: Gateway, n: int) -> str:
    """A delivery for a platform no connector serves any more: dead at the first try."""
    accepted = await accept_delivery(
        gw,
        client="tests",
        connector="retired",
        operation="sync_dossier",
        ordering_key=f"retired:{n}",
        payload={"n": n},
        request_body=b"{}",
    )
    await DeliveryService(gw).run_once()
    return accepted.exchange_id


@pytest.fixture
async def log(
    database_url: str, state_store: StateStore, sandbox_app: Any, tmp_path: Path
) -> AsyncIterator[Log]:
    witness = tmp_path / "witness"
    gw = await started_gateway(
        database_url, state_store, sandbox_app, audit=AuditSettings(witness_dir=witness)
    )
    try:
        service = DeliveryService(gw)
        async with serving(gw) as api:
            await build_log(gw, api, dossiers=3)
            await service.seal_once()
            # an auditor's read of a body, an officer registered, a dead letter skipped
            entry = await _seq_entry(gw, 2)
            auditor = await bearer(gw, "audit:read")
            read = await api.get(
                f"/v1/audit/entries/{entry}/body",
                headers={
                    **auditor,
                    "X-Audit-Reason": quote("kiểm tra định kỳ"),
                    "X-Audit-Person": "Nguyen Van A",
                },
            )
            assert read.status_code in (200, 404), read.text
            await register_officer(gw, 1)
            skipped = await _dead_letter(gw, 1)
            await outbox.skip(gw.db, skipped, reason="nền tảng cũ", log=gw.log, actor="ops")
            dead = await _dead_letter(gw, 2)
            await build_log(gw, api, dossiers=2, first=4, refusal=False)
            await service.seal_once()
        async with gw.db.reading() as session:
            cps = list(await session.scalars(select(Checkpoint.seq).order_by(Checkpoint.seq)))
        yield Log(
            gw=gw,
            witness=witness,
            read_seq=await _seq_of(gw, kind="audit_access"),
            officer_seq=await _seq_of(gw, operation="officer:registered"),
            skip_seq=await _seq_of(gw, operation="dlq:skip"),
            head=cps[-1],
            checkpoints=cps,
            dead_exchange=dead,
        )
    finally:
        await gw.aclose()


async def _seq_entry(gw: Gateway, seq: int) -> str:
    async with gw.db.reading() as session:
        found = await session.scalar(select(ExchangeEntry.entry_id).where(ExchangeEntry.seq == seq))
    assert found is not None
    return str(found)


async def owner(gw: Gateway, *statements: str, **params: Any) -> None:
    """What the owner of the database can do: the triggers dropped for the transaction."""
    async with gw.db.transaction() as session, suspended(session):
        for statement in statements:
            await session.execute(text(statement), params)


async def refused(gw: Gateway, statement: str, **params: Any) -> None:
    """The same change as the application's role would send it: the database refuses it."""
    with pytest.raises(DBAPIError, match="never changed or deleted"):
        async with gw.db.transaction() as session:
            await session.execute(text(statement), params)


async def verify(log: Log) -> VerifyReport:
    """``lgsp audit verify --since WITNESS``, as the auditor runs it."""
    gw = log.gw
    return await verify_database(
        gw.db, gw.public_key, authenticator=gw.cipher.entries, since=log.witness
    )


async def _rehash_from(gw: Gateway, seq: int) -> None:
    """Recompute every link from ``seq`` on (the hash function is public)."""
    async with gw.db.transaction() as session, suspended(session):
        rows = (
            await session.scalars(
                select(ExchangeEntry).where(ExchangeEntry.seq >= seq).order_by(ExchangeEntry.seq)
            )
        ).all()
        prev = rows[0].prev_hash
        for row in rows:
            row.prev_hash = prev
            row.entry_hash = prev = entry_hash(prev, write_values(row))
        await session.flush()


# --- the cases --------------------------------------------------------------------------------

Tamper = Callable[[Log], Awaitable[None]]


async def edit(log: Log) -> None:
    seq = log.checkpoints[0] // 2
    statement = "UPDATE exchange_entries SET outcome = 'tampered' WHERE seq = :s"
    await refused(log.gw, statement, s=seq)
    await owner(log.gw, statement, s=seq)


async def delete_middle(log: Log) -> None:
    statement = "DELETE FROM exchange_entries WHERE seq = :s"
    await refused(log.gw, statement, s=5)
    await owner(log.gw, statement, s=5)


async def delete_tail(log: Log) -> None:
    await owner(log.gw, "DELETE FROM exchange_entries WHERE seq > :s", s=log.head - 2)


async def delete_tail_and_checkpoints(log: Log) -> None:
    first = log.checkpoints[0]
    await refused(log.gw, "DELETE FROM checkpoints WHERE seq > :s", s=first)
    await owner(
        log.gw,
        "DELETE FROM exchange_entries WHERE seq > :s",
        "DELETE FROM checkpoints WHERE seq > :s",
        s=first,
    )


async def delete_all_checkpoints(log: Log) -> None:
    await refused(log.gw, "DELETE FROM checkpoints")
    await owner(log.gw, "DELETE FROM checkpoints")


async def unseal_edit_reseal(log: Log) -> None:
    await owner(
        log.gw,
        "UPDATE exchange_entries SET seq = NULL, prev_hash = NULL, entry_hash = NULL",
        "DELETE FROM checkpoints",
        "UPDATE exchange_entries SET outcome = 'tampered' WHERE entry_id = :e",
        e=await _seq_entry(log.gw, 3),
    )
    # the sealer will not start the chain again (it remembers the head it sealed)
    with pytest.raises(ChainIntegrityError):
        await DeliveryService(log.gw).seal_once()


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


async def forged_unsealed_row(log: Log) -> None:
    async with log.gw.db.transaction() as session:
        session.add(_forged("forged-1"))


async def forged_row_after_head(log: Log) -> None:
    """Appended after the head with a correct link and hash: but no checkpoint can cover it
    without the signing key, and no MAC without the data key."""
    gw = log.gw
    async with gw.db.reading() as session:
        head = await session.scalar(
            select(ExchangeEntry.entry_hash).where(ExchangeEntry.seq == log.head)
        )
    assert head is not None
    forged = _forged("forged-2")
    forged.seq = log.head + 1
    forged.prev_hash = head
    forged.entry_hash = entry_hash(head, write_values(forged))
    async with gw.db.transaction() as session:
        session.add(forged)


async def resigned_with_another_key(log: Log) -> None:
    other = CheckpointSigner.from_seed("dev-ed25519-1", b"\x07" * 32)
    async with log.gw.db.transaction() as session, suspended(session):
        for cp in (await session.scalars(select(Checkpoint))).all():
            cp.public_key = other.public_key_b64()
            cp.signature = other.sign(
                checkpoint_message(cp.seq, cp.head_hash, checkpoint_time(cp.created_at))
            )
        await session.flush()


async def swapped_seq(log: Log) -> None:
    seq = log.checkpoints[0] // 2
    await refused(log.gw, "UPDATE exchange_entries SET seq = -1 WHERE seq = :s", s=seq)
    await owner(
        log.gw,
        "UPDATE exchange_entries SET seq = -1 WHERE seq = :a",
        "UPDATE exchange_entries SET seq = :a WHERE seq = :b",
        "UPDATE exchange_entries SET seq = :b WHERE seq = -1",
        a=seq,
        b=seq + 1,
    )


async def edited_auditor_read(log: Log) -> None:
    statement = "UPDATE exchange_entries SET purpose = 'routine' WHERE seq = :s"
    await refused(log.gw, statement, s=log.read_seq)
    await owner(log.gw, statement, s=log.read_seq)
    await _rehash_from(log.gw, log.read_seq)  # even consistently re-hashed


async def edited_officer_event(log: Log) -> None:
    statement = "UPDATE exchange_entries SET client = 'someone-else' WHERE seq = :s"
    await refused(log.gw, statement, s=log.officer_seq)
    await owner(log.gw, statement, s=log.officer_seq)


async def dlq_skip_without_trace(log: Log) -> None:
    await owner(
        log.gw,
        "UPDATE outbox SET status = 'skipped' WHERE exchange_id = :e",
        e=log.dead_exchange,
    )


#: each tamper, the problem the verifier names, and where (a seq, or a function of the log)
CASES: dict[str, tuple[Tamper, str, Callable[[Log], int | None]]] = {
    "edit": (edit, "altered", lambda log: log.checkpoints[0] // 2),
    "delete middle": (delete_middle, "missing", lambda log: 5),
    "delete tail, keep its checkpoint": (delete_tail, "truncated", lambda log: log.head - 1),
    "delete tail with its checkpoints": (
        delete_tail_and_checkpoints,
        "truncated",
        lambda log: log.checkpoints[0] + 1,
    ),
    # the signed evidence now covers nothing: the witness copy holds what it covered
    "delete all checkpoints": (delete_all_checkpoints, "truncated", lambda log: 1),
    "unseal, edit, reseal": (unseal_edit_reseal, "truncated", lambda log: 1),
    "forged unsealed row": (forged_unsealed_row, "forged", lambda log: None),
    "forged row after the head": (
        forged_row_after_head,
        "uncovered",
        lambda log: log.head + 1,
    ),
    "re-signed with another key": (
        resigned_with_another_key,
        "checkpoint",
        lambda log: log.checkpoints[0],
    ),
    "swapped seq": (swapped_seq, "reordered", lambda log: log.checkpoints[0] // 2),
    # re-hashed consistently: the MAC (the data key) names it, before the witness would
    "edited auditor read": (edited_auditor_read, "forged", lambda log: log.read_seq),
    "edited officer event": (edited_officer_event, "altered", lambda log: log.officer_seq),
    "DLQ skip without trace": (dlq_skip_without_trace, "untraced", lambda log: None),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_every_tamper_is_named(log: Log, case: str) -> None:
    intact = await verify(log)
    assert intact.ok, intact.problem
    tamper, kind, where = CASES[case]
    await tamper(log)
    report = await verify(log)
    assert report.problem is not None, case
    assert report.problem.kind == kind, report.problem
    assert report.problem.seq == where(log), report.problem
    assert "chain intact" not in report.problem.message
