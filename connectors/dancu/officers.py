"""The officer registry: who may query the population database (seed 004, Điều 8).

Only registered officers may query; access is withdrawn (the officer locked, with a reason) when
their duties change; every change is kept in the officer's history with who made it and why.

Contracts:

- The officer's ID number is checked with :func:`schemas.cccd.parse`, stored sealed with the
  data key (AES-GCM, bound to the officer's login) and as a masked copy (``001******345``).
  Nothing here returns it in clear, and no log line carries it.
- The platform credential (user name and password for the SOAP ``AuthHash``) is stored sealed
  the same way. It leaves this module only inside :class:`ActiveOfficer`, for the look-up
  being made, with the password as a :class:`~pydantic.SecretStr`.
- Bad input raises :class:`InvalidInput` naming each field; a login or officer code already
  registered raises :class:`Conflict`; an unknown login raises :class:`NotFound`.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.dancu.tables import Officer, OfficerEvent
from gateway.core.crypto import BodyCipher
from gateway.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from gateway.core.log.exchange_log import OFFICER_LOGIN, ExchangeLog, is_officer_login
from gateway.core.logging import mask_text, register_secrets
from gateway.core.store.db import Database, utcnow
from schemas import cccd

log = structlog.get_logger("gateway.officers")

ACTIVE, LOCKED = "active", "locked"
STATUSES = (ACTIVE, LOCKED)
OFFICER_HEADER = "X-Officer-Id"

# the login is the X-Officer-Id header and is logged in clear: letters are required, so an
# ID number can never be one
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")  # MaCanBo: 1-64 chars on the wire
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ActiveOfficer:
    """A registered, active officer, as a look-up needs them (credential decrypted)."""

    tai_khoan: str
    ma_can_bo: str
    ho_ten: str
    don_vi: str
    platform_username: str
    platform_password: SecretStr


@dataclass(frozen=True, slots=True)
class OfficerEventView:
    kind: str
    actor: str
    reason: str | None
    changes: tuple[str, ...]
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "actor": self.actor,
            "reason": self.reason,
            "changes": list(self.changes),
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class OfficerView:
    """What may be shown about an officer: the ID number masked, no credential."""

    tai_khoan: str
    ma_can_bo: str
    ho_ten: str
    so_dinh_danh: str  # masked
    don_vi: str
    muc_dich: str
    status: str
    status_reason: str | None
    registered_at: datetime
    active_since: datetime
    updated_at: datetime
    history: tuple[OfficerEventView, ...] = ()

    def as_dict(self, *, history: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "tai_khoan": self.tai_khoan,
            "ma_can_bo": self.ma_can_bo,
            "ho_ten": self.ho_ten,
            "so_dinh_danh": self.so_dinh_danh,
            "don_vi": self.don_vi,
            "muc_dich": self.muc_dich,
            "status": self.status,
            "status_reason": self.status_reason,
            "registered_at": self.registered_at.isoformat(),
            "active_since": self.active_since.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
        if history:
            body["history"] = [e.as_dict() for e in self.history]
        return body


# --- sealing ----------------------------------------------------------------------------------


def _aad(tai_khoan: str, which: str) -> bytes:
    """Binds a sealed value to its officer and field: moved elsewhere, it no longer opens."""
    return b"officer:" + tai_khoan.encode() + b":" + which.encode()


def _seal_credential(cipher: BodyCipher, tai_khoan: str, username: str, password: str) -> bytes:
    plain = json.dumps({"username": username, "password": password}).encode()
    return cipher.encrypt(plain, _aad(tai_khoan, "credential"))


def _open_credential(cipher: BodyCipher, row: Officer) -> tuple[str, SecretStr]:
    value = json.loads(cipher.decrypt(row.credential_sealed, _aad(row.tai_khoan, "credential")))
    return str(value["username"]), SecretStr(str(value["password"]))


# --- validation -------------------------------------------------------------------------------


def _text(errors: list[FieldError], name: str, value: str, low: int, high: int) -> str:
    value = (value or "").strip()
    if not low <= len(value) <= high:
        errors.append(FieldError(name, f"required, {low}-{high} characters"))
    elif _CONTROL.search(value):
        errors.append(FieldError(name, "control characters are not allowed"))
    return value


def _login(errors: list[FieldError], value: str) -> str:
    value = (value or "").strip()
    if not value.isascii() or not OFFICER_LOGIN.fullmatch(value):
        errors.append(
            FieldError("tai_khoan", "lower-case letters, digits, . _ - @ (2-64 characters)")
        )
    elif value.isascii() and value.isdigit():
        errors.append(FieldError("tai_khoan", "must contain a letter (an ID number is no login)"))
    return value


def _code(errors: list[FieldError], value: str) -> str:
    value = (value or "").strip()
    if not _CODE.fullmatch(value):
        errors.append(FieldError("ma_can_bo", "letters, digits, . _ / - (1-64 characters)"))
    return value


def _id_number(errors: list[FieldError], value: str) -> str:
    value = (value or "").strip()
    try:
        cccd.parse(value)
    except cccd.IdNumberError as exc:
        errors.append(FieldError("so_dinh_danh", str(exc)))
    return value


def _credential(
    errors: list[FieldError], username: str, password: str | SecretStr
) -> tuple[str, str]:
    username = (username or "").strip()
    secret = password.get_secret_value() if isinstance(password, SecretStr) else password or ""
    if not 1 <= len(username) <= 128 or ":" in username or _CONTROL.search(username):
        # AuthHash is base64("user:password"): a colon in the user name would be ambiguous
        errors.append(FieldError("platform_username", "1-128 characters, no colon"))
    if not 1 <= len(secret) <= 256 or _CONTROL.search(secret):
        errors.append(FieldError("platform_password", "1-256 characters, no control characters"))
    return username, secret


def _actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not 1 <= len(actor) <= 128:
        raise InvalidInput("who acts must be named", errors=[FieldError("actor", "1-128 chars")])
    return actor


def _reason(value: str | None, *, required: bool) -> str | None:
    value = (value or "").strip() or None
    if value is None and not required:
        return None
    if value is None or not 3 <= len(value) <= 500 or _CONTROL.search(value):
        raise InvalidInput(
            "a reason is required" if value is None else "the reason is invalid",
            errors=[FieldError("reason", "say why (3-500 characters)")],
        )
    return mask_text(value)  # shown back and exported: no ID number in clear


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(f"{errors[0].loc}: {errors[0].msg}", errors=errors)


# --- reading ----------------------------------------------------------------------------------


def _view(row: Officer, events: list[OfficerEvent] | None = None) -> OfficerView:
    return OfficerView(
        tai_khoan=row.tai_khoan,
        ma_can_bo=row.ma_can_bo,
        ho_ten=row.ho_ten,
        so_dinh_danh=row.so_dinh_danh_masked,
        don_vi=row.don_vi,
        muc_dich=row.muc_dich,
        status=row.status,
        status_reason=row.status_reason,
        registered_at=row.registered_at,
        active_since=row.active_since,
        updated_at=row.updated_at,
        history=tuple(
            OfficerEventView(e.kind, e.actor, e.reason, tuple(e.changes or ()), e.at)
            for e in events or ()
        ),
    )


async def _row(session: AsyncSession, tai_khoan: str, *, for_update: bool = False) -> Officer:
    stmt = select(Officer).where(Officer.tai_khoan == tai_khoan)
    row = await session.scalar(stmt.with_for_update() if for_update else stmt)
    if row is None:
        raise NotFound(f"no officer with login {mask_text(tai_khoan[:64])!r}")
    return row


async def get(*, db: Database, tai_khoan: str) -> OfficerView:
    """One officer with their history, oldest event first."""
    async with db.reading() as session:
        row = await _row(session, (tai_khoan or "").strip())
        events = (
            await session.scalars(
                select(OfficerEvent)
                .where(OfficerEvent.officer_id == row.id)
                .order_by(OfficerEvent.id)
            )
        ).all()
    return _view(row, list(events))


async def list_officers(
    *, db: Database, status: str | None = None, unit: str | None = None
) -> list[OfficerView]:
    """Officers by unit then login, optionally only one status and one unit (exact name)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"unknown status {status!r}", errors=[FieldError("status", "active or locked")]
        )
    stmt = select(Officer).order_by(Officer.don_vi, Officer.tai_khoan)
    if status is not None:
        stmt = stmt.where(Officer.status == status)
    if unit is not None:
        stmt = stmt.where(Officer.don_vi == unit.strip())
    async with db.reading() as session:
        rows = (await session.scalars(stmt)).all()
    return [_view(r) for r in rows]


