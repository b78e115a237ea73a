"""eSign signatures awaiting their holder's approval, then their results.

Serves: esign

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.core.store.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "esign_signatures",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("exchange_id", sa.String(length=36), nullable=False),
        sa.Column("ma_ho_so", sa.String(length=64), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.String(length=200), nullable=False),
        sa.Column("prepared_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("result_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("created_at", gateway.core.store.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", gateway.core.store.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_esign_signatures_status", "esign_signatures", ["status", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_esign_signatures_status", table_name="esign_signatures")
    op.drop_table("esign_signatures")
