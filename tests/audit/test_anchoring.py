"""External anchoring of the exchange log (issue 17): RFC 3161 timestamps over the signed
checkpoints, from the sandbox's timestamp authority (the eSign simulator's ``/tsa``).

The timestamp authority's clock and the gateway's are one controllable clock here: an outage of
eleven minutes takes no time. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select, text

from gateway.core.crypto import CheckpointSigner
from gateway.core.delivery.workers import DeliveryService
from gateway.core.log import audit
from gateway.core.log.anchoring import anchoring_status
from gateway.core.log.audit import (
    TrustedKeys,
    checkpoint_message,
    checkpoint_time,
    entry_hash,
    export_chain,
    verify_database,
    verify_export,
)
from gateway.core.log.exchange_log import Crossing
from gateway.core.log.immutability import suspended
from gateway.core.log.offline import TokenError, TsaTrust
from gateway.core.metrics import ANCHOR_ROUNDS
from gateway.core.runtime import ANCHOR_TRANSPORT, Gateway
from gateway.core.settings import AuditSettings
from gateway.core.store.db import Checkpoint, CheckpointAnchor, ExchangeEntry
from gateway.core.store.state import StateStore
from tests.audit import sandbox_tsa_root
from tests.audit.test_offline_verifier import _alone, _run_alone
from tests.conftest import bearer, serving, started_gateway
from tests.factories import dossier

T0 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _esign_simulator(sandbox_app: Any) -> Any:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/esign":
            return route.app.state.sim
    raise LookupError("the eSign simulator is not mounted")


@pytest.fixture
def clock(sandbox_app: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """One clock for the gateway's checkpoints and the authority's timestamps."""
    clock = Clock()
    monkeypatch.setattr(audit, "utcnow", clock)
    _esign_simulator(sandbox_app).clock = clock
    return clock


@pytest.fixture
async def tsa_pem(sandbox_app: Any, tmp_path: Path) -> Path:
    """The authority's trust anchor, fetched as an operator would (the sandbox's root)."""
    return await sandbox_tsa_root(sandbox_app, tmp_path)


async def gateway_trusting(
    database_url: str, state_store: StateStore, sandbox_app: Any, pem: Path
) -> Gateway:
    """A gateway anchoring with the sandbox's authority, trusting the certificates in ``pem``."""
    return await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        transports={ANCHOR_TRANSPORT: httpx.ASGITransport(app=sandbox_app)},
        audit=AuditSettings(tsa_url="http://sandbox/esign/tsa", tsa_certs=pem),
    )


@pytest.fixture
async def anchored(
    database_url: str, state_store: StateStore, sandbox_app: Any, tsa_pem: Path, clock: Clock
) -> AsyncIterator[Gateway]:
    gw = await gateway_trusting(database_url, state_store, sandbox_app, tsa_pem)
    yield gw
    await gw.aclose()


async def tsa_down(sandbox_app: Any, down: bool) -> None:
    _esign_simulator(sandbox_app).faults.tsa_down = down


async def traffic(gw: Gateway, count: int = 3) -> None:
    for i in range(count):
        await gw.record(Crossing(kind="attempt", operation="op", outcome="ok", detail=f"{i}"))


async def seal_and_anchor(gw: Gateway) -> int | None:
    service = DeliveryService(gw)
    await service.seal_once()
    return await service.anchor_once(force=True)


async def check(gw: Gateway, now: datetime, *, macs: bool = True, **kwargs: Any) -> Any:
    """``lgsp audit verify`` on the database; without ``macs``, as if the data key were not
    there to check the entries' MACs (so that the anchors alone must catch a rewrite)."""
    assert gw.anchorer is not None
    return await verify_database(
        gw.db,
        gw.public_key,
        authenticator=gw.cipher.entries if macs else None,
        tsa=gw.anchorer.trust,
        now=now,
        **kwargs,
    )


