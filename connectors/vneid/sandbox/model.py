"""The identity simulator's vocabulary: switches, grants, counters, errors.

What :class:`connectors.vneid.sandbox.provider.OidcSimulator` works with, apart from the
providers' definitions (:mod:`connectors.vneid.sandbox.providers`), keys
(:mod:`connectors.vneid.sandbox.tokens`) and test accounts
(:mod:`connectors.vneid.sandbox.citizens`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connectors.vneid.sandbox.citizens import SandboxCitizen
from connectors.vneid.sandbox.providers import ENDPOINTS, PROVIDERS, Endpoint, ProviderName

__all__ = [
    "CODE_TTL_SECONDS",
    "IMPOSTOR_AUDIENCE",
    "LOGIN_LOG_SIZE",
    "NO_FAULTS",
    "PKCE_VALUE",
    "REFRESH_TTL_SECONDS",
    "STALE_NONCE",
    "TOKEN_SWITCHES",
    "TOKEN_TTL_SECONDS",
    "AuthorizationRequest",
    "FaultConfig",
    "Grant",
    "OAuthError",
    "SimStats",
    "pkce_challenge",
]

CODE_TTL_SECONDS = 60
TOKEN_TTL_SECONDS = 600
REFRESH_TTL_SECONDS = 8 * 3600
LOGIN_LOG_SIZE = 200
IMPOSTOR_AUDIENCE = "lgsp-impostor"
"""``aud`` and ``azp`` of a token made with ``wrong_audience``."""
STALE_NONCE = "nonce-of-an-earlier-login"
"""The nonce ``replay_nonce`` sends when there was no earlier login to replay."""
PKCE_VALUE = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636, 4.1 and 4.2


class FaultConfig(BaseModel):
    """Behaviour and misbehaviour switches; each holds until changed or reset.

    How the provider is built (both allowed by OpenID Connect, both met in the public record):
    ``no_pkce``, a provider that does not implement PKCE: its discovery document lists no
    ``code_challenge_methods_supported`` and it ignores ``code_challenge`` and
    ``code_verifier`` (RFC 6749, 3.1: unknown parameters are ignored); ``missing_nonce``, a
    provider that puts no ``nonce`` in its ID tokens, even when one was sent;
    ``legacy_provider``, both at once: the provider as the public callers meet it (OpenCPS
    and PASETO send neither PKCE nor a nonce).

    Token switches shape every ID token issued while on: ``expired_token`` (``exp`` one hour
    ago), ``wrong_audience`` (``aud`` and ``azp`` :data:`IMPOSTOR_AUDIENCE`), ``wrong_issuer``
    (the other provider's issuer), ``replay_nonce`` (the nonce of the login before this one),
    and the forgeries ``alg_none``, ``hmac_with_public_key``, ``bad_signature`` (see
    :mod:`connectors.vneid.sandbox.tokens`).
    ``userinfo_sub_mismatch``: userinfo answers another account's ``sub``. ``latency_ms``
    delays every provider endpoint; ``fail_endpoint`` answers HTTP 500 there;
    ``slow_endpoint`` sleeps ``slow_seconds`` there. ``provider`` limits all of it to one
    provider (None: both).
    """

    model_config = ConfigDict(extra="forbid")

    expired_token: bool = False
    wrong_audience: bool = False
    wrong_issuer: bool = False
    bad_signature: bool = False
    alg_none: bool = False
    hmac_with_public_key: bool = False
    replay_nonce: bool = False
    missing_nonce: bool = False
    no_pkce: bool = False
    legacy_provider: bool = False
    userinfo_sub_mismatch: bool = False
    latency_ms: float = Field(default=0.0, ge=0, le=60_000)
    fail_endpoint: Endpoint | None = None
    slow_endpoint: Endpoint | None = None
    slow_seconds: float = Field(default=5.0, ge=0, le=300)
    provider: ProviderName | None = None

    @property
    def pkce_supported(self) -> bool:
        """Does the provider implement PKCE (and say so in its discovery document)?"""
        return not (self.no_pkce or self.legacy_provider)

    @property
    def nonce_returned(self) -> bool:
        """Does the provider put the authorization request's nonce in its ID tokens?"""
        return not (self.missing_nonce or self.legacy_provider)


NO_FAULTS = FaultConfig()


@dataclass(slots=True)
class Grant:
    """What an authorization code, access token or refresh token stands for."""

    provider: ProviderName
    client_id: str
    citizen: SandboxCitizen
    scope: str
    nonce: str
    auth_time: int
    expires_at: float
    redirect_uri: str = ""
    code_challenge: str = ""
    previous_nonce: str | None = None


def _per_provider() -> dict[str, int]:
    return dict.fromkeys(PROVIDERS, 0)


@dataclass
class SimStats:
    """Counters per provider: ``calls`` by endpoint (faulted calls included), ``codes_issued``,
    ``tokens_issued`` (token answers), ``faulted_tokens`` (ID tokens shaped by a switch),
    ``jwks_fetched`` (JWKS documents served), ``errors`` by OAuth error code."""

    calls: dict[str, dict[str, int]] = field(
        default_factory=lambda: {p: dict.fromkeys(ENDPOINTS, 0) for p in PROVIDERS}
    )
    codes_issued: dict[str, int] = field(default_factory=_per_provider)
    tokens_issued: dict[str, int] = field(default_factory=_per_provider)
    faulted_tokens: dict[str, int] = field(default_factory=_per_provider)
    jwks_fetched: dict[str, int] = field(default_factory=_per_provider)
    errors: dict[str, dict[str, int]] = field(default_factory=lambda: {p: {} for p in PROVIDERS})

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": {p: dict(c) for p, c in self.calls.items()},
            "codes_issued": dict(self.codes_issued),
            "tokens_issued": dict(self.tokens_issued),
            "faulted_tokens": dict(self.faulted_tokens),
            "jwks_fetched": dict(self.jwks_fetched),
            "errors": {p: dict(c) for p, c in self.errors.items()},
        }


class OAuthError(Exception):
    """A refusal, answered as ``{"error", "error_description"}`` with ``status``."""

    def __init__(
        self, error: str, description: str, status: int = 400, www_authenticate: str | None = None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.www_authenticate = www_authenticate


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """An authorization request that passed every check; ``nonce``, ``code_challenge`` and
    ``acr_values`` are ``""`` when the request carried none (or, for PKCE, when the provider
    ignores it)."""

    provider: ProviderName
    client_id: str
    redirect_uri: str
    scope: str
    state: str
    nonce: str
    code_challenge: str
    acr_values: str = ""


def pkce_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` (RFC 7636, 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


TOKEN_SWITCHES = (
    "expired_token",
    "wrong_audience",
    "wrong_issuer",
    "bad_signature",
    "alg_none",
    "hmac_with_public_key",
    "replay_nonce",
    "missing_nonce",
    "legacy_provider",
)
"""The :class:`FaultConfig` switches that shape ID tokens."""
