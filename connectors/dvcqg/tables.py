"""The DVCQG connector's tables: what citizens send through the national portal (migration
0010): dossier versions, their documents, and feedback, ratings and questions. They live on the
core's declarative ``Base``, so one Alembic history and one metadata cover every connector's
tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.store.db import Base, BigId

__all__ = ["PortalAttachment", "PortalDossier", "PortalItem"]


class PortalDossier(Base):
    """One version of a dossier a citizen submitted on the national portal (see
    :mod:`connectors.dvcqg.portal_dossiers`). ``(ma_ho_so, phien_ban)`` is unique: a version is
    stored once, whoever delivers it again. The packet (personal data) is sealed."""

    __tablename__ = "portal_dossiers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ma_ho_so: Mapped[str] = mapped_column(String(64))
    phien_ban: Mapped[int] = mapped_column(Integer)
    # current | superseded (a later version came) | stale (came after a later version)
    status: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(8))  # push | pull
    ma_tthc: Mapped[str] = mapped_column(String(64))
    ma_co_quan: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical packet
    packet_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    exchange_id: Mapped[str] = mapped_column(String(36))  # the log entry of its receipt
    event_id: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("ma_ho_so", "phien_ban", name="uq_portal_dossiers_version"),
        Index("ix_portal_dossiers_received", "received_at", "id"),
    )


class PortalAttachment(Base):
    """A document of an online dossier version, fetched from the portal before the version
    was acknowledged: its digest always, its content (sealed) when it was within bounds."""

    __tablename__ = "portal_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dossier_id: Mapped[int] = mapped_column(BigId, ForeignKey("portal_dossiers.id"))
    tep_dinh_kem_id: Mapped[str] = mapped_column(String(64))
    ten: Mapped[str] = mapped_column(String(255))
    ma_thanh_phan: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    # kept | too_large (declared or read beyond the bound) | digest_mismatch (MaBam differs)
    status: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)  # bytes read, or declared when not read
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        UniqueConstraint("dossier_id", "tep_dinh_kem_id", name="uq_portal_attachments_file"),
    )


class PortalItem(Base):
    """Feedback, a rating or a question a citizen sent through the national portal (see
    :mod:`connectors.dvcqg.portal_items`); ``(kind, item_id)`` is unique. The packet is sealed;
    what reports need (agency, officer, rating, deadline, answer) is kept in the clear."""

    __tablename__ = "portal_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # feedback | rating | question
    item_id: Mapped[str] = mapped_column(String(64))  # MaPhanAnh | MaDanhGia | MaCauHoi
    via: Mapped[str] = mapped_column(String(8))  # push | pull
    ma_co_quan: Mapped[str] = mapped_column(String(32))
    ma_ho_so: Mapped[str | None] = mapped_column(String(64))
    ma_can_bo: Mapped[str | None] = mapped_column(String(64))  # ratings: the officer
    muc_do: Mapped[int | None] = mapped_column(Integer)  # ratings: 1, 2 or 3
    digest: Mapped[str] = mapped_column(String(64))
    packet_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sent_at: Mapped[datetime]  # when the citizen sent it (NgayGui, NgayDanhGia, NgayHoi)
    received_at: Mapped[datetime]
    due_on: Mapped[date | None] = mapped_column(Date)  # feedback: the answer deadline
    answered_at: Mapped[datetime | None]
    answer_exchange_id: Mapped[str | None] = mapped_column(String(36))
    published: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        UniqueConstraint("kind", "item_id", name="uq_portal_items_kind_id"),
        Index("ix_portal_items_kind_received", "kind", "received_at"),
    )
