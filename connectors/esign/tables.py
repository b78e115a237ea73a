"""The eSign connector's table: signatures awaiting their holder's approval (migration 0009). It
lives on the core's declarative ``Base``, so one Alembic history and one metadata cover every
connector's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.store.db import Base

__all__ = ["EsignSignature"]


class EsignSignature(Base):
    """A signature whose holder approves it later (see :mod:`connectors.esign.store`): the
    document prepared for signing until it is settled, then the signed result. Both are
    sealed (documents carry personal data)."""

    __tablename__ = "esign_signatures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # also the transaction id
    client: Mapped[str] = mapped_column(String(64))
    exchange_id: Mapped[str] = mapped_column(String(36))
    ma_ho_so: Mapped[str | None] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))  # pades | xades | cms; queued until made
    status: Mapped[str] = mapped_column(String(16))  # pending | signed | failed
    credential_id: Mapped[str] = mapped_column(String(200))
    prepared_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # cleared when settled
    result_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_esign_signatures_status", "status", "created_at"),)
