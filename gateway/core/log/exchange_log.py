"""The exchange log: one append-only entry per crossing of the gateway.

A crossing is the request from the case system (``inbound``), each attempt toward a platform
(``attempt``, carrying its answer), each callback from a platform (``callback``), and each
refusal (``refusal``). Entries carry digests of the bodies in clear and the bodies themselves
encrypted (AES-GCM, key id recorded, bound to the entry). Details are masked before they are
stored. Entries are inserted unsealed; :mod:`gateway.core.log.audit` seals them into the hash chain.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.core.crypto import BodyCipher
from gateway.core.log.audit import mac_message, write_values
from gateway.core.logging import mask_text
from gateway.core.store.batching import Row
from gateway.core.store.db import AttemptLink, ExchangeEntry, utcnow

ENTRIES = cast(Table, ExchangeEntry.__table__)
LINKS = cast(Table, AttemptLink.__table__)

#: an officer's login, as the entries' ``officer_id`` holds it: lower-case ASCII letters and
#: digits with ``. _ @ -``, 2-64 characters, at least one of them not a digit (an ID number is
#: no login)
OFFICER_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


def is_officer_login(value: str) -> bool:
    """Whether ``value`` is, exactly, a well-formed officer login (ASCII only: Unicode
    look-alikes of its letters are other strings, and are refused, not folded)."""
    return value.isascii() and OFFICER_LOGIN.fullmatch(value) is not None and not value.isdigit()


def new_exchange_id() -> str:
    return str(uuid.uuid4())


def body_aad(entry_id: str, which: str) -> bytes:
    return f"{entry_id}:{which}".encode()


@dataclass(slots=True)
class Crossing:
    """What to record about one crossing."""

    kind: str
    operation: str
    outcome: str
    connector: str | None = None
    entry_id: str = field(default_factory=new_exchange_id)
    parent_id: str | None = None
    client: str | None = None
    officer_id: str | None = None
    purpose: str | None = None
    ma_ho_so: str | None = None
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    status_code: int | None = None
    request: bytes | None = None
    response: bytes | None = None
    detail: str | None = None
    #: other exchanges this crossing served (a batch call); stored as links, listed in detail
    related: tuple[str, ...] = ()


class ExchangeLog:
    def __init__(self, cipher: BodyCipher) -> None:
        self.cipher = cipher

    def build(self, crossing: Crossing) -> ExchangeEntry:
        """The entry as an ORM object, for a session."""
        return ExchangeEntry(**self.build_row(crossing))

    def build_row(self, crossing: Crossing) -> dict[str, Any]:
        """The entry's column values (its MAC included), for a plain insert into
        ``exchange_entries`` (see :meth:`gateway.core.store.db.Database.grouped`)."""
        c = crossing
        finished = c.finished_at or utcnow()
        row: dict[str, Any] = dict(
            entry_id=c.entry_id,
            parent_id=c.parent_id,
            kind=c.kind,
            connector=c.connector,
            operation=c.operation,
            client=c.client,
            officer_id=c.officer_id,
            purpose=mask_text(c.purpose) if c.purpose else None,
            ma_ho_so=c.ma_ho_so,
            started_at=c.started_at,
            finished_at=finished,
            duration_ms=(finished - c.started_at).total_seconds() * 1000,
            outcome=c.outcome,
            status_code=c.status_code,
            request_size=len(c.request or b""),
            response_size=len(c.response or b""),
            # keyed (HMAC): a plain SHA-256 of a short body gives its ID number away
            request_digest=self._digest(c.request),
            response_digest=self._digest(c.response),
            request_body=self._seal(c.request, c.entry_id, "request"),
            response_body=self._seal(c.response, c.entry_id, "response"),
            key_id=self.cipher.key_id if (c.request or c.response) else None,
            detail=mask_text(c.detail)[:8000] if c.detail else None,
        )
        # authenticated as written: the sealer refuses rows whose MAC fails (forged or edited
        # before sealing), and the database holds no key to make one. write_values reads the
        # fields by name, from the entry or (here) from the values it is about to be made of
        written = write_values(cast(ExchangeEntry, SimpleNamespace(**row)))
        row["entry_mac"] = self.cipher.entries.mac(mac_message(written))
        return row

    def rows(self, *crossings: Crossing) -> list[Row]:
        """The entries of ``crossings``, in this order, each followed by the links of the
        exchanges it also served (``related``), as plain rows for
        :meth:`gateway.core.store.db.Database.grouped` (one multi-row insert per table and
        group commit, no ORM unit of work)."""
        rows: list[Row] = []
        for crossing in crossings:
            row = self.build_row(crossing)
            rows.append((ENTRIES, row))
            rows.extend(
                (LINKS, {"entry_id": row["entry_id"], "exchange_id": x})
                for x in crossing.related
                if x != crossing.parent_id
            )
        return rows

    def _digest(self, body: bytes | None) -> str | None:
        return None if body is None else self.cipher.entries.body_digest(body)

    def _seal(self, body: bytes | None, entry_id: str, which: str) -> bytes | None:
        if body is None:
            return None
        return self.cipher.encrypt(body, body_aad(entry_id, which))

    def append(self, session: AsyncSession, crossing: Crossing) -> ExchangeEntry:
        """Add the entry to ``session``'s transaction (committed with the caller's work)."""
        entry = self.build(crossing)
        session.add(entry)
        return entry

    def append_decision(
        self,
        session: AsyncSession,
        *,
        kind: Literal["decision", "change"],
        operation: str,
        connector: str | None,
        actor: str,
        detail: str,
        reason: str | None = None,
        parent_id: str | None = None,
        ma_ho_so: str | None = None,
        officer_id: str | None = None,
    ) -> ExchangeEntry:
        """Record an operator's ``decision`` (a dead letter skipped, an officer locked) or a
        record's ``change`` (a fee paid) in ``session``'s transaction, with who made it and
        why: evidence in the chain like any crossing."""
        return self.append(
            session,
            Crossing(
                kind=kind,
                operation=operation,
                connector=connector,
                outcome="done",
                client=actor[:64],
                parent_id=parent_id,
                ma_ho_so=ma_ho_so,
                officer_id=officer_id,
                purpose=reason[:255] if reason else None,
                detail=detail,
            ),
        )

    def open_body(self, entry: ExchangeEntry, which: str) -> bytes | None:
        """Decrypt a stored body (auditor access only; the caller logs the access)."""
        sealed = entry.request_body if which == "request" else entry.response_body
        if sealed is None:
            return None
        return self.cipher.decrypt(sealed, body_aad(entry.entry_id, which))