#: how long an authorisation is reused without reading the registry again. A change made in
#: this process (API, governance) takes effect at once; one made by another process (``lgsp
#: officers lock``, another replica) within this many seconds (seed 004, Điều 8).
AUTHORIZATION_TTL_SECONDS = 2.0
# per database (weakly: a database object gone must not lend its entries to a new one that
# happens to reuse its address), then per login
_authorized: weakref.WeakKeyDictionary[Database, dict[str, tuple[float, ActiveOfficer]]] = (
    weakref.WeakKeyDictionary()
)
_generation = 0


def _forget(tai_khoan: str) -> None:
    """Drop cached authorisations of ``tai_khoan`` (called when the registry changes it)."""
    global _generation
    _generation += 1
    for grants in list(_authorized.values()):
        grants.pop(tai_khoan, None)


@contextlib.asynccontextmanager
async def _changing(db: Database, tai_khoan: str) -> AsyncIterator[AsyncSession]:
    """A transaction changing ``tai_khoan``: cached authorisations are dropped before it and
    after it, so that none read meanwhile outlives the change."""
    _forget(tai_khoan)
    try:
        async with db.transaction() as session:
            yield session
    finally:
        _forget(tai_khoan)


async def authorize(db: Database, cipher: BodyCipher, *, tai_khoan: str | None) -> ActiveOfficer:
    """The registered, active officer named by ``X-Officer-Id``; else :class:`Forbidden`.

    An active officer's authorisation is reused for :data:`AUTHORIZATION_TTL_SECONDS`; a
    refusal is never cached, and any change through this module drops the cache at once."""
    # the header names an officer exactly or not at all: never cut, folded or guessed (an id
    # that merely starts with a login, or looks like it in other letters, is nobody)
    login = (tai_khoan or "").strip(" \t")
    if not login:
        raise Forbidden(
            "a look-up must name the registered officer making it",
            errors=[FieldError(OFFICER_HEADER, "required: the officer's gateway login")],
        )
    if not is_officer_login(login):
        raise Forbidden(
            "the officer id is not a gateway login",
            errors=[
                FieldError(OFFICER_HEADER, "lower-case letters, digits, . _ - @ (2-64 characters)")
            ],
        )
    now = time.monotonic()
    grants = _authorized.setdefault(db, {})
    cached = grants.get(login)
    if cached is not None and cached[0] > now:
        return cached[1]
    generation = _generation
    async with db.reading() as session:
        row = await session.scalar(select(Officer).where(Officer.tai_khoan == login))
    shown = mask_text(login)
    if row is None:
        raise Forbidden(
            f"officer {shown} is not registered",
            errors=[FieldError(OFFICER_HEADER, "not a registered officer")],
        )
    if row.status != ACTIVE:
        raise Forbidden(
            f"officer {shown} is locked: {row.status_reason or 'no reason recorded'}",
            errors=[FieldError(OFFICER_HEADER, "the officer is locked")],
        )
    username, password = _open_credential(cipher, row)
    register_secrets([password.get_secret_value()])  # masked should it ever reach a log line
    officer = ActiveOfficer(
        tai_khoan=row.tai_khoan,
        ma_can_bo=row.ma_can_bo,
        ho_ten=row.ho_ten,
        don_vi=row.don_vi,
        platform_username=username,
        platform_password=password,
    )
    if generation == _generation:  # no change was made while the row was being read
        grants[login] = (now + AUTHORIZATION_TTL_SECONDS, officer)
    return officer


