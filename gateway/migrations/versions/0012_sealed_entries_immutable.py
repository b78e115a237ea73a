"""exchange log: entries authenticated when written; sealed entries and checkpoints immutable

Each entry gets ``entry_mac`` (the MAC of its content under a key derived from the data key,
which the database does not hold; rows written before this version have none and are sealed as
they are). Triggers make the database refuse any change or deletion of a sealed entry and of any
checkpoint (:mod:`gateway.core.log.immutability`).

Serves: core

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.core.log.immutability import create_statements, drop_statements

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("exchange_entries", sa.Column("entry_mac", sa.String(330), nullable=True))
    for statement in create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table("exchange_entries") as batch:
        batch.drop_column("entry_mac")
