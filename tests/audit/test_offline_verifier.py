"""The auditor's verifier (issue 17): trusted keys from outside the evidence, an earlier copy
that the chain must extend, entries no checkpoint covers, and the standalone ``verify.py`` that
every export carries, run with nothing but Python and ``cryptography``."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cryptography
import httpx
import pytest
from sqlalchemy import select, text

from gateway.core.crypto import CheckpointSigner
from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import (
    TrustedKeys,
    checkpoint_message,
    entry_hash,
    export_chain,
    verify_database,
    verify_export,
)
from gateway.core.log.exchange_log import Crossing
from gateway.core.log.immutability import suspended
from gateway.core.log.offline import HASHED_FIELDS
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry
from tests.audit import build_log, signed_checkpoint
from tests.conftest import bearer, serving, started_gateway


async def write_and_seal(gateway: Gateway, count: int) -> None:
    for i in range(count):
        await gateway.record(Crossing(kind="attempt", operation="op", outcome="ok", detail=f"{i}"))
    await DeliveryService(gateway).seal_once()


async def test_keys_come_from_outside_the_evidence(gateway: Gateway, tmp_path: Path) -> None:
    await write_and_seal(gateway, 4)
    out = tmp_path / "export"
    await export_chain(gateway.db, out, gateway.public_key)
    kid, key = gateway.signer.key_id, gateway.public_key
    keys = tmp_path / "keys.txt"

    keys.write_text(f"# the province's published keys\n{kid} {key} 2020-01-01T00:00:00+00:00\n")
    assert verify_export(out, TrustedKeys.load(keys)).ok
    # a key whose validity ended before the checkpoints were signed does not vouch for them
    keys.write_text(f"{kid} {key} 2020-01-01T00:00:00+00:00 2021-01-01T00:00:00+00:00\n")
    report = verify_export(out, TrustedKeys.load(keys))
    assert report.problem is not None
    assert report.problem.kind == "checkpoint"
    # another key id: not trusted, whatever the export's public_key.txt says
    keys.write_text(f"other-key {key}\n")
    report = verify_export(out, TrustedKeys.load(keys))
    assert report.problem is not None
    assert "not a trusted key" in report.problem.message
    # a forger who re-signs with their own key and ships it in public_key.txt
    forger = CheckpointSigner.from_seed(kid, os.urandom(32))
    cps = [json.loads(line) for line in (out / "checkpoints.jsonl").read_text().splitlines()]
    for cp in cps:
        message = checkpoint_message(cp["seq"], cp["head_hash"], cp["created_at"])
        cp["signature"] = forger.sign(message)
    (out / "checkpoints.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cps))
    (out / "public_key.txt").write_text(forger.public_key_b64() + "\n")
    keys.write_text(f"{kid} {key}\n")
    report = verify_export(out, TrustedKeys.load(keys))
    assert report.problem is not None
    assert report.problem.kind == "checkpoint"


async def rewrite_with_the_stolen_key(gateway: Gateway) -> None:
    """The attacker holds the database owner's rights and the signing key: edits entry 2,
    re-hashes everything after it, signs new checkpoints."""
    cols = [getattr(ExchangeEntry, f) for f in HASHED_FIELDS]
    async with gateway.db.transaction() as session, suspended(session):
        await session.execute(text("UPDATE exchange_entries SET outcome = 'x' WHERE seq = 2"))
        rows = (
            await session.execute(
                select(ExchangeEntry.id, ExchangeEntry.seq, *cols).order_by(ExchangeEntry.seq)
            )
        ).all()
        prev = "0" * 64
        for row in rows:
            values = tuple(
                v.isoformat(timespec="microseconds") if hasattr(v, "isoformat") else v
                for v in row[2:]
            )
            digest = entry_hash(prev, values)
            await session.execute(
                text("UPDATE exchange_entries SET prev_hash = :p, entry_hash = :h WHERE id = :i"),
                {"p": prev, "h": digest, "i": row[0]},
            )
            prev = digest
        await session.execute(text("DELETE FROM checkpoints"))
        head = rows[-1][1]
        now = (await session.scalars(select(ExchangeEntry.finished_at))).first()
        assert now is not None
        session.add(signed_checkpoint(gateway, head, prev, now))


async def test_a_rewrite_with_the_stolen_key_is_caught_by_an_earlier_copy(
    gateway: Gateway, tmp_path: Path
) -> None:
    await write_and_seal(gateway, 5)
    held = tmp_path / "held-by-the-auditor"
    await export_chain(gateway.db, held, gateway.public_key)
    await write_and_seal(gateway, 2)
    assert (await verify_database(gateway.db, gateway.public_key, since=held)).ok

    await rewrite_with_the_stolen_key(gateway)
    # the signing key vouches for the rewrite...
    alone = await verify_database(gateway.db, gateway.public_key)
    assert alone.ok, alone.problem
    # ...but not against the copy the auditor held
    report = await verify_database(gateway.db, gateway.public_key, since=held)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("rewritten", 2)
    again = tmp_path / "now"
    await export_chain(gateway.db, again, gateway.public_key)
    offline = verify_export(again, TrustedKeys.single(gateway.public_key), since=held)
    assert offline.problem is not None
    assert offline.problem.kind == "rewritten"


async def test_checkpoints_deleted_and_signed_again_are_caught_by_an_earlier_copy(
    gateway: Gateway, tmp_path: Path
) -> None:
    """Every entry intact, but the checkpoints replaced by one the stolen key signs over the
    whole chain: the earlier copy holds a signed checkpoint that is gone."""
    await write_and_seal(gateway, 3)
    await write_and_seal(gateway, 2)
    held = tmp_path / "held"
    await export_chain(gateway.db, held, gateway.public_key)
    async with gateway.db.transaction() as session, suspended(session):
        await session.execute(text("DELETE FROM checkpoints"))
        head = await session.scalar(select(ExchangeEntry.entry_hash).where(ExchangeEntry.seq == 5))
        assert head is not None
        session.add(signed_checkpoint(gateway, 5, head))
    assert (await verify_database(gateway.db, gateway.public_key)).ok  # the key vouches...
    report = await verify_database(gateway.db, gateway.public_key, since=held)
    assert report.problem is not None  # ...not the copy the auditor held
    assert (report.problem.kind, report.problem.seq) == ("checkpoint", 3)
    again = tmp_path / "now"
    await export_chain(gateway.db, again, gateway.public_key, signer=gateway.signer)
    offline = verify_export(again, TrustedKeys.single(gateway.public_key), since=held)
    assert offline.problem is not None
    assert (offline.problem.kind, offline.problem.seq) == ("checkpoint", 3)


async def test_a_truncation_is_caught_by_an_earlier_copy(gateway: Gateway, tmp_path: Path) -> None:
    await write_and_seal(gateway, 6)
    held = tmp_path / "held"
    await export_chain(gateway.db, held, gateway.public_key)
    async with gateway.db.transaction() as session, suspended(session):
        await session.execute(text("DELETE FROM exchange_entries WHERE seq > 3"))
        await session.execute(text("DELETE FROM checkpoints"))
    report = await verify_database(gateway.db, gateway.public_key, since=held)
    assert report.problem is not None
    assert report.problem.kind in ("truncated", "uncovered")


async def test_entries_no_checkpoint_covers_are_named(gateway: Gateway, tmp_path: Path) -> None:
    await write_and_seal(gateway, 3)
    out = tmp_path / "export"
    await export_chain(gateway.db, out, gateway.public_key)
    lines = (out / "entries.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    extra = dict(last, seq=last["seq"] + 1, entry_id="appended", prev_hash=last["entry_hash"])
    values = [extra[f] for f in HASHED_FIELDS]
    extra["entry_hash"] = entry_hash(last["entry_hash"], values)
    (out / "entries.jsonl").write_text("\n".join([*lines, json.dumps(extra)]) + "\n")
    report = verify_export(out, TrustedKeys.single(gateway.public_key))
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("uncovered", 4)


def _alone(tmp_path: Path) -> Path:
    """A directory holding only ``cryptography`` and what it needs (cffi): the standalone
    verifier's whole world, beside the standard library."""
    world = tmp_path / "only-cryptography"
    world.mkdir()
    site = Path(cryptography.__file__).resolve().parents[1]
    for name in ("cryptography", "cffi"):
        (world / name).symlink_to(site / name)
    for backend in site.glob("_cffi_backend*"):
        (world / backend.name).symlink_to(backend)
    return world