# --- writing ----------------------------------------------------------------------------------


def _event(
    row: Officer, kind: str, actor: str, reason: str | None, at: datetime, changes: list[str]
) -> OfficerEvent:
    return OfficerEvent(
        officer_id=row.id, kind=kind, actor=actor, reason=reason, changes=changes or None, at=at
    )


def _record(
    session: AsyncSession,
    cipher: BodyCipher | None,
    row: Officer,
    event: OfficerEvent,
) -> None:
    """The registry's change, in its history and (with the data key's ``cipher``) in the
    exchange log's chain, in the same transaction (issue 17: registry changes are evidence)."""
    session.add(event)
    if cipher is None:
        return
    changed = f" ({', '.join(event.changes)})" if event.changes else ""
    ExchangeLog(cipher).append_decision(
        session,
        kind="decision",
        operation=f"officer:{event.kind}",
        connector="dancu",
        actor=event.actor,
        reason=event.reason,
        officer_id=row.tai_khoan,
        detail=f"officer {row.tai_khoan} {event.kind}{changed} by {event.actor}",
    )


async def register(
    *,
    db: Database,
    cipher: BodyCipher,
    tai_khoan: str,
    ma_can_bo: str,
    ho_ten: str,
    so_dinh_danh: str,
    don_vi: str,
    muc_dich: str,
    platform_username: str,
    platform_password: str | SecretStr,
    actor: str,
    reason: str | None = None,
) -> OfficerView:
    """Register an active officer (their history starts with ``registered``)."""
    errors: list[FieldError] = []
    login = _login(errors, tai_khoan)
    code = _code(errors, ma_can_bo)
    name = _text(errors, "ho_ten", ho_ten, 2, 128)
    number = _id_number(errors, so_dinh_danh)
    unit = _text(errors, "don_vi", don_vi, 2, 255)
    purpose = mask_text(_text(errors, "muc_dich", muc_dich, 5, 500))
    username, password = _credential(errors, platform_username, platform_password)
    _raise_if(errors)
    actor = _actor(actor)
    reason = _reason(reason, required=False)
    now = utcnow()
    row = Officer(
        tai_khoan=login,
        ma_can_bo=code,
        ho_ten=name,
        so_dinh_danh_sealed=cipher.encrypt(number.encode(), _aad(login, "so_dinh_danh")),
        so_dinh_danh_masked=cccd.mask(number),
        don_vi=unit,
        muc_dich=purpose,
        credential_sealed=_seal_credential(cipher, login, username, password),
        status=ACTIVE,
        status_reason=None,
        registered_at=now,
        active_since=now,
        updated_at=now,
    )
    register_secrets([password])
    try:
        async with _changing(db, login) as session:
            await _refuse_duplicates(session, login=login, code=code)
            session.add(row)
            await session.flush()  # the row's id, for its first event
            first = _event(row, "registered", actor, reason, now, [])
            _record(session, cipher, row, first)
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict(f"an officer with login {login!r} or code {code!r} exists") from exc
    log.info("officer_registered", officer=login, unit=unit, actor=actor)
    return _view(row, [first])