async def test_the_newest_checkpoint_is_timestamped_and_verified(
    anchored: Gateway, clock: Clock
) -> None:
    await traffic(anchored)
    first = await seal_and_anchor(anchored)
    clock.advance(minutes=1)
    await traffic(anchored)
    second = await seal_and_anchor(anchored)
    assert first is not None
    assert second is not None
    assert second > first
    # nothing new: no second timestamp of the same checkpoint
    assert await DeliveryService(anchored).anchor_once(force=True) is None
    report = await check(anchored, clock.now)
    assert report.ok, report.problem
    info = report.extra["anchoring"]
    assert info["checked"]
    assert info["anchors"] == 2
    assert info["last_anchored_seq"] == second == report.head_seq
    assert info["gaps"] == []
    assert info["unanchored_checkpoints"] == 0
    assert "LGSP Sandbox TSA" in info["authority"]
    # the row holds the authority's own answer: its time is the authority's clock
    async with anchored.db.reading() as session:
        rows = (await session.scalars(select(CheckpointAnchor))).all()
    assert [r.gen_time for r in rows] == [T0, T0 + timedelta(minutes=1)]


async def test_an_outage_of_the_authority_queues_the_anchoring_and_shows_the_gap(
    anchored: Gateway, sandbox_app: Any, clock: Clock
) -> None:
    """Must-show: the exchange goes on during the outage, anchoring catches up when the
    authority is back, and verify reports the gap while it lasts (and after, as a gap)."""
    await traffic(anchored)
    before = await seal_and_anchor(anchored)
    await tsa_down(sandbox_app, True)
    failed = ANCHOR_ROUNDS.labels("failed")._value.get()

    clock.advance(minutes=1)
    async with serving(anchored) as api:  # the case system is still served
        headers = await bearer(anchored, "dvcqg:sync", "ops:read")
        accepted = await api.post("/v1/dvcqg/dossiers", json=dossier(1), headers=headers)
        assert accepted.status_code == 202, accepted.text
        assert await seal_and_anchor(anchored) is None
        first_waiting = await _newest_checkpoint(anchored)
        clock.advance(minutes=4)
        await traffic(anchored)
        assert await seal_and_anchor(anchored) is None
        assert ANCHOR_ROUNDS.labels("failed")._value.get() == failed + 2

        # visible to the ops team
        view = (await api.get("/v1/connectors", headers=headers)).json()["audit"]["anchoring"]
        assert view["configured"] is True
        assert view["last_anchored_seq"] == before
        assert view["unanchored_checkpoints"] == 2
        assert view["unanchored_since"] == (T0 + timedelta(minutes=1)).isoformat()
        metrics = (await api.get("/metrics")).text
    assert "lgsp_log_unanchored_checkpoints 2.0" in metrics

    # verify during the outage: the gap is named; intact while it is short...
    during = await check(anchored, clock.now + timedelta(minutes=2))
    assert during.ok, during.problem
    gaps = during.extra["anchoring"]["gaps"]
    assert [(g["from_seq"], g["anchored_at"]) for g in gaps] == [(first_waiting, None)]
    assert during.extra["anchoring"]["unanchored_checkpoints"] == 2
    assert "NOT YET ANCHORED" in audit.offline.render(during)
    # ...but a head left without a timestamp longer than allowed is not "intact"
    stale = await check(anchored, clock.now + timedelta(hours=2))
    assert stale.problem is not None
    assert (stale.problem.kind, stale.problem.seq) == ("unanchored", first_waiting)

    # the authority is back: one timestamp over the newest checkpoint covers them all
    clock.advance(minutes=6)
    await tsa_down(sandbox_app, False)
    caught_up = await DeliveryService(anchored).anchor_once(force=True)
    assert caught_up == during.head_seq
    assert (await anchoring_status(anchored.db)).unanchored_checkpoints == 0
    after = await check(anchored, clock.now)
    assert after.ok, after.problem
    gaps = after.extra["anchoring"]["gaps"]
    assert [(g["from_seq"], g["to_seq"], g["anchored_at"]) for g in gaps] == [
        (first_waiting, caught_up, clock.now.isoformat())
    ]
    assert gaps[0]["delay_seconds"] == pytest.approx(10 * 60)
    assert "first timestamped at" in audit.offline.render(after)
    # a stricter auditor does not accept ten minutes
    strict = await check(anchored, clock.now, max_anchor_delay_seconds=300)
    assert strict.problem is not None
    assert (strict.problem.kind, strict.problem.seq) == ("late-anchor", first_waiting)


