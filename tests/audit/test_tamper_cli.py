"""Acceptance: tamper with the stored log (edit, delete, swap, re-hash, forge) and see
``lgsp audit verify`` name each problem, with exit code 1, in text and in ``--json``.

Each test has its own sealed log, built through the API and the delivery workers (once per
backend, then put back row for row in each test's own emptied database), on a SQLite file and
on PostgreSQL (the ``gateway`` fixture's two backends), then plays the attacker with plain SQL
and runs the real command against the same database.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text

from gateway.cli import main
from gateway.core.crypto import CheckpointSigner
from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import (
    HASHED_FIELDS,
    checkpoint_message,
    entry_hash,
    verify_database,
)
from gateway.core.log.immutability import suspended
from gateway.core.runtime import Gateway
from gateway.core.store.db import Checkpoint, ExchangeEntry
from tests.audit import Tables, build_log, put_tables, take_tables

pytestmark = pytest.mark.usefixtures("restore_logging")


@dataclass
class SealedLog:
    #: seq -> entry_id, the whole chain
    entries: dict[int, str]
    checkpoints: list[int]

    @property
    def head(self) -> int:
        return max(self.entries)


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[SealedLog, Tables]]:
    """The sealed log of each backend, built by the first test that needs it."""
    return {}


@pytest.fixture
async def sealed(
    backend: str,
    gateway: Gateway,
    api: httpx.AsyncClient,
    built: dict[str, tuple[SealedLog, Tables]],
) -> SealedLog:
    """At least 30 sealed entries in two sealing rounds (two signed checkpoints): built through
    the API and the workers once per backend, then put back row for row in each test's own
    emptied database."""
    if (known := built.get(backend)) is not None:
        log, tables = known
        await put_tables(gateway, tables)
        return SealedLog(dict(log.entries), list(log.checkpoints))
    log = await _build_sealed(gateway, api)
    built[backend] = (log, await take_tables(gateway))
    return log


async def _build_sealed(gateway: Gateway, api: httpx.AsyncClient) -> SealedLog:
    service = DeliveryService(gateway)
    await build_log(gateway, api, dossiers=5)
    await service.seal_once()
    await build_log(gateway, api, dossiers=5, first=6, refusal=False)
    await service.seal_once()
    async with gateway.db.sessions() as session:
        rows = (await session.execute(select(ExchangeEntry.seq, ExchangeEntry.entry_id))).all()
        cps = (await session.scalars(select(Checkpoint.seq).order_by(Checkpoint.seq))).all()
    entries = {int(seq): str(entry_id) for seq, entry_id in rows}
    assert None not in entries
    assert len(entries) >= 30
    assert len(cps) == 2
    assert cps[-1] == max(entries)
    assert cps[0] > 8  # the cases below tamper inside the first sealing round
    return SealedLog(entries, list(cps))


async def lgsp(gateway: Gateway, *args: str) -> Result:
    """Run ``lgsp`` against the gateway's database, as an operator would."""
    env = {
        "LGSP_DATABASE_URL": gateway.settings.database_url,
        "LGSP_ENVIRONMENT": "test",
        "LGSP_LOG_JSON": "false",
    }
    runner = CliRunner()
    # the command runs its own event loop (asyncio.run): give it a thread of its own
    return await asyncio.to_thread(runner.invoke, main, list(args), env=env)


async def verify(gateway: Gateway) -> tuple[Result, dict[str, Any]]:
    """``lgsp audit verify`` in text, then in ``--json``; both must agree on the exit code."""
    result = await lgsp(gateway, "audit", "verify")
    as_json = await lgsp(gateway, "audit", "verify", "--json")
    assert as_json.exit_code == result.exit_code, as_json.output
    return result, json.loads(as_json.stdout)


async def sql(gateway: Gateway, statement: str, **params: Any) -> int:
    async with gateway.db.transaction() as session, suspended(session):
        result = await session.execute(text(statement), params)
        return int(result.rowcount)  # type: ignore[attr-defined]


async def assert_broken(
    gateway: Gateway, kind: str, seq: int, entry_id: str | None, *phrases: str
) -> dict[str, Any]:
    result, report = await verify(gateway)
    assert result.exit_code == 1, result.output
    assert f"CHAIN BROKEN [{kind}] at seq {seq}:" in result.output
    assert "chain intact" not in result.output
    for phrase in phrases:
        assert phrase in result.output
    if entry_id is not None:
        assert entry_id in result.output
    assert report["ok"] is False
    assert report["problem"]["kind"] == kind
    assert report["problem"]["seq"] == seq
    assert report["problem"]["entry_id"] == entry_id
    return report


async def test_intact_chain_verifies(gateway: Gateway, sealed: SealedLog) -> None:
    result, report = await verify(gateway)
    assert result.exit_code == 0, result.output
    assert f"chain intact: {len(sealed.entries)} entries, 2 signed checkpoints" in result.output
    assert report["ok"] is True
    assert report["problem"] is None
    assert (report["entries"], report["head_seq"], report["unsealed"]) == (
        len(sealed.entries),
        sealed.head,
        0,
    )


async def test_edited_row_is_named_altered(gateway: Gateway, sealed: SealedLog) -> None:
    seq = sealed.checkpoints[0] // 2
    entry_id = sealed.entries[seq]
    outcome = await _scalar(gateway, "SELECT outcome FROM exchange_entries WHERE seq = :s", seq)
    detail = await _scalar(gateway, "SELECT detail FROM exchange_entries WHERE seq = :s", seq)
    assert await sql(
        gateway, "UPDATE exchange_entries SET outcome = 'tampered' WHERE seq = :s", s=seq
    )
    report = await assert_broken(gateway, "altered", seq, entry_id, "altered")
    assert report["entries"] == seq - 1

    # the same on another field, then put the row back: intact again
    restore = "UPDATE exchange_entries SET outcome = :o, detail = :d WHERE seq = :s"
    await sql(gateway, restore, o=outcome, d="nothing happened", s=seq)
    await assert_broken(gateway, "altered", seq, entry_id)
    await sql(gateway, restore, o=outcome, d=detail, s=seq)
    result, report = await verify(gateway)
    assert result.exit_code == 0, result.output
    assert report["ok"] is True


