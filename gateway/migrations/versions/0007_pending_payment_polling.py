"""pending payment polling

When the poller last asked the platform (QUERY) about a still pending payment, so it spaces
its questions out. A nullable column only: nothing existing is rewritten.

Serves: payment

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.core.store.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("queried_at", gateway.core.store.db.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("queried_at")
