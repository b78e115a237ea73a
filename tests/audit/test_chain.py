"""The hash chain over the exchange log: sealing, checkpoints, verification, export, bodies."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text, update

from gateway.core.crypto import CheckpointSigner
from gateway.core.delivery.workers import DeliveryService
from gateway.core.errors import ConfigurationError
from gateway.core.log.audit import (
    TrustedKeys,
    checkpoint_message,
    checkpoint_time,
    export_chain,
    seal_pending,
    verify_database,
    verify_export,
)
from gateway.core.log.exchange_log import Crossing
from gateway.core.log.immutability import suspended
from gateway.core.log.offline import verify_signature
from gateway.core.runtime import Gateway
from gateway.core.store.db import Checkpoint, ExchangeEntry
from tests.audit import build_log, count_entries


async def _seal(gateway: Gateway) -> int:
    return await DeliveryService(gateway).seal_once()


async def _chain(gateway: Gateway) -> list[ExchangeEntry]:
    async with gateway.db.sessions() as session:
        stmt = select(ExchangeEntry).where(ExchangeEntry.seq.is_not(None))
        return list((await session.scalars(stmt.order_by(ExchangeEntry.seq))).all())


async def test_realistic_log_seals_into_an_intact_chain(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    built = await build_log(gateway, api, dossiers=3)
    rows = await count_entries(gateway)
    kinds = {e.kind for e in await _all_entries(gateway)}
    assert {"inbound", "attempt", "refusal"} <= kinds
    assert await count_entries(gateway, sealed=False) == rows

    assert await _seal(gateway) == rows
    report = await verify_database(gateway.db, gateway.public_key)
    assert report.ok, report.problem
    assert report.entries == rows
    assert report.unsealed == 0
    assert report.head_seq == rows
    assert report.checkpoints >= 1

    chain = await _chain(gateway)
    assert [e.seq for e in chain] == list(range(1, rows + 1))
    assert chain[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(chain))
    assert report.head_hash == chain[-1].entry_hash
    # sealed in id order: the order the entries were written
    ids = [e.id for e in chain]
    assert ids == sorted(ids)
    assert set(built.refusals) <= {e.entry_id for e in chain}


async def _all_entries(gateway: Gateway) -> list[ExchangeEntry]:
    async with gateway.db.sessions() as session:
        return list((await session.scalars(select(ExchangeEntry))).all())


async def test_entries_after_a_seal_stay_unsealed_until_the_next(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    await build_log(gateway, api, dossiers=1, refusal=False)
    first = await _seal(gateway)
    assert first > 0

    for i in range(3):
        await gateway.record(
            Crossing(kind="callback", operation=f"late-{i}", outcome="ok", connector="dvcqg")
        )
    report = await verify_database(gateway.db, gateway.public_key)
    assert report.ok, report.problem
    assert report.entries == first
    assert report.unsealed == 3

    assert await _seal(gateway) == 3
    report = await verify_database(gateway.db, gateway.public_key)
    assert report.ok, report.problem
    assert (report.entries, report.unsealed, report.head_seq) == (first + 3, 0, first + 3)
    # idempotent: nothing left to seal, and no new checkpoint for an empty round
    async with gateway.db.sessions() as session:
        before = len((await session.scalars(select(Checkpoint))).all())
    assert await _seal(gateway) == 0
    assert await seal_pending(gateway.db, gateway.signer) == 0
    async with gateway.db.sessions() as session:
        assert len((await session.scalars(select(Checkpoint))).all()) == before


async def test_concurrent_sealers_build_one_gapless_chain(gateway: Gateway) -> None:
    total = 240
    async with gateway.db.transaction() as session:
        for i in range(total):
            gateway.log.append(
                session,
                Crossing(
                    kind="attempt",
                    operation="sync_dossier",
                    outcome="ok" if i % 5 else "retry",
                    connector="dvcqg",
                    request=f"body {i}".encode(),
                ),
            )
    sealed = 0
    rounds = 0
    while sealed < total:
        rounds += 1
        assert rounds < 100, "sealers made no progress"
        results = await asyncio.gather(
            *(seal_pending(gateway.db, gateway.signer, batch=17) for _ in range(8))
        )
        sealed += sum(results)
    assert sealed == total

    chain = await _chain(gateway)
    seqs = [e.seq for e in chain]
    assert seqs == list(range(1, total + 1))
    assert len({e.entry_id for e in chain}) == total
    # the chain follows insertion order: no sealer interleaved its rows with another's
    ids = [e.id for e in chain]
    assert ids == sorted(ids)
    report = await verify_database(gateway.db, gateway.public_key)
    assert report.ok, report.problem
    assert (report.entries, report.unsealed) == (total, 0)
    async with gateway.db.sessions() as session:
        cps = (await session.scalars(select(Checkpoint))).all()
    assert len({c.seq for c in cps}) == len(cps) >= total // 17


async def test_checkpoints_are_signed_by_the_gateway_key(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    await build_log(gateway, api, dossiers=1)
    await _seal(gateway)
    await build_log(gateway, api, dossiers=1, first=2, refusal=False)
    await _seal(gateway)

    heads = {int(e.seq or 0): e.entry_hash for e in await _chain(gateway)}
    async with gateway.db.sessions() as session:
        cps = (await session.scalars(select(Checkpoint).order_by(Checkpoint.seq))).all()
    assert len(cps) == 2
    assert cps[-1].seq == max(heads)
    for cp in cps:
        assert cp.head_hash == heads[cp.seq]
        assert cp.key_id == gateway.signer.key_id
        assert cp.public_key == gateway.public_key
        signed_at = checkpoint_time(cp.created_at)
        assert verify_signature(
            gateway.public_key, checkpoint_message(cp.seq, cp.head_hash, signed_at), cp.signature
        )
        # the signature binds the position and the time too
        assert not verify_signature(
            gateway.public_key,
            checkpoint_message(cp.seq + 1, cp.head_hash, signed_at),
            cp.signature,
        )
        assert not verify_signature(
            gateway.public_key,
            checkpoint_message(cp.seq, cp.head_hash, signed_at.replace("20", "19", 1)),
            cp.signature,
        )

    stranger = CheckpointSigner.from_seed("other", os.urandom(32)).public_key_b64()
    report = await verify_database(gateway.db, stranger)
    assert not report.ok
    assert report.problem is not None
    assert report.problem.kind == "checkpoint"
    assert "not signed by the trusted key" in report.problem.message
    assert report.problem.seq == cps[0].seq


async def test_export_verifies_offline_and_an_edited_line_is_named(
    gateway: Gateway, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    await build_log(gateway, api, dossiers=2)
    rows = await _seal(gateway)
    out = tmp_path / "export"
    assert await export_chain(gateway.db, out, gateway.public_key) == rows
    assert {p.name for p in out.iterdir()} == {
        "entries.jsonl",
        "checkpoints.jsonl",
        "anchors.jsonl",
        "public_key.txt",
        "verify.py",
    }
    trusted = TrustedKeys.single(gateway.public_key)
    # the export's own key proves nothing: without a trusted key, never "intact"
    untrusted = verify_export(out, None)
    assert untrusted.problem is not None
    assert untrusted.problem.kind == "untrusted-key"
    report = verify_export(out, trusted)
    assert report.ok, report.problem
    assert (report.entries, report.head_seq) == (rows, rows)
    assert report.checkpoints >= 1
    # the bodies leave only as ciphertext
    assert b"Nguy\xe1\xbb\x85n" not in (out / "entries.jsonl").read_bytes()

    lines = (out / "entries.jsonl").read_text(encoding="utf-8").splitlines()
    target = len(lines) // 2
    record = json.loads(lines[target])
    record["outcome"] = "delivered" if record["outcome"] != "delivered" else "failed"
    lines[target] = json.dumps(record, ensure_ascii=False)
    (out / "entries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = verify_export(out, trusted)
    assert not report.ok
    assert report.problem is not None
    assert report.problem.kind == "altered"
    assert report.problem.seq == record["seq"] == target + 1
    assert report.problem.entry_id == record["entry_id"]
    assert report.entries == target


async def test_hash_covers_the_ciphertexts(gateway: Gateway, api: httpx.AsyncClient) -> None:
    await build_log(gateway, api, dossiers=2)
    await _seal(gateway)
    victim = next(e for e in await _chain(gateway) if e.request_body and e.seq and e.seq > 1)
    assert victim.request_body is not None
    flipped = bytearray(victim.request_body)
    flipped[-1] ^= 0x01
    async with gateway.db.transaction() as session, suspended(session):
        await session.execute(
            update(ExchangeEntry)
            .where(ExchangeEntry.id == victim.id)
            .values(request_body=bytes(flipped))
        )
    report = await verify_database(gateway.db, gateway.public_key)
    assert not report.ok
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("altered", victim.seq)
    assert report.problem.entry_id == victim.entry_id


async def test_bodies_decrypt_only_in_their_own_row(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    built = await build_log(gateway, api, dossiers=2, steps=False, refusal=False)
    entries = {e.entry_id: e for e in await _all_entries(gateway)}
    (first_id, first_raw), (second_id, second_raw) = built.sent.items()
    first, second = entries[first_id], entries[second_id]
    assert first.key_id == gateway.cipher.key_id
    assert first.request_body is not None
    assert first_raw not in first.request_body
    assert gateway.log.open_body(first, "request") == first_raw
    assert gateway.log.open_body(second, "request") == second_raw
    assert gateway.log.open_body(first, "response") is None

    # an insider moves a ciphertext to another row: it no longer decrypts there
    async with gateway.db.transaction() as session, suspended(session):
        await session.execute(
            text("UPDATE exchange_entries SET request_body = :body WHERE id = :id"),
            {"body": first.request_body, "id": second.id},
        )
    async with gateway.db.sessions() as session:
        moved = await session.get(ExchangeEntry, second.id)
    assert moved is not None
    assert moved.request_body == first.request_body
    with pytest.raises(ConfigurationError, match="failed authentication"):
        gateway.log.open_body(moved, "request")
    # nor as the other body of its own row
    first.response_body = first.request_body
    with pytest.raises(ConfigurationError):
        gateway.log.open_body(first, "response")