async def test_deleted_row_is_named_missing(gateway: Gateway, sealed: SealedLog) -> None:
    seq = sealed.checkpoints[0] // 2
    assert await sql(gateway, "DELETE FROM exchange_entries WHERE seq = :s", s=seq)
    report = await assert_broken(
        gateway, "missing", seq, None, f"entries seq {seq}..{seq} are missing (deleted)"
    )
    assert report["entries"] == seq - 1


async def test_swapped_rows_are_named_reordered(gateway: Gateway, sealed: SealedLog) -> None:
    seq = sealed.checkpoints[0] // 2
    # through a temporary seq: the column is unique
    await sql(gateway, "UPDATE exchange_entries SET seq = -1 WHERE seq = :s", s=seq)
    await sql(gateway, "UPDATE exchange_entries SET seq = :a WHERE seq = :b", a=seq, b=seq + 1)
    await sql(gateway, "UPDATE exchange_entries SET seq = :b WHERE seq = -1", b=seq + 1)
    # the entry now at ``seq`` is the one that was at ``seq + 1``
    await assert_broken(
        gateway,
        "reordered",
        seq,
        sealed.entries[seq + 1],
        f"was chained after the entry now at seq {seq + 1}",
    )


async def test_deleted_tail_is_named_truncated(gateway: Gateway, sealed: SealedLog) -> None:
    head = sealed.head
    assert await sql(gateway, "DELETE FROM exchange_entries WHERE seq > :s", s=head - 3) == 3
    report = await assert_broken(
        gateway,
        "truncated",
        head - 2,
        None,
        f"entries seq {head - 2}..{head} are missing",
        f"checkpoint covers up to seq {head}",
    )
    assert report["entries"] == head - 3


async def test_rehashed_row_still_breaks_the_next_link(gateway: Gateway, sealed: SealedLog) -> None:
    seq = sealed.checkpoints[0] // 2
    await sql(gateway, "UPDATE exchange_entries SET outcome = 'rejected' WHERE seq = :s", s=seq)
    await _rehash(gateway, seq, seq)  # the attacker knows the hash function
    # the operators' command has the data key: the edited row itself fails its MAC
    await assert_broken(gateway, "forged", seq, sealed.entries[seq], "fails its MAC")
    # without it (an export, or the MACs left aside), the chain names the next link
    report = await verify_database(gateway.db, gateway.public_key)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("broken-link", seq + 1)
    assert f"does not link to entry seq {seq}" in report.problem.message


async def test_rehashed_rest_of_chain_is_caught_by_the_checkpoint(
    gateway: Gateway, sealed: SealedLog
) -> None:
    seq = sealed.checkpoints[0] // 2
    await sql(gateway, "UPDATE exchange_entries SET outcome = 'rejected' WHERE seq = :s", s=seq)
    await _rehash(gateway, seq, sealed.head)  # every link after it made consistent again
    await assert_broken(gateway, "forged", seq, sealed.entries[seq], "fails its MAC")
    report = await verify_database(gateway.db, gateway.public_key)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("checkpoint", sealed.checkpoints[0])
    assert "does not match the chain" in report.problem.message


async def test_forged_checkpoint_signature_is_detected(gateway: Gateway, sealed: SealedLog) -> None:
    cp = sealed.checkpoints[0]
    head_hash = await _scalar(gateway, "SELECT head_hash FROM checkpoints WHERE seq = :s", cp)
    forger = CheckpointSigner.from_seed(gateway.signer.key_id, os.urandom(32))
    await sql(
        gateway,
        "UPDATE checkpoints SET signature = :sig, public_key = :pk WHERE seq = :s",
        sig=forger.sign(checkpoint_message(cp, head_hash)),
        pk=forger.public_key_b64(),
        s=cp,
    )
    await assert_broken(gateway, "checkpoint", cp, None, "not signed by the trusted key")
    # with the forger's key as the trusted one, the same row passes: the key is the anchor
    trusting = await lgsp(gateway, "audit", "verify", "--public-key", forger.public_key_b64())
    assert trusting.exit_code == 1
    assert f"[checkpoint] at seq {sealed.checkpoints[1]}" in trusting.output


async def _scalar(gateway: Gateway, statement: str, seq: int) -> Any:
    async with gateway.db.sessions() as session:
        return (await session.execute(text(statement), {"s": seq})).scalar_one()


async def _rehash(gateway: Gateway, first: int, last: int) -> None:
    """Recompute entry hashes (and the links between them) for seq ``first..last``."""
    cols = [getattr(ExchangeEntry, f) for f in HASHED_FIELDS]
    async with gateway.db.transaction() as session, suspended(session):
        rows = (
            await session.execute(
                select(ExchangeEntry.id, ExchangeEntry.prev_hash, *cols)
                .where(ExchangeEntry.seq.between(first, last))
                .order_by(ExchangeEntry.seq)
            )
        ).all()
        prev = rows[0][1]
        for row in rows:
            digest = entry_hash(prev, row[2:])
            await session.execute(
                text("UPDATE exchange_entries SET prev_hash = :p, entry_hash = :h WHERE id = :i"),
                {"p": prev, "h": digest, "i": row[0]},
            )
            prev = digest
