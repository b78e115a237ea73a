"""exchange log: RFC 3161 anchors of the signed checkpoints, append-only

One row per timestamp a timestamp authority gave over a checkpoint's signed message
(:mod:`gateway.core.log.anchoring`); triggers refuse any change or deletion
(:mod:`gateway.core.log.immutability`).

Serves: core

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.core.log.immutability import anchor_statements, drop_anchor_statements
from gateway.core.store.db import UtcDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkpoint_anchors",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("gen_time", UtcDateTime(timezone=True), nullable=False),
        sa.Column("authority", sa.String(500), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_checkpoint_anchors_seq", "checkpoint_anchors", ["seq"])
    for statement in anchor_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_anchor_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_checkpoint_anchors_seq", table_name="checkpoint_anchors")
    op.drop_table("checkpoint_anchors")