async def _refuse_duplicates(
    session: AsyncSession, *, login: str | None = None, code: str | None = None
) -> None:
    if login is not None and await session.scalar(
        select(Officer.id).where(Officer.tai_khoan == login)
    ):
        raise Conflict(
            f"an officer with login {login!r} exists",
            errors=[FieldError("tai_khoan", "already registered")],
        )
    if code is not None and await session.scalar(
        select(Officer.id).where(Officer.ma_can_bo == code)
    ):
        raise Conflict(
            f"an officer with code {code!r} exists",
            errors=[FieldError("ma_can_bo", "already registered")],
        )


async def update(
    *,
    db: Database,
    cipher: BodyCipher,
    tai_khoan: str,
    actor: str,
    reason: str,
    ma_can_bo: str | None = None,
    ho_ten: str | None = None,
    so_dinh_danh: str | None = None,
    don_vi: str | None = None,
    muc_dich: str | None = None,
) -> OfficerView:
    """Change the officer's details (only the fields given); an ``updated`` event names them."""
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    if ma_can_bo is not None:
        values["ma_can_bo"] = _code(errors, ma_can_bo)
    if ho_ten is not None:
        values["ho_ten"] = _text(errors, "ho_ten", ho_ten, 2, 128)
    if so_dinh_danh is not None:
        values["so_dinh_danh"] = _id_number(errors, so_dinh_danh)
    if don_vi is not None:
        values["don_vi"] = _text(errors, "don_vi", don_vi, 2, 255)
    if muc_dich is not None:
        values["muc_dich"] = mask_text(_text(errors, "muc_dich", muc_dich, 5, 500))
    _raise_if(errors)
    if not values:
        raise InvalidInput("nothing to change", errors=[FieldError("body", "give a field")])
    actor, why = _actor(actor), _reason(reason, required=True)
    login = (tai_khoan or "").strip()
    now = utcnow()
    try:
        async with _changing(db, login) as session:
            row = await _row(session, login, for_update=True)
            if "ma_can_bo" in values and values["ma_can_bo"] != row.ma_can_bo:
                await _refuse_duplicates(session, code=values["ma_can_bo"])
            number = values.pop("so_dinh_danh", None)
            if number is not None:
                row.so_dinh_danh_sealed = cipher.encrypt(
                    number.encode(), _aad(row.tai_khoan, "so_dinh_danh")
                )
                row.so_dinh_danh_masked = cccd.mask(number)
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            for name in changed:
                setattr(row, name, values[name])
            changed = sorted([*changed, *(["so_dinh_danh"] if number is not None else [])])
            if not changed:
                raise InvalidInput(
                    "nothing to change: the values given are the current ones",
                    errors=[FieldError("body", "give a field with a new value")],
                )
            row.updated_at = now
            _record(session, cipher, row, _event(row, "updated", actor, why, now, changed))
    except IntegrityError as exc:
        raise Conflict(f"an officer with code {values.get('ma_can_bo')!r} exists") from exc
    log.info("officer_updated", officer=login, fields=changed, actor=actor)
    return await get(db=db, tai_khoan=login)


