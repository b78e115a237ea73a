"""One login, from the authorisation URL to the verified identity.

:func:`begin` draws the login's ``state``, ``nonce`` and, where the provider advertises PKCE
with S256, a PKCE verifier, and keeps them, encrypted, in the state store for
``login_ttl_seconds``, under a digest of the state (the state itself, which travels in URLs, is
never a key). :func:`complete` takes them back in one atomic step, so a state is good for one
callback only, whoever races for it; then exchanges the code (with the verifier, if the login
used PKCE), verifies the ID token (signature, algorithm, issuer, audience, times, and the nonce
where the provider returns it), consumes a returned nonce (a nonce seen once is refused
forever after, within its lifetime), checks userinfo against the token's ``sub``, maps the
claims, and enforces the assurance level the login was started with. What is sent and why is
:mod:`connectors.vneid.mapping`'s.

Provider tokens stay in the gateway: they are kept encrypted under an opaque session id for
their lifetime, for clients holding ``identity:tokens`` (:func:`session_tokens`), and for the
logout URL's ``id_token_hint``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from connectors.vneid.client import OidcClient, code_challenge
from connectors.vneid.errors import AssuranceTooLow, IdTokenRejected, LoginStateInvalid
from connectors.vneid.mapping import map_claims
from connectors.vneid.models import DinhDanh
from gateway.core.crypto import BodyCipher
from gateway.core.store.state import StateStore

__all__ = ["LoginStart", "begin", "complete", "logout_url", "session_tokens"]


@dataclass(frozen=True, slots=True)
class LoginStart:
    authorization_url: str
    state: str
    expires_in: int
    muc_dam_bao_toi_thieu: int


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _seal(cipher: BodyCipher, key: str, data: dict[str, Any]) -> bytes:
    return cipher.encrypt(json.dumps(data).encode(), key.encode())


def _open(cipher: BodyCipher, key: str, sealed: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cipher.decrypt(sealed, key.encode()))
    return data


async def begin(
    store: StateStore,
    cipher: BodyCipher,
    client: OidcClient,
    *,
    redirect_uri: str,
    min_level: int,
    ttl_seconds: int,
) -> LoginStart:
    """The URL to send the user to, and the state that will come back with the code."""
    meta = await client.metadata()
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # PKCE only where advertised; 86 characters, within RFC 7636's 43..128
    verifier = secrets.token_urlsafe(64) if meta.pkce else None
    url = client.authorization_url(
        meta,
        redirect_uri=redirect_uri,
        state=state,
        nonce=nonce,
        code_challenge=code_challenge(verifier) if verifier is not None else None,
    )
    key = f"identity:login:{_digest(state)}"
    record = {
        "provider": client.provider.name,
        "nonce": nonce,
        "verifier": verifier,
        "redirect_uri": redirect_uri,
        "min_level": min_level,
        "started": time.time(),
    }
    await store.set(key, _seal(cipher, key, record), ttl=ttl_seconds)
    return LoginStart(url, state, ttl_seconds, min_level)


async def complete(
    store: StateStore,
    cipher: BodyCipher,
    client: OidcClient,
    *,
    code: str,
    state: str,
    nonce_ttl_seconds: int,
) -> tuple[DinhDanh, str]:
    """The verified identity and the session id its tokens are kept under."""
    key = f"identity:login:{_digest(state)}"
    sealed = await store.take(key)
    if sealed is None:
        raise LoginStateInvalid("the login state is unknown, expired or already used")
    record = _open(cipher, key, sealed)
    if record["provider"] != client.provider.name:
        raise LoginStateInvalid("the login state belongs to another provider")
    tokens = await client.exchange_code(
        code=code, redirect_uri=record["redirect_uri"], code_verifier=record["verifier"]
    )
    claims = await client.verify_id_token(tokens.id_token.get_secret_value(), nonce=record["nonce"])
    # a returned nonce is single-use even if a provider (or an attacker) presents it again
    if "nonce" in claims and not await store.set_if_absent(
        f"identity:nonce:{_digest(record['nonce'])}", b"1", ttl=nonce_ttl_seconds
    ):
        raise IdTokenRejected("the ID token's nonce was already used by an earlier login")
    info = await client.userinfo(tokens.access_token, expected_sub=str(claims["sub"]))
    identity = map_claims(client.provider.name, claims, info)
    if identity.muc_dam_bao < int(record["min_level"]):
        raise AssuranceTooLow(
            f"this service needs an account of level {record['min_level']}; "
            f"the account logged in at level {identity.muc_dam_bao}"
        )
    session_id = secrets.token_urlsafe(24)
    session_key = f"identity:session:{_digest(session_id)}"
    kept = {
        "provider": client.provider.name,
        "access_token": tokens.access_token.get_secret_value(),
        "id_token": tokens.id_token.get_secret_value(),
        "refresh_token": tokens.refresh_token.get_secret_value() if tokens.refresh_token else None,
        "expires_at": time.time() + tokens.expires_in,
        "scope": tokens.scope,
    }
    lifetime = max(tokens.expires_in, 60)
    await store.set(session_key, _seal(cipher, session_key, kept), ttl=lifetime)
    return identity, session_id


async def session_tokens(
    store: StateStore, cipher: BodyCipher, session_id: str
) -> dict[str, Any] | None:
    """The provider tokens of a session (for clients allowed to hold them), or None."""
    key = f"identity:session:{_digest(session_id)}"
    sealed = await store.get(key)
    return None if sealed is None else _open(cipher, key, sealed)


async def logout_url(
    store: StateStore,
    cipher: BodyCipher,
    client: OidcClient,
    *,
    session_id: str,
    post_logout_redirect_uri: str,
) -> str | None:
    """The provider's end-session URL for this session; the session is forgotten."""
    key = f"identity:session:{_digest(session_id)}"
    sealed = await store.take(key)
    if sealed is None:
        raise LoginStateInvalid("the session is unknown, expired or already logged out")
    kept = _open(cipher, key, sealed)
    if kept["provider"] != client.provider.name:
        raise LoginStateInvalid("the session belongs to another provider")
    meta = await client.metadata()
    return client.end_session_url(
        meta,
        id_token_hint=str(kept["id_token"]),
        post_logout_redirect_uri=post_logout_redirect_uri,
        state=secrets.token_urlsafe(16),
    )