async def _newest_checkpoint(gw: Gateway) -> int:
    async with gw.db.reading() as session:
        return int(await session.scalar(select(func.max(Checkpoint.seq))) or 0)


async def _rewrite_with_the_signing_key(gw: Gateway, seq: int, signer: CheckpointSigner) -> None:
    """The attacker with the database owner's rights and the signing key: edit entry ``seq``,
    re-hash it and every entry after it, and sign every checkpoint again."""
    async with gw.db.transaction() as session, suspended(session):
        rows = (
            await session.scalars(
                select(ExchangeEntry).where(ExchangeEntry.seq >= seq).order_by(ExchangeEntry.seq)
            )
        ).all()
        prev = rows[0].prev_hash
        rows[0].detail = "rewritten"
        hashes = {}
        for row in rows:
            values = audit.write_values(row)
            row.prev_hash = prev
            row.entry_hash = prev = entry_hash(prev, values)
            hashes[row.seq] = row.entry_hash
        for cp in (await session.scalars(select(Checkpoint))).all():
            if cp.seq in hashes:
                cp.head_hash = hashes[cp.seq]
                cp.signature = signer.sign(
                    checkpoint_message(cp.seq, cp.head_hash, checkpoint_time(cp.created_at))
                )
        await session.flush()  # while the triggers are down


async def test_a_rewrite_with_the_signing_key_does_not_match_the_anchors(
    anchored: Gateway, clock: Clock
) -> None:
    """Must-show: the attacker holds the signing key (and the owner's rights): the rewritten
    chain is consistent and signed, but the authority timestamped the original checkpoints."""
    for _ in range(3):
        await traffic(anchored)
        await seal_and_anchor(anchored)
        clock.advance(minutes=1)
    await _rewrite_with_the_signing_key(anchored, 2, anchored.signer)
    # the checkpoints alone are fooled (same key, consistent chain)...
    fooled = await verify_database(anchored.db, anchored.public_key)
    assert fooled.ok
    # ...the anchors are not (even without the data key that the MACs need)
    report = await check(anchored, clock.now, macs=False)
    assert report.problem is not None
    assert report.problem.kind == "anchor"
    assert report.problem.seq == 3  # the first anchored checkpoint at or after seq 2
    assert "rewritten and re-signed after it was anchored" in report.problem.message


async def test_a_rewrite_anchored_again_shows_as_late(anchored: Gateway, clock: Clock) -> None:
    """The attacker deletes the anchors too and asks the authority again, days later: the
    authority's clock gives them away."""
    for _ in range(2):
        await traffic(anchored)
        await seal_and_anchor(anchored)
        clock.advance(minutes=1)
    await _rewrite_with_the_signing_key(anchored, 1, anchored.signer)
    async with anchored.db.transaction() as session, suspended(session):
        await session.execute(text("DELETE FROM checkpoint_anchors"))
    clock.advance(days=3)
    assert await DeliveryService(anchored).anchor_once(force=True) is not None
    report = await check(anchored, clock.now, macs=False)
    assert report.problem is not None
    assert report.problem.kind == "late-anchor"
    assert report.problem.seq == 3  # the first checkpoint
    assert "3 d" in report.problem.message


async def test_deleting_the_tail_with_its_checkpoints_is_caught_by_its_anchor(
    anchored: Gateway, clock: Clock
) -> None:
    for _ in range(2):
        await traffic(anchored)
        await seal_and_anchor(anchored)
        clock.advance(minutes=1)
    async with anchored.db.transaction() as session, suspended(session):
        await session.execute(text("DELETE FROM exchange_entries WHERE seq > 3"))
        await session.execute(text("DELETE FROM checkpoints WHERE seq > 3"))
    report = await check(anchored, clock.now)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("anchor", 6)
    assert "beyond the chain's head" in report.problem.message


