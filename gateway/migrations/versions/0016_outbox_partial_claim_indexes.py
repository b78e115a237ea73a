"""outbox claim indexes: partial, so a claim costs the same with 100 or 100,000 items queued
and however many are delivered

The claim walks the pending items (queued, failed, delivering) in id order and checks that no
earlier item of the same ordering key holds them. The full indexes it used grew with every
delivered item and made the walk skip over them; the partial ones hold only what is pending
(``ix_outbox_pending``) or holding (``ix_outbox_holding``, dead items included).

Serves: core

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status IN ('queued', 'failed', 'delivering')"
HOLDING = "status IN ('queued', 'failed', 'delivering', 'dead')"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_pending",
            ["id"],
            unique=False,
            postgresql_where=sa.text(PENDING),
            sqlite_where=sa.text(PENDING),
        )
        batch_op.create_index(
            "ix_outbox_holding",
            ["ordering_key", "id"],
            unique=False,
            postgresql_where=sa.text(HOLDING),
            sqlite_where=sa.text(HOLDING),
        )
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index("ix_outbox_ordering")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_ordering", ["ordering_key", "id"], unique=False)
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.drop_index("ix_outbox_holding")
        batch_op.drop_index("ix_outbox_pending")
