"""EMC tracking: the scan cursor of delivered dossier syncs, the syncs seen past it, and what
EMC was last told of each dossier

New tables only: nothing existing is rewritten.

Serves: emc

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.core.store.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, gateway.core.store.db.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "emc_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "emc_seen_syncs",
        sa.Column("outbox_id", sa.BigInteger(), autoincrement=False, nullable=False),
        _time("seen_at", nullable=False),
        sa.PrimaryKeyConstraint("outbox_id"),
    )
    op.create_table(
        "emc_dossiers",
        sa.Column("ma_ho_so", sa.String(length=64), nullable=False),
        sa.Column("ma_tthc", sa.String(length=64), nullable=False),
        sa.Column("muc_do", sa.String(length=32), nullable=False),
        sa.Column("kenh_thuc_hien", sa.String(length=16), nullable=False),
        sa.Column("trang_thai", sa.String(length=32), nullable=False),
        sa.Column("tu_dvcqg", sa.Boolean(), nullable=False),
        _time("ngay_tiep_nhan", nullable=True),
        _time("ngay_hen_tra", nullable=True),
        _time("ngay_ket_thuc", nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("last_exchange_id", sa.String(length=36), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("ma_ho_so"),
    )
    with op.batch_alter_table("emc_dossiers", schema=None) as batch_op:
        batch_op.create_index("ix_emc_dossiers_ngay_tiep_nhan", ["ngay_tiep_nhan"], unique=False)
        batch_op.create_index("ix_emc_dossiers_ngay_ket_thuc", ["ngay_ket_thuc"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("emc_dossiers", schema=None) as batch_op:
        batch_op.drop_index("ix_emc_dossiers_ngay_ket_thuc")
        batch_op.drop_index("ix_emc_dossiers_ngay_tiep_nhan")
    op.drop_table("emc_dossiers")
    op.drop_table("emc_seen_syncs")
    op.drop_table("emc_cursors")