async def test_the_database_refuses_to_change_an_anchor(anchored: Gateway) -> None:
    await traffic(anchored)
    await seal_and_anchor(anchored)
    for statement in ("UPDATE checkpoint_anchors SET seq = 99", "DELETE FROM checkpoint_anchors"):
        with pytest.raises(Exception, match="anchors of the exchange log are never changed"):
            async with anchored.db.transaction() as session:
                await session.execute(text(statement))
    async with anchored.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(CheckpointAnchor)) == 1


async def test_an_answer_from_an_untrusted_authority_is_not_kept(
    database_url: str,
    state_store: StateStore,
    sandbox_app: Any,
    tmp_path: Path,
    clock: Clock,
) -> None:
    """The gateway checks the authority's answer before keeping it: a certificate it was not
    told to trust (here: a self-signed one of its own) keeps nothing."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Some other TSA")])
    other = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(T0 - timedelta(days=1))
        .not_valid_after(T0 + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "other.pem"
    pem.write_bytes(other.public_bytes(Encoding.PEM))
    gw = await gateway_trusting(database_url, state_store, sandbox_app, pem)
    try:
        await traffic(gw)
        assert await seal_and_anchor(gw) is None
        assert (await anchoring_status(gw.db)).unanchored_checkpoints == 1
    finally:
        await gw.aclose()


async def test_an_export_carries_its_anchors_to_the_standalone_verifier(
    anchored: Gateway, clock: Clock, tsa_pem: Path, tmp_path: Path
) -> None:
    for _ in range(3):
        await traffic(anchored)
        await seal_and_anchor(anchored)
        clock.advance(minutes=1)
    out = tmp_path / "export"
    await export_chain(anchored.db, out, anchored.public_key, signer=anchored.signer)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "anchors.jsonl" in manifest["files"]
    # the auditor's keys file: the checkpoint key, and the authority's certificate
    root = x509.load_pem_x509_certificate(tsa_pem.read_bytes())
    keys = tmp_path / "keys.txt"
    keys.write_text(
        f"{anchored.signer.key_id} {anchored.public_key}\n"
        f"tsa-certificate {base64.b64encode(root.public_bytes(Encoding.DER)).decode()}\n"
    )
    report = verify_export(out, TrustedKeys.load(keys))
    assert report.ok, report.problem
    assert report.extra["anchoring"]["anchors"] == 3

    world = _alone(tmp_path)
    script = out / "verify.py"
    intact = _run_alone(world, script, str(out), "--trusted-keys", str(keys))
    assert intact.returncode == 0, intact.stderr
    assert "anchored: 3 timestamps" in intact.stdout
    # an anchor given to another checkpoint (here: the first one's token moved to the last)
    lines = (out / "anchors.jsonl").read_text().splitlines()
    moved = [
        *lines[:2],
        json.dumps({**json.loads(lines[2]), "token": json.loads(lines[0])["token"]}),
    ]
    (out / "anchors.jsonl").write_text("\n".join(moved) + "\n")
    # the signed manifest already says the file changed...
    listed = _run_alone(world, script, str(out), "--trusted-keys", str(keys))
    assert "anchors.jsonl is not the file the manifest lists" in listed.stdout
    # ...and without it (a forger's export) the anchor itself does not match
    (out / "manifest.json").unlink()
    tampered = _run_alone(
        world, script, str(out), "--public-key", anchored.public_key, "--tsa-cert", str(tsa_pem)
    )
    assert tampered.returncode == 1
    assert "[anchor]" in tampered.stdout


def test_a_token_that_is_not_one_is_refused(tsa_pem: Path) -> None:
    trust = TsaTrust.load(tsa_pem)
    for junk, why in (
        (b"", "truncated DER"),
        (b"\x30\x03\x02\x01\x01", "malformed token"),
        (b"\x30\x84\xff\xff\xff\xff", "truncated DER"),
        (b"\x04" * 300_000, "too large"),
        (b"\x04\x00", "ContentInfo"),
    ):
        with pytest.raises(TokenError, match=why):
            trust.check(junk)
