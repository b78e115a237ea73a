"""qlvb documents, their receiving agencies and status reports

Documents a dossier sent to agencies' document management software as edXML packages (the
DocumentId unique: the exchange axis de-duplicates by it), each receiving agency's progress,
and every status package reported, de-duplicated by dedupe_key. New tables only: nothing
existing is rewritten.

Serves: qlvb

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.core.store.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, gateway.core.store.db.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "qlvb_documents",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("ma_ho_so", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("exchange_id", sa.String(length=36), nullable=True),
        sa.Column("axis_doc_id", sa.String(length=100), nullable=True),
        _time("sent_at", nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id"),
    )
    with op.batch_alter_table("qlvb_documents", schema=None) as batch_op:
        batch_op.create_index("ix_qlvb_documents_ma_ho_so", ["ma_ho_so"], unique=False)
    op.create_table(
        "qlvb_recipients",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("document_pk", _ID, nullable=False),
        sa.Column("organ_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("status_code", sa.String(length=2), nullable=True),
        sa.Column("recall", sa.String(length=24), nullable=True),
        _time("last_status_at", nullable=True),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["document_pk"], ["qlvb_documents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_pk", "organ_id", name="uq_qlvb_recipients_document_organ"),
    )
    op.create_table(
        "qlvb_status_reports",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("recipient_pk", _ID, nullable=False),
        sa.Column("status_code", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        _time("event_at", nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=320), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        _time("recorded_at", nullable=False),
        sa.ForeignKeyConstraint(["recipient_pk"], ["qlvb_recipients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("qlvb_status_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_qlvb_status_reports_recipient", ["recipient_pk", "id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("qlvb_status_reports")
    op.drop_table("qlvb_recipients")
    with op.batch_alter_table("qlvb_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_qlvb_documents_ma_ho_so")
    op.drop_table("qlvb_documents")
