"""what citizens send through the portal

Versions of dossiers citizens submitted on the national portal (packet sealed), their
documents (digest, and the content sealed when within bounds), and feedback, ratings and
questions (packet sealed; agency, officer, rating, deadline and answer in the clear for
reports). New tables only.

Serves: dvcqg

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.core.store.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "portal_dossiers",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("ma_ho_so", sa.String(length=64), nullable=False),
        sa.Column("phien_ban", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("ma_tthc", sa.String(length=64), nullable=False),
        sa.Column("ma_co_quan", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("packet_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("exchange_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("received_at", gateway.core.store.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ma_ho_so", "phien_ban", name="uq_portal_dossiers_version"),
    )
    with op.batch_alter_table("portal_dossiers", schema=None) as batch_op:
        batch_op.create_index("ix_portal_dossiers_received", ["received_at", "id"], unique=False)
    op.create_table(
        "portal_attachments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("dossier_id", BigId, nullable=False),
        sa.Column("tep_dinh_kem_id", sa.String(length=64), nullable=False),
        sa.Column("ten", sa.String(length=255), nullable=False),
        sa.Column("ma_thanh_phan", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["portal_dossiers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dossier_id", "tep_dinh_kem_id", name="uq_portal_attachments_file"),
    )

    op.create_table(
        "portal_items",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("ma_co_quan", sa.String(length=32), nullable=False),
        sa.Column("ma_ho_so", sa.String(length=64), nullable=True),
        sa.Column("ma_can_bo", sa.String(length=64), nullable=True),
        sa.Column("muc_do", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("packet_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("sent_at", gateway.core.store.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("received_at", gateway.core.store.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("answered_at", gateway.core.store.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("answer_exchange_id", sa.String(length=36), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "item_id", name="uq_portal_items_kind_id"),
    )
    with op.batch_alter_table("portal_items", schema=None) as batch_op:
        batch_op.create_index("ix_portal_items_kind_received", ["kind", "received_at"])


def downgrade() -> None:
    with op.batch_alter_table("portal_items", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_items_kind_received")
    op.drop_table("portal_items")
    op.drop_table("portal_attachments")
    with op.batch_alter_table("portal_dossiers", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_dossiers_received")
    op.drop_table("portal_dossiers")
