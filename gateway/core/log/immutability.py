"""Sealed entries and checkpoints never change: the database itself refuses it.

Migration 0012 installs these triggers: an ``UPDATE`` or ``DELETE`` of an exchange-log entry
that has a ``seq`` (sealed), and of any checkpoint, is refused with an error, whoever sends it;
migration 0013 the same for the checkpoints' anchors (RFC 3161 timestamps).
The sealer's own ``UPDATE`` sets ``seq``, ``prev_hash`` and ``entry_hash`` on rows that have no
``seq`` yet, which the triggers let through.

On PostgreSQL the triggers bind every role but the owner of the tables, who can drop them: run
the gateway as a role that does not own them (see the README, "The exchange log, for auditors":
the grants), so that only the database's administrator can, and a dropped trigger is itself a
trace in PostgreSQL's logs. On SQLite whoever can write the file can do anything: the triggers
stop mistakes and casual edits; the entry MACs and the signed checkpoints catch the rest.

:func:`suspended` drops and recreates them inside one transaction: what the owner of the
database can do, used by the tests that play such an attacker and by the tests' cleanup.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "anchor_statements",
    "create_statements",
    "drop_anchor_statements",
    "drop_statements",
    "suspended",
]

_MESSAGE_ENTRY = "sealed exchange-log entries are never changed or deleted"
_MESSAGE_CHECKPOINT = "checkpoints of the exchange log are never changed or deleted"
_MESSAGE_ANCHOR = "anchors of the exchange log are never changed or deleted"

_SQLITE_CREATE = (
    "CREATE TRIGGER lgsp_sealed_entry_update BEFORE UPDATE ON exchange_entries "
    f"WHEN OLD.seq IS NOT NULL BEGIN SELECT RAISE(ABORT, '{_MESSAGE_ENTRY}'); END",
    "CREATE TRIGGER lgsp_sealed_entry_delete BEFORE DELETE ON exchange_entries "
    f"WHEN OLD.seq IS NOT NULL BEGIN SELECT RAISE(ABORT, '{_MESSAGE_ENTRY}'); END",
    "CREATE TRIGGER lgsp_checkpoint_update BEFORE UPDATE ON checkpoints "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE_CHECKPOINT}'); END",
    "CREATE TRIGGER lgsp_checkpoint_delete BEFORE DELETE ON checkpoints "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE_CHECKPOINT}'); END",
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS lgsp_sealed_entry_update",
    "DROP TRIGGER IF EXISTS lgsp_sealed_entry_delete",
    "DROP TRIGGER IF EXISTS lgsp_checkpoint_update",
    "DROP TRIGGER IF EXISTS lgsp_checkpoint_delete",
)
_PG_CREATE = (
    "CREATE OR REPLACE FUNCTION lgsp_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'insufficient_privilege'; END $$",
    "CREATE TRIGGER lgsp_sealed_entry_change BEFORE UPDATE OR DELETE ON exchange_entries "
    "FOR EACH ROW WHEN (OLD.seq IS NOT NULL) "
    f"EXECUTE FUNCTION lgsp_refuse_change('{_MESSAGE_ENTRY}')",
    "CREATE TRIGGER lgsp_checkpoint_change BEFORE UPDATE OR DELETE ON checkpoints "
    f"FOR EACH ROW EXECUTE FUNCTION lgsp_refuse_change('{_MESSAGE_CHECKPOINT}')",
    "CREATE TRIGGER lgsp_checkpoint_truncate BEFORE TRUNCATE ON checkpoints "
    f"FOR EACH STATEMENT EXECUTE FUNCTION lgsp_refuse_change('{_MESSAGE_CHECKPOINT}')",
    "CREATE TRIGGER lgsp_entry_truncate BEFORE TRUNCATE ON exchange_entries "
    f"FOR EACH STATEMENT EXECUTE FUNCTION lgsp_refuse_change('{_MESSAGE_ENTRY}')",
)
_PG_DROP = (
    "DROP TRIGGER IF EXISTS lgsp_sealed_entry_change ON exchange_entries",
    "DROP TRIGGER IF EXISTS lgsp_checkpoint_change ON checkpoints",
    "DROP TRIGGER IF EXISTS lgsp_checkpoint_truncate ON checkpoints",
    "DROP TRIGGER IF EXISTS lgsp_entry_truncate ON exchange_entries",
)


# migration 0013: the anchors (RFC 3161 timestamps over checkpoints), append-only too
_SQLITE_ANCHOR_CREATE = (
    "CREATE TRIGGER lgsp_anchor_update BEFORE UPDATE ON checkpoint_anchors "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE_ANCHOR}'); END",
    "CREATE TRIGGER lgsp_anchor_delete BEFORE DELETE ON checkpoint_anchors "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE_ANCHOR}'); END",
)
_SQLITE_ANCHOR_DROP = (
    "DROP TRIGGER IF EXISTS lgsp_anchor_update",
    "DROP TRIGGER IF EXISTS lgsp_anchor_delete",
)
_PG_ANCHOR_CREATE = (
    "CREATE TRIGGER lgsp_anchor_change BEFORE UPDATE OR DELETE ON checkpoint_anchors "
    f"FOR EACH ROW EXECUTE FUNCTION lgsp_refuse_change('{_MESSAGE_ANCHOR}')",
    "CREATE TRIGGER lgsp_anchor_truncate BEFORE TRUNCATE ON checkpoint_anchors "
    f"FOR EACH STATEMENT EXECUTE FUNCTION lgsp_refuse_change('{_MESSAGE_ANCHOR}')",
)
_PG_ANCHOR_DROP = (
    "DROP TRIGGER IF EXISTS lgsp_anchor_change ON checkpoint_anchors",
    "DROP TRIGGER IF EXISTS lgsp_anchor_truncate ON checkpoint_anchors",
)


def create_statements(dialect: str) -> tuple[str, ...]:
    """The statements that install the triggers on ``dialect`` (``sqlite`` or ``postgresql``)."""
    return _PG_CREATE if dialect == "postgresql" else _SQLITE_CREATE


def drop_statements(dialect: str) -> tuple[str, ...]:
    return _PG_DROP if dialect == "postgresql" else _SQLITE_DROP


def anchor_statements(dialect: str) -> tuple[str, ...]:
    """The triggers of migration 0013 (the anchors' table), on ``dialect``."""
    return _PG_ANCHOR_CREATE if dialect == "postgresql" else _SQLITE_ANCHOR_CREATE


def drop_anchor_statements(dialect: str) -> tuple[str, ...]:
    return _PG_ANCHOR_DROP if dialect == "postgresql" else _SQLITE_ANCHOR_DROP


@contextlib.asynccontextmanager
async def suspended(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The triggers dropped for the rest of ``session``'s transaction and recreated at its end
    (the database owner's power: maintenance, and the tests that play an attacker with it)."""
    dialect = session.get_bind().dialect.name
    for statement in (*drop_statements(dialect), *drop_anchor_statements(dialect)):
        await session.execute(text(statement))
    yield session
    for statement in (*create_statements(dialect), *anchor_statements(dialect)):
        await session.execute(text(statement))
