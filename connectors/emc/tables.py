"""The EMC connector's tables (migration 0017), on the core's declarative ``Base``.

* :class:`EmcCursor`: how far the scan of delivered DVCQG dossier syncs has settled (an outbox
  id: every sync item at or below it is settled and was seen).
* :class:`EmcSeenSync`: sync items above the cursor already turned into events (the cursor
  cannot pass an item still pending, but later ones may already be delivered).
* :class:`EmcDossier`: what the gateway last told EMC of each dossier (no personal data): the
  one-event-per-status-change rule and the monthly report read it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.store.db import Base

__all__ = ["EmcCursor", "EmcDossier", "EmcSeenSync"]


class EmcCursor(Base):
    __tablename__ = "emc_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class EmcSeenSync(Base):
    __tablename__ = "emc_seen_syncs"

    outbox_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seen_at: Mapped[datetime]


class EmcDossier(Base):
    """A dossier as EMC was last told of it. ``trang_thai`` is the DVCQG status of the last
    event queued; ``muc_do`` the level name; times are UTC instants."""

    __tablename__ = "emc_dossiers"

    ma_ho_so: Mapped[str] = mapped_column(String(64), primary_key=True)
    ma_tthc: Mapped[str] = mapped_column(String(64))
    muc_do: Mapped[str] = mapped_column(String(32))
    kenh_thuc_hien: Mapped[str] = mapped_column(String(16))
    trang_thai: Mapped[str] = mapped_column(String(32))
    tu_dvcqg: Mapped[bool] = mapped_column(Boolean)
    ngay_tiep_nhan: Mapped[datetime | None]
    ngay_hen_tra: Mapped[datetime | None]
    ngay_ket_thuc: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(16))  # scan | api
    last_exchange_id: Mapped[str] = mapped_column(String(36))  # the last track_dossier item
    events: Mapped[int] = mapped_column(BigInteger)  # track_dossier items queued
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_emc_dossiers_ngay_tiep_nhan", "ngay_tiep_nhan"),
        Index("ix_emc_dossiers_ngay_ket_thuc", "ngay_ket_thuc"),
    )
