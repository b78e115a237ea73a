"""Fee payments on the DVCQG online payment platform: creation, the status machine, callbacks.

* :func:`create`: one payment per dossier, agency, procedure and fee set (``fee_set_digest``
  is unique): the same request again answers the payment already made. A new one is stored
  pending first, then INIT is sent (through the circuit breaker, logged with
  :func:`~gateway.core.delivery.intake.call_through`) and its payment URL kept. When the INIT
  failed, the next identical request resends it with the same reference (the platform answers the
  same URL for the same content).
* :func:`settle` (and :func:`apply_callback` for a callback the connector has verified):
  what the platform says of a payment, a callback or a QUERY answer of the poller
  (:mod:`connectors.payment.poller`), as a :class:`Settlement`. In one transaction: the
  payment found by ``MaThamChieu``; amount, currency and partner matched against what was
  asked (a mismatch is :class:`CallbackMismatch`, alerted and counted, and never recorded as
  paid); the transaction id (``MaGiaoDich``) de-duplicated across callbacks and the poller;
  the transition checked against :data:`ALLOWED`; the transition, the exchange-log entry of a
  callback and the event ``payment.<status>`` (to the case system) written together.
* :func:`unpaid`: what a dossier still owes (the portal's reverse look-up).

Amounts are integer VND everywhere. The core reaches the connector only through the
callables the API passes in (it never imports ``connectors``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NoReturn

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.payment.status import (
    ALLOWED,
    CALLBACK_MISMATCH,
    CALLBACK_STATUS,
    CALLBACKS,
    CONNECTOR,
    CURRENCY,
    PENDING_CODE,
    STATUSES,
    CallbackMismatch,
    FeeLine,
    ImpossibleTransition,
    PaymentUnknown,
    Settlement,
    chain,
    check_transition,
    fee_set_digest,
)
from connectors.payment.tables import Payment, PaymentTransition
from gateway.core import events
from gateway.core.crypto import BodyCipher
from gateway.core.delivery.intake import call_through
from gateway.core.errors import FieldError
from gateway.core.log.exchange_log import Crossing
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow
from schemas.payment import Callback

__all__ = [
    "ALLOWED",
    "CALLBACKS",
    "CALLBACK_MISMATCH",
    "CALLBACK_STATUS",
    "CONNECTOR",
    "CURRENCY",
    "STATUSES",
    "CallbackMismatch",
    "FeeLine",
    "ImpossibleTransition",
    "PaymentUnknown",
    "Settlement",
    "apply_callback",
    "check_transition",
    "create",
    "fee_set_digest",
    "get",
    "initiated",
    "move",
    "open_url",
    "seal_plain_urls",
    "seal_url",
    "settle",
    "unpaid",
]

log = structlog.get_logger("gateway.payments")


def _iso(at: datetime | None) -> str | None:
    return events.iso(at) if at is not None else None


def _url_aad(payment_id: str) -> bytes:
    return f"payment-url|{payment_id}".encode()


def seal_url(cipher: BodyCipher, payment: Payment, url: str) -> None:
    """Keep ``url`` (the payment page's, with its bearer token) sealed on ``payment``: bound to
    the payment by the associated data, so a sealed URL moved to another row does not open."""
    payment.payment_url_sealed = cipher.encrypt(url.encode(), _url_aad(payment.payment_id))
    payment.payment_url = None


def initiated(payment: Payment) -> bool:
    """Whether INIT succeeded (the platform gave the payment page's URL)."""
    return payment.payment_url_sealed is not None or payment.payment_url is not None


def open_url(cipher: BodyCipher, payment: Payment) -> str | None:
    """The payment page's URL, or None before INIT succeeded."""
    if payment.payment_url_sealed is not None:
        return cipher.decrypt(payment.payment_url_sealed, _url_aad(payment.payment_id)).decode()
    return payment.payment_url  # written before migration 0011, until the poller seals it


async def seal_plain_urls(gw: Gateway, *, batch: int = 500) -> int:
    """Seal up to ``batch`` URLs kept in plain text by a version before migration 0011; the
    number sealed."""
    async with gw.db.transaction() as session:
        rows = (
            await session.scalars(
                select(Payment)
                .where(Payment.payment_url.is_not(None))
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            assert row.payment_url is not None
            seal_url(gw.cipher, row, row.payment_url)
    return len(rows)


def _view(
    cipher: BodyCipher, payment: Payment, transitions: Sequence[PaymentTransition] | None
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "payment_id": payment.payment_id,
        "ma_tham_chieu": payment.ma_tham_chieu,
        "ma_ho_so": payment.ma_ho_so,
        "ma_tthc": payment.ma_tthc,
        "ma_dvc": payment.agency,
        "fee_lines": payment.fee_lines,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "payment_url": open_url(cipher, payment),
        "return_url": payment.return_url,
        "ma_giao_dich": payment.ma_giao_dich,
        "created_at": _iso(payment.created_at),
        "updated_at": _iso(payment.updated_at),
        "paid_at": _iso(payment.paid_at),
    }
    if transitions is not None:
        view["transitions"] = [
            {
                "from_status": t.from_status,
                "to_status": t.to_status,
                "source": t.source,
                "ma_giao_dich": t.ma_giao_dich,
                "detail": t.detail,
                "at": _iso(t.at),
            }
            for t in transitions
        ]
    return view


# --- creation ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Created:
    payment: dict[str, Any]
    created: bool  # False: the same dossier and fee set was asked for before


async def _by_digest(gw: Gateway, digest: str) -> Payment | None:
    async with gw.db.reading() as session:
        found: Payment | None = await session.scalar(
            select(Payment).where(Payment.fee_set_digest == digest)
        )
        return found


async def create(
    gw: Gateway,
    *,
    client: str,
    ma_ho_so: str,
    ma_tthc: str,
    agency: str,
    lines: Sequence[FeeLine],
    return_url: str,
    init: Callable[[str, int], Awaitable[str]],
    request_body: bytes = b"",
) -> Created:
    """The payment of this dossier and fee set, created (INIT) when there is none yet.

    ``init(ma_tham_chieu, amount)`` sends INIT and returns the payment URL."""
    digest = fee_set_digest(ma_ho_so, agency, ma_tthc, lines)
    payment = await _by_digest(gw, digest)
    if payment is not None and initiated(payment):
        return Created(_view(gw.cipher, payment, None), created=False)
    if payment is None:
        payment = await _insert_pending(
            gw,
            digest,
            ma_ho_so=ma_ho_so,
            ma_tthc=ma_tthc,
            agency=agency,
            lines=lines,
            return_url=return_url,
        )
        if initiated(payment):  # a concurrent request finished first
            return Created(_view(gw.cipher, payment, None), created=False)
    ref, amount = payment.ma_tham_chieu, payment.amount
    _, url = await call_through(
        gw,
        connector=CONNECTOR,
        operation="init",
        client=client,
        call=lambda: init(ref, amount),
        render=lambda answer: json.dumps({"UrlThanhToan": answer}).encode(),
        request_body=request_body,
        ma_ho_so=ma_ho_so,
    )
    async with gw.db.transaction() as session:
        row = await session.scalar(
            select(Payment).where(Payment.id == payment.id).with_for_update()
        )
        assert row is not None
        if not initiated(row):
            seal_url(gw.cipher, row, url)
            row.updated_at = utcnow()
        return Created(_view(gw.cipher, row, None), created=True)


async def _insert_pending(
    gw: Gateway,
    digest: str,
    *,
    ma_ho_so: str,
    ma_tthc: str,
    agency: str,
    lines: Sequence[FeeLine],
    return_url: str,
) -> Payment:
    """Insert the pending payment (or find the one a concurrent request inserted)."""
    payment_id = uuid.uuid4()
    now = utcnow()
    values: dict[str, Any] = {
        "payment_id": str(payment_id),
        "ma_tham_chieu": payment_id.hex,  # 32 characters
        "ma_ho_so": ma_ho_so,
        "ma_tthc": ma_tthc,
        "agency": agency,
        "fee_lines": [line.as_dict() for line in lines],
        "amount": sum(line.so_tien for line in lines),
        "currency": CURRENCY,
        "fee_set_digest": digest,
        "status": "pending",
        "payment_url": None,
        "payment_url_sealed": None,
        "return_url": return_url,
        "ma_giao_dich": None,
        "created_at": now,
        "updated_at": now,
        "paid_at": None,
        "queried_at": None,
    }
    stmt: Any
    if gw.db.is_postgresql:
        stmt = pg_insert(Payment).values(**values)
    else:
        stmt = sqlite_insert(Payment).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["fee_set_digest"])
    async with gw.db.transaction() as session:
        result = await session.execute(stmt)
        row = await session.scalar(select(Payment).where(Payment.fee_set_digest == digest))
        assert row is not None
        if result.rowcount:  # type: ignore[attr-defined]
            session.add(
                PaymentTransition(
                    payment_id=row.id,
                    from_status=None,
                    to_status="pending",
                    source="api",
                    detail="created",
                    at=now,
                )
            )
            chain(
                session,
                gw.cipher,
                row,
                "payment:pending",
                actor="api",
                detail=f"created pending, {row.amount} VND",
            )
        return row


async def get(gw: Gateway, payment_id: str) -> dict[str, Any]:
    """The payment with its transitions, oldest first."""
    async with gw.db.reading() as session:
        payment = await session.scalar(select(Payment).where(Payment.payment_id == payment_id))
        if payment is None:
            raise PaymentUnknown(f"no payment {payment_id}")
        transitions = (
            await session.scalars(
                select(PaymentTransition)
                .where(PaymentTransition.payment_id == payment.id)
                .order_by(PaymentTransition.id)
            )
        ).all()
        return _view(gw.cipher, payment, transitions)


async def unpaid(gw: Gateway, ma_ho_so: str) -> list[dict[str, Any]]:
    """The dossier's payments nobody has paid yet (``pending``), oldest first: what the
    portal is told the dossier owes."""
    async with gw.db.reading() as session:
        rows = (
            await session.scalars(
                select(Payment)
                .where(Payment.ma_ho_so == ma_ho_so, Payment.status == "pending")
                .order_by(Payment.id)
            )
        ).all()
        return [_view(gw.cipher, row, None) for row in rows]


# --- callbacks and QUERY answers -------------------------------------------------------------

#: logged as the answer to a callback that carried no answer of its own
ANSWER_OK: dict[str, str] = {"MaLoi": "00", "MoTaLoi": "Thành công"}
#: sources of a transition that carry the platform's transaction id (MaGiaoDich)
PLATFORM_SOURCES = ("callback", "poller")


@dataclass(frozen=True, slots=True)
class Applied:
    payment_id: str
    status: str
    outcome: Literal["applied", "duplicate", "noted"]
    exchange_id: str | None  # the callback's log entry (a poller's QUERY is logged apart)


def from_callback(callback: Callback, answer: bytes | None = None) -> Settlement:
    return Settlement(
        ma_tham_chieu=callback.MaThamChieu,
        ma_loi=callback.MaLoi,
        so_tien=callback.SoTien,
        ma_tien_te=callback.MaTienTe,
        ma_giao_dich=callback.MaGiaoDich,
        ma_doi_tac=callback.MaDoiTac,
        source="callback",
        answer=answer,
    )


def _mismatches(said: Settlement, payment: Payment, ma_doi_tac: str) -> list[FieldError]:
    found: list[FieldError] = []
    if said.so_tien != payment.amount:
        found.append(FieldError("SoTien", f"{said.so_tien} is not the {payment.amount} asked"))
    if said.ma_tien_te != payment.currency:
        found.append(FieldError("MaTienTe", f"not {payment.currency}"))
    if said.ma_doi_tac is not None and said.ma_doi_tac != ma_doi_tac:
        found.append(FieldError("MaDoiTac", "not the gateway's partner code"))
    return found


def _mismatch(said: Settlement, payment: Payment | None, errors: list[FieldError]) -> NoReturn:
    for error in errors:
        CALLBACK_MISMATCH.labels(error.loc).inc()
    log.warning(
        "payment_callback_mismatch",
        alert=True,
        source=said.source,
        ma_tham_chieu=said.ma_tham_chieu[:64],
        ma_giao_dich=said.ma_giao_dich[:128],
        payment_id=payment.payment_id if payment is not None else None,
        fields=[e.loc for e in errors],
    )
    raise CallbackMismatch(
        f"the {said.source} does not match the payment asked for: "
        + "; ".join(f"{e.loc}: {e.msg}" for e in errors),
        errors=errors,
    )


async def apply_callback(
    gw: Gateway, callback: Callback, *, ma_doi_tac: str, raw: bytes, answer: bytes | None = None
) -> Applied:
    """Apply one verified callback (see the module docstring); refusals raise, and then
    nothing has changed. The caller records refusals; accepted callbacks are logged here, with
    ``answer``, what the caller answers the platform."""
    try:
        said = from_callback(callback, answer)
        applied = await settle(gw, said, ma_doi_tac=ma_doi_tac, raw=raw)
    except Exception:
        CALLBACKS.labels("refused").inc()
        raise
    CALLBACKS.labels(applied.outcome).inc()
    return applied


async def settle(
    gw: Gateway, said: Settlement, *, ma_doi_tac: str, raw: bytes | None = None
) -> Applied:
    """Apply what the platform said of a payment (a callback, with its ``raw`` body logged
    as a ``callback`` entry; or a QUERY answer, ``raw`` None, already logged by the poller).
    Refusals raise and change nothing; a mismatch is alerted and counted."""
    applied = await _apply(gw, said, ma_doi_tac=ma_doi_tac, raw=raw)
    if applied.outcome == "applied":
        gw.wakeup.set()  # the event's deliveries are queued
    return applied


async def _apply(gw: Gateway, said: Settlement, *, ma_doi_tac: str, raw: bytes | None) -> Applied:
    async with gw.db.transaction() as session:
        payment = await session.scalar(
            select(Payment).where(Payment.ma_tham_chieu == said.ma_tham_chieu).with_for_update()
        )
        if payment is None:
            raise PaymentUnknown("no payment has this MaThamChieu")
        errors = _mismatches(said, payment, ma_doi_tac)
        if errors:
            _mismatch(said, payment, errors)
        new = None if said.ma_loi == PENDING_CODE else CALLBACK_STATUS.get(said.ma_loi, "failed")
        txn = said.ma_giao_dich or None
        if new is None:  # "01": still pending, nothing to apply
            if payment.status != "pending":
                check_transition(payment.status, "pending")
            return _accepted(gw, session, payment, said, raw, "noted")
        if txn is not None:
            prior = await session.scalar(
                select(PaymentTransition)
                .where(
                    PaymentTransition.ma_giao_dich == txn,
                    PaymentTransition.source.in_(PLATFORM_SOURCES),
                )
                .order_by(PaymentTransition.id)
                .limit(1)
            )
            if prior is not None:
                if prior.payment_id != payment.id:
                    _mismatch(
                        said,
                        payment,
                        [FieldError("MaGiaoDich", "already applied to another payment")],
                    )
                if prior.to_status == new:
                    return _accepted(gw, session, payment, said, raw, "duplicate")
                raise ImpossibleTransition(
                    f"transaction {txn[:64]} was already applied as {prior.to_status}, not {new}",
                    errors=[FieldError("MaGiaoDich", "already applied with another outcome")],
                )
        elif payment.status == new:
            return _accepted(gw, session, payment, said, raw, "duplicate")
        check_transition(payment.status, new)
        if txn is not None and new == "paid":
            owner = await session.scalar(select(Payment.id).where(Payment.ma_giao_dich == txn))
            if owner is not None and owner != payment.id:
                _mismatch(
                    said,
                    payment,
                    [FieldError("MaGiaoDich", "already recorded for another payment")],
                )
        await move(
            gw,
            session,
            payment,
            new,
            source=said.source,
            ma_giao_dich=txn,
            detail=f"MaLoi {said.ma_loi}",
        )
        return _accepted(gw, session, payment, said, raw, "applied")


async def move(
    gw: Gateway,
    session: AsyncSession,
    payment: Payment,
    new: str,
    *,
    source: str,
    detail: str,
    ma_giao_dich: str | None = None,
) -> None:
    """Move ``payment`` (locked, the transition already checked) to ``new``: the transition,
    and the event ``payment.<new>`` to the case system, in the caller's transaction."""
    now = utcnow()
    previous = payment.status
    payment.status = new
    payment.updated_at = now
    if new == "paid":
        payment.paid_at = now
        payment.ma_giao_dich = ma_giao_dich
    session.add(
        PaymentTransition(
            payment_id=payment.id,
            from_status=previous,
            to_status=new,
            source=source,
            ma_giao_dich=ma_giao_dich,
            detail=detail[:500],
            at=now,
        )
    )
    chain(
        session,
        gw.cipher,
        payment,
        f"payment:{new}",
        actor=source,
        detail=f"{previous} -> {new} ({source}"
        + (f", transaction {ma_giao_dich}" if ma_giao_dich else "")
        + f"): {detail}",
    )
    await events.publish(
        session,
        gw.cipher,
        type=f"payment.{new}",
        source=CONNECTOR,
        subject=payment.ma_ho_so,
        payload={
            "payment_id": payment.payment_id,
            "ma_ho_so": payment.ma_ho_so,
            "amount": payment.amount,
            "status": new,
            "ma_giao_dich": ma_giao_dich,
        },
    )


def _accepted(
    gw: Gateway,
    session: AsyncSession,
    payment: Payment,
    said: Settlement,
    raw: bytes | None,
    outcome: Literal["applied", "duplicate", "noted"],
) -> Applied:
    if raw is None:
        return Applied(payment.payment_id, payment.status, outcome, None)
    crossing = Crossing(
        kind="callback",
        connector=CONNECTOR,
        operation="callback",
        outcome=outcome,
        ma_ho_so=payment.ma_ho_so[:64],
        status_code=200,
        request=raw,
        response=said.answer or json.dumps(ANSWER_OK, ensure_ascii=False).encode(),
        detail=f"MaLoi {said.ma_loi} for payment {payment.payment_id}: {outcome}",
    )
    session.add(gw.log.build(crossing))
    return Applied(payment.payment_id, payment.status, outcome, crossing.entry_id)
