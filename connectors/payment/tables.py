"""The payment connector's tables: payments, their status transitions, refunds (migrations
0005-0007 and 0011). They live on the core's declarative ``Base``, so one Alembic history and
one metadata cover every connector's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.store.db import Base, BigId

__all__ = ["Payment", "PaymentTransition", "Refund"]


class Payment(Base):
    """A fee payment created on the DVCQG payment platform (see :mod:`connectors.payment.payments`).

    Amounts are integer VND. ``fee_set_digest`` (dossier, agency, procedure and fee lines) is
    unique, so creating the same payment twice answers the first one."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(String(36), unique=True)
    ma_tham_chieu: Mapped[str] = mapped_column(String(32), unique=True)  # sent to the platform
    ma_ho_so: Mapped[str] = mapped_column(String(64))
    ma_tthc: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(64))  # MaDVC
    fee_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{noi_dung, so_tien}]
    amount: Mapped[int] = mapped_column(BigInteger)  # VND
    currency: Mapped[str] = mapped_column(String(3))
    fee_set_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    #: the payment page's URL (it carries the page's bearer token), sealed with the data key
    #: (:func:`connectors.payment.payments.seal_url`); None until INIT succeeded
    payment_url_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: the URL in plain text, as versions before migration 0011 kept it; the poller seals it
    payment_url: Mapped[str | None] = mapped_column(String(2048))
    return_url: Mapped[str] = mapped_column(String(2048))
    ma_giao_dich: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    queried_at: Mapped[datetime | None]  # the poller's last QUERY of a pending payment

    __table_args__ = (
        UniqueConstraint("fee_set_digest", name="uq_payments_fee_set_digest"),
        Index("ix_payments_ma_ho_so", "ma_ho_so"),
        Index("ix_payments_status_created_at", "status", "created_at"),
    )


class PaymentTransition(Base):
    """One change of a payment's status, and what caused it."""

    __tablename__ = "payment_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("payments.id"))
    from_status: Mapped[str | None] = mapped_column(String(24))  # None: the creation
    to_status: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16))  # "api" | "callback" | "query"
    ma_giao_dich: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime]

    __table_args__ = (
        Index("ix_payment_transitions_payment_id", "payment_id", "id"),
        Index("ix_payment_transitions_ma_giao_dich", "ma_giao_dich"),
    )


class Refund(Base):
    """A request to refund (part of) a paid payment, tracked to completion or rejection (see
    :mod:`connectors.payment.refunds`). Amounts are integer VND; the refunds of a payment
    that are not rejected never total more than was paid."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    refund_id: Mapped[str] = mapped_column(String(36), unique=True)
    payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("payments.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # VND
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # requested | completed | rejected
    requested_by: Mapped[str] = mapped_column(String(128))  # the API client
    reference: Mapped[str | None] = mapped_column(String(128))  # bank/treasury, on completion
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_refunds_payment_id", "payment_id", "id"),)
