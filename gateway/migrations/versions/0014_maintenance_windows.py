"""maintenance windows: of the national platforms (deliveries held) and of the gateway (notices)

Serves: core

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.core.store.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = gateway.core.store.db.UtcDateTime(timezone=True)
    op.create_table(
        "maintenance_windows",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("starts_at", when, nullable=False),
        sa.Column("ends_at", when, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("cancelled_at", when, nullable=True),
        sa.Column("started_announced_at", when, nullable=True),
        sa.Column("ended_announced_at", when, nullable=True),
    )
    op.create_index(
        "ix_maintenance_windows_scope_ends", "maintenance_windows", ["scope", "ends_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_maintenance_windows_scope_ends", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
