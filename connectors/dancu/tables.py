"""The population-database connector's tables: the officer registry, its history and the usage
alerts (seed 004, Điều 8; migration 0003). They live on the core's declarative ``Base``, so one
Alembic history and one metadata cover every connector's tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.store.db import Base, BigId

__all__ = ["GovernanceAlert", "Officer", "OfficerEvent"]


class Officer(Base):
    """An officer registered to query the population database (seed 004, Điều 8).

    The ID number and the platform credential are stored sealed with the data key, bound to
    the officer's login (see :mod:`connectors.dancu.officers`); only a masked copy of the ID number
    is kept in clear."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tai_khoan: Mapped[str] = mapped_column(String(64), unique=True)  # gateway login
    ma_can_bo: Mapped[str] = mapped_column(String(64), unique=True)  # MaCanBo on the wire
    ho_ten: Mapped[str] = mapped_column(String(128))
    so_dinh_danh_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    so_dinh_danh_masked: Mapped[str] = mapped_column(String(16))
    don_vi: Mapped[str] = mapped_column(String(255), index=True)
    muc_dich: Mapped[str] = mapped_column(String(500))
    credential_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | locked
    status_reason: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime]
    #: registration or the last unlock: where an idle period starts when nothing was looked up
    active_since: Mapped[datetime]
    updated_at: Mapped[datetime]


class OfficerEvent(Base):
    """The officer's history: registered, updated, credential_changed, locked, unlocked."""

    __tablename__ = "officer_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    officer_id: Mapped[int] = mapped_column(BigId, ForeignKey("officers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[list[str] | None] = mapped_column(JSON)  # names of the fields changed
    at: Mapped[datetime]


class GovernanceAlert(Base):
    """A usage alert (a spike in an officer's daily look-ups), one per kind, officer and day."""

    __tablename__ = "governance_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # spike
    officer: Mapped[str] = mapped_column(String(64), index=True)  # the officer's login
    day: Mapped[date] = mapped_column(Date)  # local day (Asia/Ho_Chi_Minh)
    rule: Mapped[str] = mapped_column(String(16))  # ceiling | median
    count: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[float] = mapped_column(Float)
    median: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)  # the officer was auto-locked
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    acknowledged_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("kind", "officer", "day", name="uq_governance_alerts_kind_officer_day"),
    )
