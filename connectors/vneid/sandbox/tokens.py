"""Signing keys and ID tokens of the identity simulator, honest and forged.

Each provider signs with its own RSA key (RS256, ``kid`` in the header) and publishes the
public half in its JWKS. Rotation makes a new key current and keeps the previous one published
(or drops it at once), as a provider does so that tokens signed just before the rotation still
verify. Generating a 2048-bit key takes tens of milliseconds, so each provider's first key is
generated once per process (:func:`default_key`) and shared by every simulator.

The forged tokens are what the misbehaviour switches send; joserfc refuses to make most of them
(by design), so they are assembled by hand here: ``alg: none`` with an empty signature, HS256
keyed with the provider's public key PEM (the algorithm-confusion attack), and a valid RS256
token whose signature bytes were altered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from connectors.vneid.sandbox.providers import ProviderName

__all__ = ["KeyRing", "Signing", "default_key", "new_key", "sign_id_token"]

_DEFAULT_KEYS: dict[str, RSAKey] = {}


def new_key(provider: ProviderName) -> RSAKey:
    """A fresh RS256 signing key with a new ``kid``."""
    kid = f"{provider}-{secrets.token_hex(8)}"
    return RSAKey.generate_key(
        2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True
    )


def default_key(provider: ProviderName) -> RSAKey:
    """``provider``'s first key, generated once per process."""
    key = _DEFAULT_KEYS.get(provider)
    if key is None:
        key = _DEFAULT_KEYS[provider] = new_key(provider)
    return key


@dataclass
class KeyRing:
    """One provider's keys: the current one signs; all of them are published."""

    current: RSAKey
    previous: list[RSAKey] = field(default_factory=list)

    def rotate(self, provider: ProviderName, *, keep_previous: bool = True) -> RSAKey:
        """Make a new key current; the old one stays published only with ``keep_previous``
        (and only until the next rotation)."""
        old = self.current
        self.current = new_key(provider)
        self.previous = [old] if keep_previous else []
        return self.current

    @property
    def published(self) -> list[RSAKey]:
        return [self.current, *self.previous]

    def jwks(self) -> dict[str, Any]:
        """The JWKS document: public halves only."""
        return {"keys": [key.as_dict(private=False) for key in self.published]}

    def key_set(self) -> KeySet:
        return KeySet(list(self.published))

    def describe(self) -> dict[str, Any]:
        return {"current": self.current.kid, "published": [key.kid for key in self.published]}


@dataclass(frozen=True, slots=True)
class Signing:
    """How to sign one token: honestly, or one of the forgeries (``alg_none`` wins over
    ``hmac_with_public_key``, which wins over ``bad_signature``)."""

    alg_none: bool = False
    hmac_with_public_key: bool = False
    bad_signature: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def sign_id_token(claims: dict[str, Any], key: RSAKey, signing: Signing | None = None) -> str:
    """The compact JWT for ``claims``, signed with ``key`` as ``signing`` says (honestly when
    None)."""
    signing = signing or Signing()
    if signing.alg_none:
        return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."
    if signing.hmac_with_public_key:
        signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}."
        signing_input += _segment(claims)
        # the "secret" is the public key every client can download: a verifier that lets the
        # token choose its algorithm and hands the RSA key to HMAC accepts this forgery
        secret = key.as_pem(private=False)
        mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"
    token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key, algorithms=["RS256"])
    if signing.bad_signature:
        head, payload, signature = token.split(".")
        raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
        raw[len(raw) // 2] ^= 0xFF
        token = f"{head}.{payload}.{_b64(bytes(raw))}"
    return token
