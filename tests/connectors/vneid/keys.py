"""Signing keys and token builders for the OpenID client's tests.

Keys are generated once, when the module is first imported (RSA generation is slow). Besides
well-formed tokens, this builds the forgeries a client must refuse: ``alg: none`` and HMAC
"signed" with the provider's public key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey

#: the provider's current key
RSA_1 = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig", "alg": "RS256"})
#: the key it rotates to
RSA_2 = RSAKey.generate_key(2048, parameters={"kid": "rsa-2", "use": "sig"})
#: a key nobody published, used to forge signatures under a published kid
ROGUE = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
#: an elliptic-curve key (ES256)
EC_1 = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"})


def jwks(*keys: Key) -> dict[str, Any]:
    """The public key set publishing ``keys``."""
    return {"keys": [k.as_dict(private=False) for k in keys]}


def sign(
    claims: dict[str, Any],
    key: Key = RSA_1,
    *,
    alg: str = "RS256",
    kid: str | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    """A JWS-signed token; ``kid`` defaults to the key's own."""
    head: dict[str, Any] = {"alg": alg, "kid": kid if kid is not None else key.kid}
    head.update(header or {})
    return jwt.encode(head, claims, key, algorithms=[alg])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def unsigned(claims: dict[str, Any], *, kid: str = "rsa-1") -> str:
    """``alg: none``: no signature at all (RFC 7519 section 6)."""
    return _segments({"alg": "none", "kid": kid, "typ": "JWT"}, claims) + "."


def hmac_with_public_key(claims: dict[str, Any], key: RSAKey = RSA_1) -> str:
    """HS256 keyed with the provider's public key: the classic algorithm-confusion forgery."""
    signing_input = _segments({"alg": "HS256", "kid": key.kid, "typ": "JWT"}, claims)
    secret = key.as_pem(private=False)
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64(mac)


def tampered(token: str, claims: dict[str, Any]) -> str:
    """``token``'s header and signature around another payload."""
    head, _, sig = token.split(".")
    return head + "." + _b64(json.dumps(claims).encode()) + "." + sig
