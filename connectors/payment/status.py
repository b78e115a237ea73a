"""The status machine of fee payments, their problem types and metrics, and the fee-set
digest that makes creating a payment idempotent (used by :mod:`connectors.payment.payments`).

Statuses: pending, paid, failed, cancelled, expired, refund_requested, refunded. Allowed:
pending -> paid | failed | cancelled | expired; failed -> paid (a late success is real money);
paid -> refund_requested; refund_requested -> refunded | paid (the refund was rejected).
Anything else is :class:`ImpossibleTransition` (409, naming both states).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.payment.tables import Payment
from gateway.core.crypto import BodyCipher
from gateway.core.errors import Conflict, FieldError, NotFound
from gateway.core.log.exchange_log import ExchangeLog
from gateway.core.metrics import REGISTRY

__all__ = [
    "ALLOWED",
    "CALLBACKS",
    "CALLBACK_MISMATCH",
    "CALLBACK_STATUS",
    "CONNECTOR",
    "CURRENCY",
    "PENDING_CODE",
    "STATUSES",
    "CallbackMismatch",
    "FeeLine",
    "ImpossibleTransition",
    "PaymentUnknown",
    "Settlement",
    "check_transition",
    "fee_set_digest",
]

CONNECTOR = "payment"
CURRENCY = "VND"

STATUSES: tuple[str, ...] = (
    "pending",
    "paid",
    "failed",
    "cancelled",
    "expired",
    "refund_requested",
    "refunded",
)
#: every transition the gateway accepts; anything else is refused
ALLOWED: dict[str, frozenset[str]] = {
    "pending": frozenset({"paid", "failed", "cancelled", "expired"}),
    "failed": frozenset({"paid"}),  # a late success is real money
    "paid": frozenset({"refund_requested"}),
    "refund_requested": frozenset({"refunded", "paid"}),  # paid: the refund was rejected
    "cancelled": frozenset(),
    "expired": frozenset(),
    "refunded": frozenset(),
}
#: a callback's MaLoi "01": still pending, it moves nothing
PENDING_CODE = "01"
#: a callback's MaLoi -> the status it moves the payment to ("01", still pending, moves none;
#: a code not listed is a failure, as PASETO's ConfirmDvcPaymentCommandHandler reads anything
#: but "00")
CALLBACK_STATUS: dict[str, str] = {
    "00": "paid",
    "02": "failed",
    "03": "cancelled",
    "04": "expired",
}

CALLBACKS = Counter(
    "lgsp_payment_callbacks_total",
    "Payment callbacks verified, by outcome (applied, duplicate, refused)",
    ["outcome"],
    registry=REGISTRY,
)
CALLBACK_MISMATCH = Counter(
    "lgsp_payment_callback_mismatch_total",
    "Signed payment callbacks whose amount, currency, partner or transaction did not match",
    ["field"],
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class Settlement:
    """What the platform says of one payment: a callback, or the answer to a QUERY.

    ``ma_doi_tac`` is ``None`` when the packet carries none (a QUERY answer); ``ma_loi`` is
    the platform's code (:data:`CALLBACK_STATUS`; "01": still pending)."""

    ma_tham_chieu: str
    ma_loi: str
    so_tien: int
    ma_tien_te: str
    ma_giao_dich: str
    ma_doi_tac: str | None
    source: str  # "callback" | "poller"
    #: what the gateway answers a callback (logged with it); None: a QUERY answer
    answer: bytes | None = None


class ImpossibleTransition(Conflict):
    type_slug = "payment-transition-impossible"
    title = "The payment cannot move to this status"


class CallbackMismatch(Conflict):
    type_slug = "payment-callback-mismatch"
    title = "The payment callback does not match the payment"


class PaymentUnknown(NotFound):
    type_slug = "payment-unknown"
    title = "No such payment"


def check_transition(current: str, new: str) -> None:
    """Refuse (:class:`ImpossibleTransition`, naming both states) what :data:`ALLOWED` lacks."""
    if new not in ALLOWED.get(current, frozenset()):
        raise ImpossibleTransition(
            f"a payment cannot move from {current} to {new}",
            errors=[FieldError("status", f"{current} -> {new} is not an allowed transition")],
        )


@dataclass(frozen=True, slots=True)
class FeeLine:
    noi_dung: str
    so_tien: int

    def as_dict(self) -> dict[str, Any]:
        return {"noi_dung": self.noi_dung, "so_tien": self.so_tien}


def fee_set_digest(ma_ho_so: str, agency: str, ma_tthc: str, lines: Sequence[FeeLine]) -> str:
    """SHA-256 of the canonical dossier, agency, procedure and fee lines (in their order)."""
    canonical = json.dumps(
        {
            "ma_ho_so": ma_ho_so,
            "agency": agency,
            "ma_tthc": ma_tthc,
            "fee_lines": [line.as_dict() for line in lines],
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain(
    session: AsyncSession,
    cipher: BodyCipher,
    payment: Payment,
    operation: str,
    *,
    actor: str,
    detail: str,
    reason: str | None = None,
) -> None:
    """A change of a payment or of its refunds, in the exchange log's chain, in the caller's
    transaction (issue 17: payment status and refunds are evidence)."""
    ExchangeLog(cipher).append_decision(
        session,
        kind="change",
        operation=operation,
        connector=CONNECTOR,
        actor=actor,
        reason=reason,
        ma_ho_so=payment.ma_ho_so,
        detail=f"payment {payment.payment_id}: {detail}",
    )
