"""postal shipments and their status events

Shipments ordered from the public postal service (one per dossier and flow, by the unique
order_number) and every status the platform reported for them, de-duplicated by dedupe_key.
New tables only: nothing existing is rewritten.

Serves: postal

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.core.store.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, gateway.core.store.db.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("shipment_id", sa.String(length=36), nullable=False),
        sa.Column("ma_ho_so", sa.String(length=64), nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("cod_amount", sa.BigInteger(), nullable=False),
        sa.Column("receiver", sa.String(length=255), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("platform_order_id", sa.String(length=64), nullable=True),
        sa.Column("exchange_id", sa.String(length=36), nullable=True),
        sa.Column("cancel_exchange_id", sa.String(length=36), nullable=True),
        _time("last_event_at", nullable=True),
        _time("last_polled_at", nullable=True),
        _time("delivered_at", nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_number"),
        sa.UniqueConstraint("shipment_id"),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index("ix_shipments_ma_ho_so", ["ma_ho_so"], unique=False)
        batch_op.create_index(
            "ix_shipments_status_created_at", ["status", "created_at"], unique=False
        )
        batch_op.create_index("ix_shipments_delivered_at", ["delivered_at"], unique=False)

    op.create_table(
        "shipment_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("shipment_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=24), nullable=True),
        sa.Column("platform_code", sa.String(length=8), nullable=True),
        sa.Column("message", sa.String(length=255), nullable=True),
        _time("event_at", nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        _time("recorded_at", nullable=False),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.create_index("ix_shipment_events_shipment_id", ["shipment_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.drop_index("ix_shipment_events_shipment_id")
    op.drop_table("shipment_events")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_delivered_at")
        batch_op.drop_index("ix_shipments_status_created_at")
        batch_op.drop_index("ix_shipments_ma_ho_so")
    op.drop_table("shipments")
