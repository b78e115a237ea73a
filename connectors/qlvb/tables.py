"""The document management connector's tables (migration 0018): documents sent, each
receiving agency's progress, and the status reports. On the core's declarative ``Base``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.store.db import Base, BigId

__all__ = ["QlvbDocument", "QlvbRecipient", "QlvbStatusReport"]


class QlvbDocument(Base):
    """A document a dossier sent. ``document_id`` (the edXML DocumentId) is unique: the axis
    de-duplicates by it, so one number/notation is one dossier's document. Attachments are not
    kept here: they stay in the encrypted exchange log."""

    __tablename__ = "qlvb_documents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ma_ho_so: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    request_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))  # queued | sent
    exchange_id: Mapped[str | None] = mapped_column(String(36))
    axis_doc_id: Mapped[str | None] = mapped_column(String(100))  # sendEdoc's DocID
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_qlvb_documents_ma_ho_so", "ma_ho_so"),)


class QlvbRecipient(Base):
    """One receiving agency's progress with a document: ``status`` the canonical state,
    ``status_code`` the last applied code of the processing line, ``recall`` the recall line."""

    __tablename__ = "qlvb_recipients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_pk: Mapped[int] = mapped_column(BigId, ForeignKey("qlvb_documents.id"))
    organ_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24))
    status_code: Mapped[str | None] = mapped_column(String(2))
    recall: Mapped[str | None] = mapped_column(String(24))
    last_status_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("document_pk", "organ_id", name="uq_qlvb_recipients_document_organ"),
    )


class QlvbStatusReport(Base):
    """A status package as received (poll or callback), kept once (``dedupe_key``);
    ``applied`` says whether it moved its recipient."""

    __tablename__ = "qlvb_status_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recipient_pk: Mapped[int] = mapped_column(BigId, ForeignKey("qlvb_recipients.id"))
    status_code: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(String(500))
    event_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))  # poll | callback
    dedupe_key: Mapped[str] = mapped_column(String(320), unique=True)
    applied: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime]

    __table_args__ = (Index("ix_qlvb_status_reports_recipient", "recipient_pk", "id"),)
