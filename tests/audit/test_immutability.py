"""No silent resealing (issue 17): the database refuses changes to sealed entries and to
checkpoints; the sealer refuses rows that are not authenticated or that appear under the sealed
head, and never starts the chain again; the verifier names such rows. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import ChainIntegrityError, seal_pending, verify_database
from gateway.core.log.exchange_log import Crossing
from gateway.core.log.immutability import suspended
from gateway.core.metrics import SEAL_REFUSALS
from gateway.core.runtime import Gateway
from gateway.core.store.db import Checkpoint, ExchangeEntry, utcnow

COLUMNS = (
    "parent_id, kind, connector, operation, client, officer_id, purpose, ma_ho_so, started_at, "
    "finished_at, duration_ms, outcome, status_code, request_size, response_size, "
    "request_digest, response_digest, request_body, response_body, key_id, detail"
)


async def write(gateway: Gateway, count: int, *, outcome: str = "ok") -> list[str]:
    """``count`` entries written the way the gateway writes them (authenticated)."""
    ids = []
    async with gateway.db.transaction() as session:
        for i in range(count):
            entry = gateway.log.append(
                session,
                Crossing(
                    kind="attempt",
                    operation="sync_dossier",
                    outcome=outcome,
                    connector="c",
                    started_at=utcnow(),
                    detail=f"entry {i}",
                ),
            )
            ids.append(entry.entry_id)
    return ids


async def seal(gateway: Gateway) -> int:
    return await DeliveryService(gateway).seal_once()


async def sql(gateway: Gateway, statement: str, *, owner: bool = False, **params: Any) -> int:
    async with gateway.db.transaction() as session:
        if owner:
            async with suspended(session):
                result = await session.execute(text(statement), params)
        else:
            result = await session.execute(text(statement), params)
        return int(result.rowcount)  # type: ignore[attr-defined]


async def forge(
    gateway: Gateway, like: str, entry_id: str, *, mac: str | None, row_id: int | None = None
) -> None:
    """A row inserted by hand: a copy of entry ``like`` under another id (its MAC, if copied,
    covers the other id, so it fails)."""
    id_column, id_value = ("id, ", ":row_id, ") if row_id is not None else ("", "")
    await sql(
        gateway,
        f"INSERT INTO exchange_entries ({id_column}entry_id, entry_mac, {COLUMNS}) "
        f"SELECT {id_value}:entry_id, :mac, {COLUMNS} FROM exchange_entries WHERE entry_id = :like",
        entry_id=entry_id,
        mac=mac,
        like=like,
        row_id=row_id,
    )


async def sealed_ids(gateway: Gateway) -> set[str]:
    async with gateway.db.reading() as session:
        rows = await session.scalars(
            select(ExchangeEntry.entry_id).where(ExchangeEntry.seq.is_not(None))
        )
        return set(rows.all())


def refusals(reason: str) -> float:
    return SEAL_REFUSALS.labels(reason)._value.get()


# --- the database refuses -----------------------------------------------------------------------

REFUSED = [
    ("edit a sealed entry", "UPDATE exchange_entries SET outcome = 'tampered' WHERE seq = 2"),
    ("unseal an entry", "UPDATE exchange_entries SET seq = NULL, entry_hash = NULL WHERE seq = 2"),
    ("delete a sealed entry", "DELETE FROM exchange_entries WHERE seq = 2"),
    ("delete the newest entries", "DELETE FROM exchange_entries WHERE seq >= 3"),
    ("swap two seqs", "UPDATE exchange_entries SET seq = -seq WHERE seq IN (2, 3)"),
    ("edit a checkpoint", "UPDATE checkpoints SET signature = 'x'"),
    ("delete the checkpoints", "DELETE FROM checkpoints"),
]


@pytest.mark.parametrize("statement", [pytest.param(s, id=n) for n, s in REFUSED])
async def test_the_database_refuses_to_change_what_is_sealed(
    gateway: Gateway, statement: str
) -> None:
    await write(gateway, 4)
    assert await seal(gateway) == 4
    with pytest.raises(DBAPIError, match="never changed or deleted"):
        await sql(gateway, statement)
    report = await verify_database(
        gateway.db, gateway.public_key, authenticator=gateway.cipher.entries
    )
    assert report.ok
    assert report.head_seq == 4


async def test_unsealed_entries_are_still_sealed(gateway: Gateway) -> None:
    await write(gateway, 3)
    assert await seal(gateway) == 3
    await write(gateway, 2)
    assert await seal(gateway) == 2
    async with gateway.db.reading() as session:
        triggers = (
            (
                await session.execute(
                    text(
                        "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'lgsp_%'"
                        if gateway.db.is_postgresql
                        else "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                        "AND name LIKE 'lgsp_%'"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(triggers) == 6  # entries and checkpoints (0012), anchors (0013)


# --- the sealer refuses ---------------------------------------------------------------------


async def test_a_forged_row_is_never_sealed_and_is_named(gateway: Gateway) -> None:
    genuine = await write(gateway, 3)
    assert await seal(gateway) == 3
    later = await write(gateway, 1)
    before = refusals("mac")
    await forge(gateway, genuine[0], "forged-without-mac", mac=None)
    await forge(gateway, genuine[1], "forged-with-a-copied-mac", mac=None)
    await sql(
        gateway,
        "UPDATE exchange_entries SET entry_mac = (SELECT entry_mac FROM exchange_entries "
        "WHERE entry_id = :src) WHERE entry_id = :dst",
        src=genuine[1],
        dst="forged-with-a-copied-mac",
    )
    more = await write(gateway, 1)
    assert await seal(gateway) == 2  # the genuine ones, around the forged rows
    assert await sealed_ids(gateway) == {*genuine, *later, *more}
    assert refusals("mac") - before == 2
    report = await verify_database(
        gateway.db, gateway.public_key, authenticator=gateway.cipher.entries
    )
    assert report.problem is not None
    assert report.problem.kind == "forged"
    assert report.problem.entry_id == "forged-without-mac"


async def test_a_row_edited_before_it_was_sealed_is_refused(gateway: Gateway) -> None:
    ids = await write(gateway, 3)
    await sql(
        gateway, "UPDATE exchange_entries SET outcome = 'rejected' WHERE entry_id = :e", e=ids[1]
    )
    assert await seal(gateway) == 2
    assert ids[1] not in await sealed_ids(gateway)
    report = await verify_database(
        gateway.db, gateway.public_key, authenticator=gateway.cipher.entries
    )
    assert report.problem is not None
    assert (report.problem.kind, report.problem.entry_id) == ("forged", ids[1])


async def test_a_row_inserted_under_the_sealed_head_is_refused(gateway: Gateway) -> None:
    ids = await write(gateway, 3)
    assert await seal(gateway) == 3
    async with gateway.db.reading() as session:
        lowest = await session.scalar(select(func.min(ExchangeEntry.id)))
    assert lowest is not None
    # a genuine entry's copy under another entry id, below the sealed head: its MAC (copied,
    # or none) does not cover it
    before = refusals("mac")
    await forge(gateway, ids[0], "slipped-in", mac=None, row_id=lowest - 1)
    assert await seal(gateway) == 0
    assert await seal(gateway) == 0
    assert refusals("mac") - before == 1  # reported once, not at every round
    report = await verify_database(
        gateway.db, gateway.public_key, authenticator=gateway.cipher.entries
    )
    assert report.problem is not None
    assert (report.problem.kind, report.problem.entry_id) == ("forged", "slipped-in")


async def test_a_genuine_row_committed_late_under_the_head_is_sealed(gateway: Gateway) -> None:
    """With several processes writing to PostgreSQL, a row's id is handed out when it is
    inserted and the row appears when its transaction commits: a genuine row can appear under
    a head already sealed. Its MAC shows it is genuine: sealed next, nothing refused."""
    ids = await write(gateway, 2)
    async with gateway.db.reading() as session:
        lowest = await session.scalar(select(func.min(ExchangeEntry.id)))
    assert lowest is not None
    late = gateway.log.build(Crossing(kind="attempt", operation="op", outcome="ok"))
    late.id = lowest - 1  # as if its id was taken first and its commit came last
    assert await seal(gateway) == 2
    before = refusals("mac"), refusals("below-head")
    async with gateway.db.transaction() as session:
        session.add(late)
    assert await seal(gateway) == 1
    assert (refusals("mac"), refusals("below-head")) == before
    assert await sealed_ids(gateway) == {*ids, late.entry_id}
    report = await verify_database(
        gateway.db, gateway.public_key, authenticator=gateway.cipher.entries
    )
    assert report.ok, report.problem


async def test_the_sealer_never_starts_the_chain_again(gateway: Gateway) -> None:
    """The owner unseals everything (bypassing the triggers); the sealer refuses to reseal,
    whether the checkpoints are kept or deleted too (it remembers its head outside the
    database)."""
    await write(gateway, 4)
    assert await seal(gateway) == 4
    await sql(
        gateway,
        "UPDATE exchange_entries SET seq = NULL, prev_hash = NULL, entry_hash = NULL",
        owner=True,
    )
    with pytest.raises(ChainIntegrityError, match="checkpoints exist"):
        await seal(gateway)
    await sql(gateway, "DELETE FROM checkpoints", owner=True)
    with pytest.raises(ChainIntegrityError, match="no longer holds the entry seq 4"):
        await seal(gateway)
    async with gateway.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Checkpoint)) == 0
    assert await sealed_ids(gateway) == set()


async def test_entries_from_before_their_mac_are_sealed(gateway: Gateway) -> None:
    """Rows written before migration 0012 have no MAC: sealed as they are, until the first
    authenticated row; after it, a row without one is forged."""
    ids = await write(gateway, 3)
    await sql(
        gateway,
        "UPDATE exchange_entries SET entry_mac = NULL WHERE entry_id IN (:a, :b)",
        a=ids[0],
        b=ids[1],
    )
    assert await seal(gateway) == 3
    late = await write(gateway, 1)
    await forge(gateway, late[0], "after-the-first-mac", mac=None)
    assert await seal(gateway) == 1
    assert "after-the-first-mac" not in await sealed_ids(gateway)


async def test_seal_pending_without_an_authenticator_still_refuses_a_reset(
    gateway: Gateway,
) -> None:
    await write(gateway, 2)
    assert await seal_pending(gateway.db, gateway.signer) == 2
    await sql(gateway, "UPDATE exchange_entries SET seq = NULL, entry_hash = NULL", owner=True)
    with pytest.raises(ChainIntegrityError):
        await seal_pending(gateway.db, gateway.signer)


async def test_forged_rows_never_crowd_out_the_genuine_ones(gateway: Gateway) -> None:
    """More forged rows than a round reads: the sealer pages on past them."""
    genuine = await write(gateway, 1)
    for n in range(5):
        await forge(gateway, genuine[0], f"forged-{n}", mac="dev:00")
    later = await write(gateway, 2)
    sealed = await seal_pending(
        gateway.db, gateway.signer, batch=3, authenticator=gateway.cipher.entries
    )
    assert sealed == 3
    assert await sealed_ids(gateway) == {*genuine, *later}
