"""The ops console's sessions: a signed cookie naming the API client that logged in.

Logging in takes an API key holding ``ops:read`` (checked like any bearer key); the cookie
then holds the client's name, an expiry and a nonce, authenticated with HMAC-SHA256 under a
key derived from the data key (HKDF, info ``lgsp ops console session``): never the API key
itself. Every request reads the client again from the database, so a client revoked or whose
scopes changed loses the console at once. Forms carry a CSRF token derived from the session
(the cookie is also ``SameSite=Strict``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select

from gateway.core.clients import Principal
from gateway.core.crypto import derived_key
from gateway.core.store.db import ApiClient, Database

COOKIE = "lgsp_ops"
LANG_COOKIE = "lgsp_ops_lang"
#: a working day, then log in again
LIFETIME_SECONDS = 8 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Session:
    client: str
    expires: int
    token: str


class ConsoleSessions:
    def __init__(self, data_key: bytes) -> None:
        self._key = derived_key(data_key, b"lgsp ops console session")

    def _mac(self, message: bytes) -> str:
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def issue(self, client: str, *, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + LIFETIME_SECONDS)
        body = _b64(
            json.dumps({"c": client, "e": expires, "n": secrets.token_hex(8)}).encode("utf-8")
        )
        return f"{body}.{self._mac(body.encode())}"

    def read(self, token: str | None, *, now: float | None = None) -> Session | None:
        """The session ``token`` holds, or None (absent, forged, altered or expired)."""
        if not token or token.count(".") != 1 or len(token) > 512:
            return None
        body, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(body.encode())):
            return None
        try:
            data = json.loads(_unb64(body))
            client, expires = str(data["c"]), int(data["e"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires <= (now if now is not None else time.time()):
            return None
        return Session(client, expires, token)

    def csrf(self, session: Session) -> str:
        """The token a form of this session must carry."""
        return self._mac(b"csrf|" + session.token.encode())

    def csrf_ok(self, session: Session, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given), self.csrf(session))


async def active_principal(db: Database, name: str) -> Principal | None:
    """The client named ``name`` as it is now (None when revoked or gone)."""
    async with db.reading() as session:
        row = await session.scalar(select(ApiClient).where(ApiClient.name == name))
    if row is None or not row.active:
        return None
    return Principal(row.name, frozenset(row.scopes))
