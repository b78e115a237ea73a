"""Refunds of mistaken or excess fee payments (seed 000 Điều 12.3, seed 004 Điều 18).

The platform has no public refund API, so a refund is a tracked request: requested through
the gateway, carried out by the agency's bank or treasury, then recorded here as completed
(with its reference) or rejected (with a note).

* :func:`request`: only for a ``paid`` payment (or one already ``refund_requested``); the
  refunds not rejected, this one included, never total more than was paid (else
  :class:`~gateway.core.errors.InvalidInput` on ``amount``, naming what is still
  refundable). In one transaction: the refund, the payment moved ``paid ->
  refund_requested`` (a transition, source ``api``), the event ``payment.refund_requested``
  and, with an Idempotency-Key, the stored answer.
* :func:`decide`: ``requested -> completed | rejected`` only (else :class:`RefundDecided`,
  409). When no refund of the payment is pending any more, the payment moves to
  ``refunded`` if the completed refunds total what was paid, else back to ``paid`` (all
  rejected, or a partial refund). The event ``payment.refunded`` or
  ``payment.refund_rejected`` is published in the same transaction.

The payment row is locked (``FOR UPDATE``; on SQLite the write lock) for every change, so
two concurrent requests cannot both take the last refundable amount.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.payment.status import CONNECTOR, PaymentUnknown, chain, check_transition
from connectors.payment.tables import Payment, PaymentTransition, Refund
from gateway.core import events
from gateway.core.crypto import BodyCipher
from gateway.core.errors import Conflict, FieldError, InvalidInput, NotFound
from gateway.core.runtime import Gateway
from gateway.core.store import idempotency
from gateway.core.store.db import utcnow

__all__ = [
    "REFUNDABLE",
    "RefundDecided",
    "RefundUnknown",
    "decide",
    "listing",
    "request",
]

#: the payment statuses a refund may be requested in
REFUNDABLE: frozenset[str] = frozenset({"paid", "refund_requested"})


class RefundUnknown(NotFound):
    type_slug = "refund-unknown"
    title = "No such refund"


class RefundDecided(Conflict):
    type_slug = "refund-already-decided"
    title = "The refund was already completed or rejected"


class NotRefundable(Conflict):
    type_slug = "payment-not-refundable"
    title = "The payment cannot be refunded"


def _iso(at: datetime | None) -> str | None:
    return events.iso(at) if at is not None else None


def _view(refund: Refund, payment: Payment) -> dict[str, Any]:
    return {
        "refund_id": refund.refund_id,
        "payment_id": payment.payment_id,
        "amount": refund.amount,
        "reason": refund.reason,
        "status": refund.status,
        "requested_by": refund.requested_by,
        "requested_at": _iso(refund.requested_at),
        "reference": refund.reference,
        "decided_at": _iso(refund.decided_at),
        "decided_by": refund.decided_by,
        "note": refund.note,
    }


def _summary(payment: Payment, refunds: Sequence[Refund]) -> dict[str, Any]:
    """The payment's refunds with the figures: paid, refunded (completed), pending, and what
    may still be requested (nothing unless the payment is paid or refund_requested)."""
    held = sum(r.amount for r in refunds if r.status != "rejected")
    refundable = payment.amount - held if payment.status in REFUNDABLE else 0
    return {
        "payment_id": payment.payment_id,
        "payment_status": payment.status,
        "paid": payment.amount if payment.paid_at is not None else 0,
        "refunded": sum(r.amount for r in refunds if r.status == "completed"),
        "pending": sum(r.amount for r in refunds if r.status == "requested"),
        "refundable": max(refundable, 0),
        "refunds": [_view(r, payment) for r in refunds],
    }


async def _payment(session: AsyncSession, payment_id: str, *, lock: bool) -> Payment:
    stmt = select(Payment).where(Payment.payment_id == payment_id)
    if lock:
        stmt = stmt.with_for_update()
    payment = await session.scalar(stmt)
    if payment is None:
        raise PaymentUnknown(f"no payment {payment_id}")
    return payment


async def _refunds(session: AsyncSession, payment: Payment) -> list[Refund]:
    found = await session.scalars(
        select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id)
    )
    return list(found.all())


def _move(
    session: AsyncSession,
    cipher: BodyCipher,
    payment: Payment,
    new: str,
    detail: str,
    *,
    actor: str,
) -> None:
    check_transition(payment.status, new)
    chain(
        session,
        cipher,
        payment,
        f"payment:{new}",
        actor=actor,
        detail=f"{payment.status} -> {new}: {detail}",
    )
    now = utcnow()
    session.add(
        PaymentTransition(
            payment_id=payment.id,
            from_status=payment.status,
            to_status=new,
            source="api",
            detail=detail[:500],
            at=now,
        )
    )
    payment.status = new
    payment.updated_at = now


async def _publish(
    gw: Gateway, session: AsyncSession, type: str, payment: Payment, refund: Refund
) -> None:
    await events.publish(
        session,
        gw.cipher,
        type=type,
        source=CONNECTOR,
        subject=payment.ma_ho_so,
        payload={
            "payment_id": payment.payment_id,
            "ma_ho_so": payment.ma_ho_so,
            "payment_amount": payment.amount,
            "payment_status": payment.status,
            "refund_id": refund.refund_id,
            "amount": refund.amount,
            "status": refund.status,
            "reason": refund.reason,
            "reference": refund.reference,
        },
    )


async def listing(gw: Gateway, payment_id: str) -> dict[str, Any]:
    """The payment's refunds (oldest first) and its refund figures."""
    async with gw.db.reading() as session:
        payment = await _payment(session, payment_id, lock=False)
        return _summary(payment, await _refunds(session, payment))


