"""The postal connector's tables: shipments and their status reports (migration 0008). They
live on the core's declarative ``Base``, so one Alembic history and one metadata cover every
connector's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.store.db import Base, BigId

__all__ = ["Shipment", "ShipmentEvent"]


class Shipment(Base):
    """A postal shipment of a dossier (see :mod:`connectors.postal.shipments`): one per dossier and
    flow (``order_number`` is unique). Amounts are integer VND. ``receiver`` is a masked
    summary only: the citizen's name, address and phone stay in the encrypted exchange log."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(String(36), unique=True)
    ma_ho_so: Mapped[str] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(16))  # pickup | delivery
    order_number: Mapped[str] = mapped_column(String(64), unique=True)  # sent to the platform
    agency: Mapped[str] = mapped_column(String(64))  # MaDVC of the one-stop centre
    status: Mapped[str] = mapped_column(String(24))
    cod_amount: Mapped[int] = mapped_column(BigInteger)  # VND collected on delivery
    receiver: Mapped[str] = mapped_column(String(255))  # masked summary
    request_digest: Mapped[str] = mapped_column(String(64))
    platform_order_id: Mapped[str | None] = mapped_column(String(64))  # ItemCode
    exchange_id: Mapped[str | None] = mapped_column(String(36))  # the create delivery
    cancel_exchange_id: Mapped[str | None] = mapped_column(String(36))
    last_event_at: Mapped[datetime | None]  # the platform's time of the last applied status
    last_polled_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]  # the platform's time of delivery
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_shipments_ma_ho_so", "ma_ho_so"),
        Index("ix_shipments_status_created_at", "status", "created_at"),
        Index("ix_shipments_delivered_at", "delivered_at"),
    )


class ShipmentEvent(Base):
    """A status of a shipment as the platform reported it (webhook or poll) or the gateway
    recorded it (api). ``dedupe_key`` (order, platform code, event time) is unique, so the
    same status reported twice is kept once; ``applied`` says whether it moved the shipment."""

    __tablename__ = "shipment_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shipment_id: Mapped[int] = mapped_column(BigId, ForeignKey("shipments.id"))
    status: Mapped[str | None] = mapped_column(String(24))  # None: a code nobody maps
    platform_code: Mapped[str | None] = mapped_column(String(8))
    message: Mapped[str | None] = mapped_column(String(255))
    event_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))  # webhook | poll | api
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    applied: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime]

    __table_args__ = (Index("ix_shipment_events_shipment_id", "shipment_id", "id"),)