async def update_credential(
    *,
    db: Database,
    cipher: BodyCipher,
    tai_khoan: str,
    platform_username: str,
    platform_password: str | SecretStr,
    actor: str,
    reason: str | None = None,
) -> OfficerView:
    """Replace the officer's platform credential (``credential_changed`` in the history)."""
    errors: list[FieldError] = []
    username, password = _credential(errors, platform_username, platform_password)
    _raise_if(errors)
    actor, why = _actor(actor), _reason(reason, required=False)
    login = (tai_khoan or "").strip()
    register_secrets([password])
    now = utcnow()
    async with _changing(db, login) as session:
        row = await _row(session, login, for_update=True)
        row.credential_sealed = _seal_credential(cipher, row.tai_khoan, username, password)
        row.updated_at = now
        _record(session, cipher, row, _event(row, "credential_changed", actor, why, now, []))
    log.info("officer_credential_changed", officer=login, actor=actor)
    return await get(db=db, tai_khoan=login)


async def lock(
    *, db: Database, tai_khoan: str, reason: str, actor: str, cipher: BodyCipher | None = None
) -> OfficerView:
    """Withdraw the officer's access (duties changed, idle, a spike): look-ups are refused.
    With ``cipher`` (the data key's) the change is also recorded in the exchange log."""
    return await _set_status(db, tai_khoan, LOCKED, reason=reason, actor=actor, cipher=cipher)


async def unlock(
    *, db: Database, tai_khoan: str, reason: str, actor: str, cipher: BodyCipher | None = None
) -> OfficerView:
    """Give access back; the idle period starts again from now."""
    return await _set_status(db, tai_khoan, ACTIVE, reason=reason, actor=actor, cipher=cipher)


async def _set_status(
    db: Database,
    tai_khoan: str,
    status: str,
    *,
    reason: str,
    actor: str,
    cipher: BodyCipher | None,
) -> OfficerView:
    actor, why = _actor(actor), _reason(reason, required=True)
    login = (tai_khoan or "").strip()
    now = utcnow()
    async with _changing(db, login) as session:
        row = await _row(session, login, for_update=True)
        if row.status == status:
            raise Conflict(f"officer {login} is already {status}")
        row.status = status
        row.status_reason = why if status == LOCKED else None
        if status == ACTIVE:
            row.active_since = now
        row.updated_at = now
        kind = "locked" if status == LOCKED else "unlocked"
        _record(session, cipher, row, _event(row, kind, actor, why, now, []))
    log.info(f"officer_{'locked' if status == LOCKED else 'unlocked'}", officer=login, actor=actor)
    return await get(db=db, tai_khoan=login)
