"""standard webhooks secrets: each subscription's secret format, and the previous key during a
rotation's grace period

Existing subscriptions are marked ``legacy`` (their secret's UTF-8 bytes stay the HMAC key, so
the case systems verifying them are not broken); new ones get ``whsec_`` secrets. Columns are
only added: nothing existing is rewritten. Downgrading drops the formats: the code of 0014
signs with every secret's UTF-8 bytes, which a receiver holding a ``whsec_`` secret refuses
(rotating those subscriptions after the downgrade gives them legacy secrets again).

Serves: core

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.core.store.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("secret_format", sa.String(16), server_default="legacy", nullable=False)
        )
        batch_op.add_column(sa.Column("previous_key_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "previous_key_expires_at",
                gateway.core.store.db.UtcDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("event_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("previous_key_expires_at")
        batch_op.drop_column("previous_key_sealed")
        batch_op.drop_column("secret_format")