async def request(
    gw: Gateway,
    payment_id: str,
    *,
    amount: int,
    reason: str,
    client: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Record a refund request (see the module docstring); returns the refund's view."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput(
            "the amount must be a positive integer (VND)",
            errors=[FieldError("amount", "a positive integer (VND)")],
        )
    async with gw.db.transaction() as session:
        payment = await _payment(session, payment_id, lock=True)
        if payment.status not in REFUNDABLE:
            raise NotRefundable(
                f"a {payment.status} payment cannot be refunded; only a paid one",
                errors=[FieldError("status", f"{payment.status} is not paid")],
            )
        refunds = await _refunds(session, payment)
        remaining = payment.amount - sum(r.amount for r in refunds if r.status != "rejected")
        if amount > remaining:
            raise InvalidInput(
                f"the refund of {amount} VND exceeds what may still be refunded: "
                f"{max(remaining, 0)} VND of the {payment.amount} VND paid",
                errors=[
                    FieldError("amount", f"at most {max(remaining, 0)} VND can still be refunded")
                ],
            )
        refund = Refund(
            refund_id=str(uuid.uuid4()),
            payment_id=payment.id,
            amount=amount,
            reason=reason,
            status="requested",
            requested_by=client,
            reference=None,
            requested_at=utcnow(),
            decided_at=None,
            decided_by=None,
            note=None,
        )
        session.add(refund)
        chain(
            session,
            gw.cipher,
            payment,
            "refund:requested",
            actor=client,
            reason=reason,
            detail=f"refund {refund.refund_id} of {amount} VND requested",
        )
        if payment.status == "paid":
            _move(
                session,
                gw.cipher,
                payment,
                "refund_requested",
                f"refund {refund.refund_id} of {amount} VND requested",
                actor=client,
            )
        await session.flush()
        await _publish(gw, session, "payment.refund_requested", payment, refund)
        view = _view(refund, payment)
        if idempotency_key is not None:
            await idempotency.complete(
                session, gw.cipher, client=client, key=idempotency_key, status=201, body=view
            )
    gw.wakeup.set()  # the event's deliveries are queued
    return view


async def decide(
    gw: Gateway,
    payment_id: str,
    refund_id: str,
    *,
    outcome: Literal["completed", "rejected"],
    client: str,
    reference: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Complete (with the bank or treasury ``reference``) or reject (with a ``note``) a
    requested refund, and settle the payment's status; returns the refund's view."""
    async with gw.db.transaction() as session:
        payment = await _payment(session, payment_id, lock=True)
        refund = await session.scalar(
            select(Refund).where(Refund.refund_id == refund_id, Refund.payment_id == payment.id)
        )
        if refund is None:
            raise RefundUnknown(f"payment {payment_id} has no refund {refund_id}")
        if refund.status != "requested":
            raise RefundDecided(
                f"refund {refund_id} is already {refund.status}",
                errors=[FieldError("status", f"{refund.status} -> {outcome} is not allowed")],
            )
        refund.status = outcome
        refund.decided_at = utcnow()
        refund.decided_by = client
        chain(
            session,
            gw.cipher,
            payment,
            f"refund:{outcome}",
            actor=client,
            reason=note,
            detail=f"refund {refund_id} {outcome}"
            + (f", reference {reference}" if reference else ""),
        )
        if outcome == "completed":
            refund.reference = reference
        else:
            refund.note = note
        await session.flush()
        refunds = await _refunds(session, payment)
        if not any(r.status == "requested" for r in refunds):
            refunded = sum(r.amount for r in refunds if r.status == "completed")
            if refunded >= payment.amount:
                _move(
                    session,
                    gw.cipher,
                    payment,
                    "refunded",
                    f"refunded {refunded} VND",
                    actor=client,
                )
            elif refunded:
                _move(
                    session,
                    gw.cipher,
                    payment,
                    "paid",
                    f"partially refunded: {refunded} of {payment.amount} VND",
                    actor=client,
                )
            else:
                _move(
                    session, gw.cipher, payment, "paid", "every refund was rejected", actor=client
                )
        type = "payment.refunded" if outcome == "completed" else "payment.refund_rejected"
        await _publish(gw, session, type, payment, refund)
        view = _view(refund, payment)
    gw.wakeup.set()
    return view
