"""Tests of the tamper-evident exchange log; shared helpers to build a realistic sealed log."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from gateway.core.delivery.intake import accept_delivery
from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import checkpoint_message, checkpoint_time, sealed_head_key
from gateway.core.runtime import Gateway
from gateway.core.store.db import Base, Checkpoint, ExchangeEntry, utcnow
from tests.conftest import bearer
from tests.factories import dossier, ma_ho_so, step


@dataclass
class BuiltLog:
    """What :func:`build_log` sent, to compare with what the log holds."""

    #: exchange id of each accepted dossier -> the exact bytes the case system sent
    sent: dict[str, bytes] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)


async def deliver_all(gateway: Gateway) -> None:
    service = DeliveryService(gateway)
    while await service.run_once():
        pass


async def build_log(
    gateway: Gateway,
    api: httpx.AsyncClient,
    *,
    dossiers: int = 3,
    first: int = 1,
    steps: bool = True,
    refusal: bool = True,
) -> BuiltLog:
    """Accept dossiers (and steps) through the API, deliver them, and record a refusal.

    Leaves the entries unsealed; the caller seals. Each accepted request logs an inbound
    entry, each delivery at least one attempt entry (token + SOAP call to the portal).
    """
    built = BuiltLog()
    headers = await bearer(gateway, "dvcqg:sync")
    json_headers = {**headers, "Content-Type": "application/json"}
    for n in range(first, first + dossiers):
        raw = json.dumps(dossier(n), ensure_ascii=False).encode()
        r = await api.post("/v1/dvcqg/dossiers", content=raw, headers=json_headers)
        assert r.status_code == 202, r.text
        built.sent[r.json()["exchange_id"]] = raw
        if steps:
            r = await api.post(
                f"/v1/dvcqg/dossiers/{ma_ho_so(n)}/steps",
                json={"steps": [step(1), step(2)]},
                headers=headers,
            )
            assert r.status_code == 202, r.text
    if refusal:
        # an unknown procedure is refused before anything leaves, and the refusal is logged
        r = await api.post(
            "/v1/dvcqg/dossiers", json=dossier(first, ma_tthc="1.999999"), headers=headers
        )
        assert r.status_code == 422, r.text
        built.refusals.append(r.json()["exchange_id"])
    await deliver_all(gateway)
    return built


async def count_entries(gateway: Gateway, *, sealed: bool | None = None) -> int:
    stmt = select(func.count()).select_from(ExchangeEntry)
    if sealed is True:
        stmt = stmt.where(ExchangeEntry.seq.is_not(None))
    elif sealed is False:
        stmt = stmt.where(ExchangeEntry.seq.is_(None))
    async with gateway.db.sessions() as session:
        return int(await session.scalar(stmt) or 0)


def signed_checkpoint(
    gateway: Gateway, seq: int, head_hash: str, at: datetime | None = None
) -> Checkpoint:
    """A checkpoint over ``head_hash`` at ``seq``, signed with the gateway's own key: what an
    attacker holding the signing key writes by hand."""
    at = at or utcnow()
    return Checkpoint(
        seq=seq,
        head_hash=head_hash,
        created_at=at,
        key_id=gateway.signer.key_id,
        public_key=gateway.signer.public_key_b64(),
        signature=gateway.signer.sign(checkpoint_message(seq, head_hash, checkpoint_time(at))),
    )


async def retired_dead_letter(gateway: Gateway, n: int, *, ma_ho_so: str | None = None) -> str:
    """A delivery for a platform no connector serves any more: dead at its first try (the
    workers run once). Its exchange id."""
    accepted = await accept_delivery(
        gateway,
        client="tests",
        connector="retired",
        operation="sync_dossier",
        ordering_key=f"retired:{n}",
        payload={"n": n},
        request_body=b"{}",
        ma_ho_so=ma_ho_so,
    )
    await DeliveryService(gateway).run_once()
    return accepted.exchange_id


async def sandbox_tsa_root(sandbox_app: Any, directory: Path) -> Path:
    """The sandbox timestamp authority's trust anchor, fetched as an operator would, written to
    ``directory/tsa-root.pem``."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as sandbox:
        answer = await sandbox.get("/esign/pki/root.pem")
    answer.raise_for_status()
    path = directory / "tsa-root.pem"
    path.write_bytes(answer.content)
    return path


@dataclass(frozen=True)
class Tables:
    """A built log as stored: every table's rows, and the head the sealer remembers in the
    state store (outside the database). Building a sealed log through the API and the workers
    is most of what a tamper test costs: its module builds it once per backend (and xdist
    worker) and puts it back, row for row, into each test's fresh, emptied gateway."""

    rows: dict[str, list[dict[str, Any]]]
    remembered: bytes | None


async def take_tables(gateway: Gateway) -> Tables:
    async with gateway.db.reading() as session:
        rows = {
            table.name: [dict(r) for r in (await session.execute(select(table))).mappings()]
            for table in Base.metadata.sorted_tables
        }
    return Tables(rows, await gateway.state.get(sealed_head_key(gateway.db)))


async def put_tables(gateway: Gateway, tables: Tables) -> None:
    """``tables`` into the emptied tables of ``gateway`` (the same keys as the one built them;
    its own database URL, so its own remembered head)."""
    async with gateway.db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if rows := tables.rows[table.name]:
                await session.execute(insert(table), rows)
    if tables.remembered is not None:
        await gateway.state.set(sealed_head_key(gateway.db), tables.remembered)