def _run_alone(world: Path, script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -I: no user site, no PYTHON* variables, no script directory magic; -S: no site-packages
    code = (
        "import runpy, sys; sys.path.append(sys.argv[1]); sys.argv = sys.argv[2:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(world), str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_standalone_verifier_needs_only_cryptography(
    gateway: Gateway, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    await build_log(gateway, api, dossiers=2)
    await DeliveryService(gateway).seal_once()
    out = tmp_path / "export"
    await export_chain(gateway.db, out, gateway.public_key)
    script = out / "verify.py"
    assert "import gateway" not in script.read_text()
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{gateway.signer.key_id} {gateway.public_key}\n")
    world = _alone(tmp_path)

    intact = _run_alone(world, script, str(out), "--trusted-keys", str(keys))
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("chain intact:")

    lines = (out / "entries.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[3])
    record["detail"] = "edited"
    lines[3] = json.dumps(record, ensure_ascii=False)
    (out / "entries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = _run_alone(world, script, str(out), "--trusted-keys", str(keys), "--json")
    assert broken.returncode == 1, broken.stderr
    problem = json.loads(broken.stdout)["problem"]
    assert (problem["kind"], problem["seq"], problem["entry_id"]) == (
        "altered",
        4,
        record["entry_id"],
    )
    # and it really runs without the gateway's packages
    probe = _run_alone(world, script, "--help")
    assert probe.returncode == 0
    missing = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import sqlalchemy"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode != 0


@pytest.mark.parametrize(
    ("line", "message"),
    [("onlyone", "<key id>"), ("a b c d e", "<key id>"), ("a b not-a-time", "isoformat")],
)
def test_a_malformed_keys_file_is_refused(tmp_path: Path, line: str, message: str) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(line + "\n")
    with pytest.raises(ValueError, match=message):
        TrustedKeys.load(keys)


async def test_an_export_and_a_verification_under_live_traffic_hold(
    gateway: Gateway, tmp_path: Path
) -> None:
    """Entries and checkpoints keep coming while the auditor exports and verifies: each sees
    one consistent picture (the checkpoints first, the entries they cover)."""
    await write_and_seal(gateway, 3)
    stop = asyncio.Event()

    async def traffic() -> int:
        rounds = 0
        while not stop.is_set():
            await write_and_seal(gateway, 2)
            rounds += 1
            await asyncio.sleep(0)
        return rounds

    running = asyncio.create_task(traffic())
    try:
        reports = []
        for n in range(5):
            out = tmp_path / f"export-{n}"
            await export_chain(gateway.db, out, gateway.public_key)
            reports.append(verify_export(out, TrustedKeys.single(gateway.public_key)))
            reports.append(await verify_database(gateway.db, gateway.public_key))
    finally:
        stop.set()
        rounds = await running
    assert rounds >= 1
    assert all(r.ok for r in reports), [r.problem for r in reports if not r.ok]


async def test_sealed_rows_beyond_the_last_checkpoint_are_named(gateway: Gateway) -> None:
    await write_and_seal(gateway, 3)
    async with gateway.db.transaction() as session, suspended(session):
        await session.execute(text("DELETE FROM checkpoints"))
    report = await verify_database(gateway.db, gateway.public_key)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("uncovered", 1)


async def test_the_witness_holds_every_signed_head_and_catches_a_rewrite(
    database_url: str, state_store: Any, sandbox_app: Any, tmp_path: Path
) -> None:
    witness = tmp_path / "witness"
    gw = await started_gateway(
        database_url, state_store, sandbox_app, audit={"witness_dir": witness}
    )
    try:
        await write_and_seal(gw, 3)
        await write_and_seal(gw, 2)
        heads = [json.loads(line) for line in (witness / "heads.jsonl").read_text().splitlines()]
        assert [h["seq"] for h in heads] == [3, 5]
        async with serving(gw) as api:
            latest = await api.get("/v1/audit/head", headers=await bearer(gw, "audit:read"))
        assert latest.json() == heads[-1]
        held = tmp_path / "auditor-copy.jsonl"  # the auditor copies the witness away
        held.write_text((witness / "heads.jsonl").read_text())
        assert (await verify_database(gw.db, gw.public_key, since=held)).ok

        await rewrite_with_the_stolen_key(gw)
        report = await verify_database(gw.db, gw.public_key, since=held)
        assert report.problem is not None
        assert (report.problem.kind, report.problem.seq) == ("rewritten", 3)
        offline = tmp_path / "export"
        await export_chain(gw.db, offline, gw.public_key)
        caught = verify_export(offline, TrustedKeys.single(gw.public_key), since=witness)
        assert caught.problem is not None
        assert caught.problem.kind == "rewritten"
    finally:
        await gw.aclose()


async def test_a_signed_manifest_vouches_for_the_export(gateway: Gateway, tmp_path: Path) -> None:
    await write_and_seal(gateway, 4)
    await write_and_seal(gateway, 3)
    out = tmp_path / "export"
    assert await export_chain(gateway.db, out, gateway.public_key, signer=gateway.signer) == 7
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["entries"], manifest["first_seq"], manifest["last_seq"]) == (7, 1, 7)
    assert manifest["first_prev_hash"] == "0" * 64
    assert manifest["checkpoint_key_ids"] == [gateway.signer.key_id]
    trusted = TrustedKeys.single(gateway.public_key)
    report = verify_export(out, trusted)
    assert report.ok, report.problem
    assert report.extra["manifest"] is True

    # an export cut short, consistently (the last round's entries and its checkpoint gone):
    # the chain alone looks whole; the manifest says what was exported
    entries = (out / "entries.jsonl").read_text().splitlines(keepends=True)
    checkpoints = (out / "checkpoints.jsonl").read_text().splitlines(keepends=True)
    (out / "entries.jsonl").write_text("".join(entries[:4]))
    (out / "checkpoints.jsonl").write_text("".join(checkpoints[:1]))
    cut = verify_export(out, trusted)
    assert cut.problem is not None
    assert cut.problem.kind == "manifest"
    assert "digest differs" in cut.problem.message

    # a manifest rewritten to match, but not signed by the trusted key
    manifest.update(entries=4, last_seq=4)
    manifest["files"] = {
        name: hashlib.sha256((out / name).read_bytes()).hexdigest()
        for name in ("entries.jsonl", "checkpoints.jsonl")
    }
    manifest["last_entry_hash"] = json.loads(entries[3])["entry_hash"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    forged = verify_export(out, trusted)
    assert forged.problem is not None
    assert forged.problem.message == "the manifest is not signed by a trusted key"


async def test_monthly_archives_verify_alone_and_link(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.core.log import audit

    vn = datetime.timezone(datetime.timedelta(hours=7))
    for when, count in [
        (datetime.datetime(2026, 10, 15, 9, tzinfo=vn), 3),
        (datetime.datetime(2026, 11, 1, 0, 30, tzinfo=vn), 2),  # Nov. 1 in Việt Nam
        (datetime.datetime(2026, 11, 20, 9, tzinfo=vn), 2),
        (datetime.datetime(2026, 12, 2, 9, tzinfo=vn), 1),
    ]:
        monkeypatch.setattr(audit, "utcnow", lambda when=when: when.astimezone(datetime.UTC))
        await write_and_seal(gateway, count)
    trusted = TrustedKeys.single(gateway.public_key)
    archives = {}
    for month in ("2026-10", "2026-11", "2026-12"):
        out = tmp_path / month
        archives[month] = await export_chain(
            gateway.db, out, gateway.public_key, signer=gateway.signer, month=month
        )
        report = verify_export(out, trusted)
        assert report.ok, (month, report.problem)
    assert archives == {"2026-10": 3, "2026-11": 4, "2026-12": 1}
    november = verify_export(tmp_path / "2026-11", trusted)
    assert (november.extra["opening_seq"], november.head_seq) == (3, 7)
    manifest = json.loads((tmp_path / "2026-11" / "manifest.json").read_text())
    assert (manifest["month"], manifest["opening_seq"], manifest["first_seq"]) == ("2026-11", 3, 4)
    # linked: November opens on the checkpoint that closes October
    october_last = (tmp_path / "2026-10" / "checkpoints.jsonl").read_text().splitlines()[-1]
    november_first = (tmp_path / "2026-11" / "checkpoints.jsonl").read_text().splitlines()[0]
    assert october_last == november_first

    # without its opening checkpoint, a month proves nothing about where it starts
    cps = (tmp_path / "2026-11" / "checkpoints.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "2026-11" / "checkpoints.jsonl").write_text("".join(cps[1:]))
    cut = verify_export(tmp_path / "2026-11", trusted)
    assert cut.problem is not None
    assert cut.problem.kind == "missing"

    # the standalone verifier, with nothing but cryptography, on October's archive: intact,
    # then an edited line named
    world = _alone(tmp_path)
    october = tmp_path / "2026-10"
    script = october / "verify.py"
    intact = _run_alone(world, script, str(october), "--public-key", gateway.public_key)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.startswith("chain intact: 3 entries")
    lines = (october / "entries.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[1])
    record["outcome"] = "edited"
    lines[1] = json.dumps(record, ensure_ascii=False)
    (october / "entries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = _run_alone(world, script, str(october), "--public-key", gateway.public_key, "--json")
    assert broken.returncode == 1
    problem = json.loads(broken.stdout)["problem"]
    assert (problem["kind"], problem["seq"], problem["entry_id"]) == (
        "altered",
        2,
        record["entry_id"],
    )


async def test_a_rewrite_with_the_signing_key_alone_fails_the_macs(gateway: Gateway) -> None:
    """The signing key is not the data key: a chain re-hashed and re-signed consistently still
    carries MACs its rewriter could not make."""
    await write_and_seal(gateway, 5)
    await rewrite_with_the_stolen_key(gateway)
    assert (await verify_database(gateway.db, gateway.public_key)).ok  # the key vouches...
    report = await verify_database(
        gateway.db, gateway.public_key, authenticator=gateway.cipher.entries
    )
    assert report.problem is not None  # ...the MACs do not
    assert (report.problem.kind, report.problem.seq) == ("forged", 2)
