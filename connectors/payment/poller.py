"""The poller of pending payments: what the platform never called back about, asked (QUERY).

A callback can be lost, refused as too old, or never sent; the money may still have moved.
:func:`poll_pending` takes the payments still ``pending`` some time after they were created
(``after``), not asked about recently (``every``), oldest question first, at most ``batch`` a
round, and asks the platform for each (``query``, through the circuit breaker and logged as
an exchange of the client :data:`POLLER`). What it answers is applied exactly as a callback
would be (:func:`connectors.payment.payments.settle`, source ``poller``): amount and currency
checked, the transaction id de-duplicated against the callbacks, the transition and its event
written together. "Still pending" changes nothing. A payment the platform does not know, whose
INIT never succeeded (no payment URL) and older than ``give_up``, is ``expired``: nobody can
have paid it. One whose INIT did succeed but which the platform no longer knows is left
pending and alerted: that needs a person.

Rows are claimed by stamping ``queried_at`` first (on PostgreSQL ``FOR UPDATE SKIP LOCKED``),
so concurrent rounds do not ask twice; the core's lease already runs one round at a time.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import structlog
from prometheus_client import Counter
from sqlalchemy import or_, select

from connectors.payment.payments import initiated, move, seal_plain_urls, settle
from connectors.payment.status import CONNECTOR, Settlement, check_transition
from connectors.payment.tables import Payment
from gateway.core.delivery.intake import call_through
from gateway.core.errors import CircuitOpen, GatewayError
from gateway.core.metrics import REGISTRY
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow

__all__ = ["POLLER", "POLLS", "PollPolicy", "poll_pending"]

log = structlog.get_logger("gateway.payments.poller")

#: the client name the poller's QUERY exchanges are logged under
POLLER = "lgsp-payment-poller"

POLLS = Counter(
    "lgsp_payment_polls_total",
    "Pending payments asked about (QUERY) by the poller, by what came of it",
    ["outcome"],
    registry=REGISTRY,
)

#: sends QUERY for a reference: what the platform says, or None when it knows no such payment
Query = Callable[[str], Awaitable[Settlement | None]]


@dataclass(frozen=True, slots=True)
class PollPolicy:
    after: timedelta  # ask only about payments pending at least this long
    every: timedelta  # and not asked about within this
    give_up: timedelta  # an INIT that never succeeded, unknown upstream after this: expired
    batch: int


@dataclass(frozen=True, slots=True)
class _Claimed:
    ma_tham_chieu: str
    ma_ho_so: str
    initiated: bool  # INIT answered with a payment URL
    created_at: datetime


async def _claim(gw: Gateway, policy: PollPolicy, now: datetime) -> list[_Claimed]:
    async with gw.db.transaction() as session:
        stmt = (
            select(Payment)
            .where(
                Payment.status == "pending",
                Payment.created_at <= now - policy.after,
                or_(Payment.queried_at.is_(None), Payment.queried_at <= now - policy.every),
            )
            .order_by(Payment.queried_at.is_not(None), Payment.queried_at, Payment.id)
            .limit(policy.batch)
        )
        if gw.db.is_postgresql:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = (await session.scalars(stmt)).all()
        for row in rows:
            row.queried_at = now
        return [_Claimed(r.ma_tham_chieu, r.ma_ho_so, initiated(r), r.created_at) for r in rows]


async def poll_pending(gw: Gateway, *, query: Query, ma_doi_tac: str, policy: PollPolicy) -> int:
    """One round (see the module docstring). Returns how many payments changed status.

    The round first seals payment URLs a version before migration 0011 kept in plain text
    (:func:`connectors.payment.payments.seal_plain_urls`): the poller is the one job of the payment
    connector that runs with the data key."""
    await seal_plain_urls(gw, batch=policy.batch)
    now = utcnow()
    changed = 0
    for claimed in await _claim(gw, policy, now):
        try:
            changed += await _poll_one(
                gw, claimed, query=query, ma_doi_tac=ma_doi_tac, give_up=policy.give_up
            )
        except CircuitOpen:
            POLLS.labels("circuit_open").inc()
            break  # the platform is failing: the rest wait for the next round
        except GatewayError as exc:
            # a transient failure after retries, an off-schema answer, a mismatch (alerted
            # by settle): logged with its exchange, asked again next time
            POLLS.labels("failed").inc()
            log.warning(
                "payment_poll_failed",
                ma_tham_chieu=claimed.ma_tham_chieu,
                problem=exc.type_slug,
                exchange_id=exc.exchange_id,
            )
    return changed


async def _poll_one(
    gw: Gateway, claimed: _Claimed, *, query: Query, ma_doi_tac: str, give_up: timedelta
) -> int:
    ref = claimed.ma_tham_chieu
    _, said = await call_through(
        gw,
        connector=CONNECTOR,
        operation="query",
        client=POLLER,
        call=lambda: query(ref),
        render=lambda found: json.dumps(asdict(found) if found is not None else None).encode(),
        request_body=json.dumps({"MaThamChieu": ref}).encode(),
        ma_ho_so=claimed.ma_ho_so,
    )
    if said is None:
        return await _unknown_upstream(gw, claimed, give_up)
    applied = await settle(gw, said, ma_doi_tac=ma_doi_tac)
    POLLS.labels(applied.outcome).inc()
    return 1 if applied.outcome == "applied" else 0


async def _unknown_upstream(gw: Gateway, claimed: _Claimed, give_up: timedelta) -> int:
    if claimed.initiated:
        POLLS.labels("unknown_upstream").inc()
        log.warning(
            "payment_unknown_upstream",
            alert=True,
            ma_tham_chieu=claimed.ma_tham_chieu,
            detail="the platform answered INIT for it but knows no such payment now",
        )
        return 0
    if utcnow() - claimed.created_at < give_up:
        POLLS.labels("not_yet_known").inc()
        return 0
    async with gw.db.transaction() as session:
        payment = await session.scalar(
            select(Payment).where(Payment.ma_tham_chieu == claimed.ma_tham_chieu).with_for_update()
        )
        if payment is None or payment.status != "pending" or initiated(payment):
            return 0  # settled or initiated meanwhile
        check_transition(payment.status, "expired")
        await move(
            gw,
            session,
            payment,
            "expired",
            source="poller",
            detail="INIT never succeeded and the platform knows no such payment",
        )
    POLLS.labels("expired_unknown").inc()
    gw.wakeup.set()
    return 1
