"""payment: the payment page's URL sealed at rest

The payment page's URL carries the page's bearer token; from this version it is kept sealed with
the data key (``payments.payment_url_sealed``). Rows written before keep their plain
``payment_url`` until the payment poller seals them (it needs the data key, which a migration
does not hold), then that column is emptied. Connector: payment.

Serves: payment

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("payment_url_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("payment_url_sealed")
