"""OpenID Connect client of one identity provider (VNeID or DVCQG SSO), over the recording client.

Contracts:

* Discovery (``{issuer}/.well-known/openid-configuration``) is read once and kept for
  ``jwks_ttl_seconds``; concurrent callers share one fetch. The document must name the
  configured issuer exactly (OpenID Connect Discovery 1.0, section 4.3) and its endpoints must
  be http(s) URLs. Whether it advertises PKCE with S256 decides whether logins use PKCE
  (:attr:`ProviderMetadata.pkce`); the request's shape is :mod:`connectors.vneid.mapping`'s.
* The key set (``jwks_uri``) is kept for the same time. A token whose ``kid`` is not in the
  cached set makes the client read the set again, once for that token and never more; a ``kid``
  still unknown after that is refused. Concurrent refreshes share one fetch. (ID tokens come
  from the token endpoint, not from the browser, so a forged ``kid`` cannot be used to make the
  gateway hammer the provider.)
* ID tokens are verified with joserfc: the header's ``alg`` is checked against
  ``provider.algorithms`` before any key is looked at (so ``none`` and every HMAC algorithm,
  whose "secret" would be the provider's public key, are refused unread); the key must be of the
  type and curve the algorithm needs; then the signature, and the claims ``iss``, ``aud``,
  ``azp``, ``exp``, ``iat``, ``nbf`` (with ``provider.leeway_seconds``), ``sub``, and
  ``nonce`` where the provider returns one (:func:`connectors.vneid.mapping.nonce_problem`).
  A failure is :class:`~connectors.vneid.errors.IdTokenRejected` whose ``check`` names it.
* The token request authenticates with ``client_secret_post``, as the public callers do. The
  client secret, the code and the PKCE verifier are blanked out of the exchange log's copy of
  the request
  (``lgsp_redact``), in the form they travel in (form-encoded) and as they are. The access
  token travels in a header, which is not recorded.
* Every answer is bounded (``lgsp_max_response_bytes``, and checked again after reading) and
  must be a JSON object; anything else is :class:`~gateway.core.errors.InvalidUpstreamAnswer`.
* No error and no log line carries a token, a code, a verifier or a secret: details name the
  check that failed, never the value.
* Wire operations are recorded as ``<provider>.discovery``, ``.jwks``, ``.token`` and
  ``.userinfo``. Nothing is retried here: an authorization code is single-use, and the login
  flow decides what a failed read means.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from base64 import urlsafe_b64encode
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
import structlog
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import ECKey, Key, RSAKey, import_key
from joserfc.jws import JWSRegistry
from pydantic import SecretStr

from connectors.vneid import mapping
from connectors.vneid.config import ProviderConfig
from connectors.vneid.errors import CodeRejected, IdTokenRejected, UserinfoMismatch
from gateway.core.errors import (
    FieldError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
    UpstreamError,
)
from gateway.core.http.recording import ResponseTooLarge, retry_after_seconds

__all__ = ["OidcClient", "ProviderMetadata", "TokenSet", "code_challenge"]

log = structlog.get_logger(__name__)

WELL_KNOWN = "/.well-known/openid-configuration"
#: bound on discovery, token and userinfo answers
MAX_DOCUMENT_BYTES = 64 * 1024
#: bound on the key set, and on the number of keys in it
MAX_JWKS_BYTES = 256 * 1024
MAX_JWKS_KEYS = 32
#: bound on an ID token (joserfc bounds header, payload and signature again)
MAX_ID_TOKEN_CHARS = 16 * 1024

# RFC 7636 section 4.1 (verifier) and 4.2 (S256 challenge: 32 bytes, base64url, no padding)
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
# an OAuth error code (RFC 6749 section 5.2), as we are willing to repeat it
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# the key type (and curve) each signing algorithm needs (RFC 7518 section 3.1)
_KEY_FOR_ALG: Mapping[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
}
# what an invalid claim means, as a reader of the error should see it (no values)
_CLAIM_PROBLEMS: Mapping[str, str] = {
    "iss": "its issuer (iss) is not the configured issuer",
    "aud": "its audience (aud) does not include this gateway's client id",
    "sub": "its subject (sub) is empty or not a string",
    "exp": "its expiry (exp) is not a NumericDate",
    "iat": "it was issued in the future (iat), beyond the allowed clock skew",
    "nbf": "it is not valid yet (nbf), beyond the allowed clock skew",
}


def code_challenge(verifier: str) -> str:
    """The S256 PKCE challenge of ``verifier`` (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of a provider's discovery document the gateway uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()

    @property
    def pkce(self) -> bool:
        """Does the provider advertise PKCE with S256 (so that logins use it)?"""
        return mapping.supports_pkce(self.code_challenge_methods_supported)


@dataclass(frozen=True, slots=True)
class TokenSet:
    """The token endpoint's answer. ``expires_in`` is 0 when the provider did not say;
    ``scope`` is the granted scope (the requested one when the provider did not say)."""

    access_token: SecretStr
    id_token: SecretStr
    refresh_token: SecretStr | None
    expires_in: int
    scope: str


@dataclass(frozen=True, slots=True)
class _Cached:
    metadata: ProviderMetadata
    expires_at: float


_TOKEN_FIELDS = ("access_token", "id_token", "refresh_token")


def _scrub_tokens(answer: bytes) -> bytes:
    """The token answer as the exchange log keeps it: the tokens blanked (they are bearer
    credentials), the rest (type, lifetime, scope, error) as sent. Not JSON: kept as is."""
    try:
        data = json.loads(answer)
    except ValueError:
        return answer
    if not isinstance(data, dict):
        return answer
    for name in _TOKEN_FIELDS:
        if name in data:
            data[name] = "***"
    return json.dumps(data, ensure_ascii=False).encode()


class OidcClient:
    """One provider's OpenID Connect endpoints, as one relying party (``provider.client_id``)."""

    def __init__(
        self,
        provider: ProviderConfig,
        http: httpx.AsyncClient,
        *,
        jwks_ttl_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._provider = provider
        self._http = http
        self._ttl = float(jwks_ttl_seconds)
        self._clock = clock
        self._timeout = httpx.Timeout(provider.timeout_seconds)
        # httpx's timeouts bound each phase; this bounds the whole call (a slow drip too)
        self._deadline = provider.timeout_seconds
        scopes = list(provider.scopes)
        self._scope = " ".join(scopes if "openid" in scopes else ["openid", *scopes])
        self._metadata: _Cached | None = None
        self._metadata_lock = asyncio.Lock()
        self._keys: tuple[Key, ...] | None = None
        self._keys_expire_at = 0.0
        self._keys_generation = 0
        self._keys_lock = asyncio.Lock()

    @property
    def provider(self) -> ProviderConfig:
        return self._provider

    # --- discovery -------------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        """The provider's discovery document, read at most once per ``jwks_ttl_seconds``."""
        cached = self._metadata
        if cached is not None and self._clock() < cached.expires_at:
            return cached.metadata
        async with self._metadata_lock:
            cached = self._metadata
            if cached is not None and self._clock() < cached.expires_at:
                return cached.metadata
            url = self._provider.issuer + WELL_KNOWN
            response = await self._send("GET", url, "discovery", limit=MAX_DOCUMENT_BYTES)
            if not response.is_success:
                raise self._status_error(response, "discovery document")
            document = self._json_object(response, "discovery document")
            metadata = self._validated_metadata(document)
            self._metadata = _Cached(metadata, self._clock() + self._ttl)
            return metadata

    def _validated_metadata(self, document: Mapping[str, Any]) -> ProviderMetadata:
        title = self._provider.title
        if document.get("issuer") != self._provider.issuer:
            # OpenID Connect Discovery 1.0, section 4.3: exactly the issuer we asked
            raise PermanentUpstreamError(
                f"{title}'s discovery document names another issuer than the configured one",
                errors=[FieldError("issuer", "not the configured issuer")],
            )
        errors: list[FieldError] = []
        endpoints: dict[str, str | None] = {}
        for name in (
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "end_session_endpoint",
        ):
            value = document.get(name)
            if value is None and name == "end_session_endpoint":
                endpoints[name] = None
            elif _is_http_url(value):
                endpoints[name] = value
            else:
                errors.append(FieldError(name, "missing or not an http(s) URL"))
        lists: dict[str, tuple[str, ...]] = {}
        for name in (
            "id_token_signing_alg_values_supported",
            "code_challenge_methods_supported",
            "response_types_supported",
        ):
            value = document.get(name, [])
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                lists[name] = tuple(value)
            else:
                errors.append(FieldError(name, "not a list of strings"))
        if errors:
            raise InvalidUpstreamAnswer(
                f"{title}'s discovery document breaks OpenID Connect Discovery", errors=errors
            )
        methods = lists["code_challenge_methods_supported"]
        if not mapping.supports_pkce(methods):
            # as the public callers meet these providers: logins go without PKCE
            log.info("identity.pkce_not_advertised", provider=self._provider.name)
        algs = lists["id_token_signing_alg_values_supported"]
        if algs and not set(algs) & set(self._provider.algorithms):
            raise PermanentUpstreamError(
                f"{title} signs ID tokens with none of the allowed algorithms "
                f"({', '.join(self._provider.algorithms)})",
                errors=[FieldError("id_token_signing_alg_values_supported", "none allowed")],
            )
        response_types = lists["response_types_supported"]
        if response_types and "code" not in response_types:
            raise PermanentUpstreamError(
                f"{title} does not support the authorization code flow",
                errors=[FieldError("response_types_supported", "code missing")],
            )
        return ProviderMetadata(
            issuer=self._provider.issuer,
            authorization_endpoint=str(endpoints["authorization_endpoint"]),
            token_endpoint=str(endpoints["token_endpoint"]),
            userinfo_endpoint=str(endpoints["userinfo_endpoint"]),
            jwks_uri=str(endpoints["jwks_uri"]),
            end_session_endpoint=endpoints["end_session_endpoint"],
            id_token_signing_alg_values_supported=algs,
            code_challenge_methods_supported=methods,
        )

    # --- authorization request -------------------------------------------------------------

    def authorization_url(
        self,
        meta: ProviderMetadata,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str | None,
    ) -> str:
        """Where to send the user: the authorization request as the public callers make it
        (with ``acr_values`` where configured), plus ``nonce`` and, when ``code_challenge`` is
        given (a provider advertising S256), PKCE (:func:`connectors.vneid.mapping.
        authorization_params`)."""
        errors = self._redirect_errors(redirect_uri)
        if not state:
            errors.append(FieldError("state", "empty"))
        if not nonce:
            errors.append(FieldError("nonce", "empty"))
        if code_challenge is not None and not _CHALLENGE.fullmatch(code_challenge):
            errors.append(
                FieldError("code_challenge", "not an S256 challenge (43 base64url characters)")
            )
        if code_challenge is not None and not meta.pkce:
            errors.append(FieldError("code_challenge", "the provider does not advertise S256"))
        if errors:
            raise InvalidInput("the authorization request cannot be built", errors=errors)
        params = mapping.authorization_params(
            self._provider,
            scope=self._scope,
            redirect_uri=redirect_uri,
            state=state,
            nonce=nonce,
            code_challenge=code_challenge,
        )
        return _with_query(meta.authorization_endpoint, params)

    def end_session_url(
        self,
        meta: ProviderMetadata,
        *,
        id_token_hint: str | None,
        post_logout_redirect_uri: str | None,
        state: str | None,
    ) -> str | None:
        """The RP-initiated logout URL, or None when the provider has no end-session endpoint.
        Without an ``id_token_hint`` the client id is sent instead (RP-Initiated Logout 1.0)."""
        if meta.end_session_endpoint is None:
            return None
        if post_logout_redirect_uri is not None and not _is_http_url(post_logout_redirect_uri):
            raise InvalidInput(
                "the logout request cannot be built",
                errors=[FieldError("post_logout_redirect_uri", "not an http(s) URL")],
            )
        params: dict[str, str] = {}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        else:
            params["client_id"] = self._provider.client_id
        if post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = post_logout_redirect_uri
        if state:
            params["state"] = state
        return _with_query(meta.end_session_endpoint, params)

    # --- token request ---------------------------------------------------------------------

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None
    ) -> TokenSet:
        """The authorization code for the provider's tokens (``client_secret_post``); the
        PKCE verifier when the login sent a challenge, else None."""
        errors = self._redirect_errors(redirect_uri)
        if not code:
            errors.append(FieldError("code", "empty"))
        if code_verifier is not None and not _VERIFIER.fullmatch(code_verifier):
            errors.append(FieldError("code_verifier", "not an RFC 7636 verifier"))
        if errors:
            raise InvalidInput("the code cannot be exchanged", errors=errors)
        meta = await self.metadata()
        secret = self._provider.client_secret.get_secret_value()
        form = mapping.token_form(
            self._provider, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )
        hidden = (secret, code, code_verifier or "")
        response = await self._send(
            "POST",
            meta.token_endpoint,
            "token",
            limit=MAX_DOCUMENT_BYTES,
            # encoded here, so that what is redacted is exactly what travels
            content=urlencode(form).encode("ascii"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            redact=_redactions(hidden),
            scrub_answer=_scrub_tokens,
        )
        if not response.is_success:
            raise self._token_error(response, hidden)
        return self._token_set(self._json_object(response, "token answer"))

    def _token_error(self, response: httpx.Response, hidden: Sequence[str]) -> UpstreamError:
        title, status = self._provider.title, response.status_code
        error, description = _oauth_error(response, hidden)
        said = f" ({error}{': ' + description if description else ''})" if error else ""
        if error == "invalid_client" or status in (401, 403):
            return UpstreamAuthError(
                f"{title} refused the gateway's client credentials (HTTP {status}){said}",
                code=error,
            )
        if status == 429 or status >= 500:
            return TransientUpstreamError(
                f"{title}'s token endpoint failed (HTTP {status})",
                code=error,
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        if status == 400 and error in ("unauthorized_client", "unsupported_grant_type"):
            return PermanentUpstreamError(
                f"{title} refused the gateway's token request (HTTP 400){said}; "
                "check the client's registration with the provider",
                code=error,
            )
        if status == 400:
            return CodeRejected(
                f"{title} refused the authorization code{said}: it was already used, has "
                "expired, or does not match this login; log in again",
                code=error,
            )
        return PermanentUpstreamError(
            f"{title} refused the token request (HTTP {status}){said}", code=error
        )

    def _token_set(self, data: Mapping[str, Any]) -> TokenSet:
        errors: list[FieldError] = []
        # RFC 6749 section 5.1: the type is case-insensitive; none of the public callers reads
        # it, so an answer without one is read as Bearer, but another type is refused
        token_type = data.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            errors.append(FieldError("token_type", "not Bearer"))
        access_token, id_token = data.get("access_token"), data.get("id_token")
        if not isinstance(access_token, str) or not access_token:
            errors.append(FieldError("access_token", "missing"))
        if not isinstance(id_token, str) or not id_token:
            errors.append(FieldError("id_token", "missing (was the openid scope granted?)"))
        refresh_token = data.get("refresh_token")
        if refresh_token is not None and not isinstance(refresh_token, str):
            errors.append(FieldError("refresh_token", "not a string"))
        expires_in = data.get("expires_in", 0)
        if isinstance(expires_in, str) and expires_in.isascii() and expires_in.isdigit():
            expires_in = int(expires_in)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in < 0:
            errors.append(FieldError("expires_in", "not a number of seconds"))
        scope = data.get("scope", self._scope)
        if not isinstance(scope, str):
            errors.append(FieldError("scope", "not a string"))
        if errors:
            raise InvalidUpstreamAnswer(
                f"{self._provider.title}'s token answer breaks OpenID Connect", errors=errors
            )
        return TokenSet(
            access_token=SecretStr(str(access_token)),
            id_token=SecretStr(str(id_token)),
            refresh_token=SecretStr(refresh_token) if refresh_token else None,
            expires_in=int(expires_in),
            scope=str(scope),
        )

    # --- ID token --------------------------------------------------------------------------

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of ``id_token`` once every check passed, or :class:`IdTokenRejected`.
        ``nonce`` is this login's: the token's must equal it, if the token carries one."""
        if not nonce:
            raise ValueError("the expected nonce is empty")
        header = self._header(id_token)
        alg, kid = str(header["alg"]), str(header["kid"])
        key = await self._signing_key(kid, alg)
        # only the one algorithm already checked; headers joserfc does not know are tolerated
        # unless marked critical (RFC 7515 section 4.1.11)
        registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
        try:
            token = jwt.decode(id_token, key, registry=registry)
        except BadSignatureError:
            raise self._rejected("signature", "its signature does not verify") from None
        except JoseError as exc:
            raise self._rejected("format", f"it cannot be read ({exc.error})") from None
        claims = dict(token.claims)
        self._check_claims(claims, nonce)
        return claims

    def _header(self, id_token: str) -> dict[str, Any]:
        if not isinstance(id_token, str) or not 0 < len(id_token) <= MAX_ID_TOKEN_CHARS:
            raise self._rejected("format", "it is empty or too large")
        try:
            header = jws.extract_compact(id_token.encode("ascii")).headers()
        except (JoseError, ValueError, TypeError):
            raise self._rejected("format", "it is not a signed JWT") from None
        if not isinstance(header, dict):
            raise self._rejected("format", "its header is not a JSON object")
        alg = header.get("alg")
        # before any key is touched: never "none", never HMAC keyed with a public key
        if not isinstance(alg, str) or alg not in self._provider.algorithms:
            raise self._rejected(
                "alg",
                f"it is signed with {_shown(alg)}, not one of "
                f"{', '.join(self._provider.algorithms)}",
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise self._rejected("kid", "its header names no key (kid)")
        return header

    async def _signing_key(self, kid: str, alg: str) -> Key:
        keys, generation, fresh = await self._key_set()
        candidates = [k for k in keys if k.kid == kid]
        if not candidates and not fresh:
            # the provider may have rotated its keys since we read them: one refresh, no more
            log.info("identity.jwks_refresh", provider=self._provider.name, kid=_shown(kid))
            keys, _, _ = await self._key_set(refresh_after=generation)
            candidates = [k for k in keys if k.kid == kid]
        if not candidates:
            raise self._rejected("kid", f"its key {_shown(kid)} is not in the provider's key set")
        fitting = [k for k in candidates if _fits(k, alg)]
        if not fitting:
            raise self._rejected("kid", f"its key {_shown(kid)} is not a key for {alg}")
        return fitting[0]

    async def _key_set(
        self, *, refresh_after: int | None = None
    ) -> tuple[tuple[Key, ...], int, bool]:
        """The cached keys, their generation, and whether they were read during this call.

        With ``refresh_after``, the set is read again unless its generation moved on since the
        caller saw it (another caller refreshed it meanwhile)."""
        keys = self._keys
        if refresh_after is None and keys is not None and self._clock() < self._keys_expire_at:
            return keys, self._keys_generation, False
        async with self._keys_lock:
            keys = self._keys
            if keys is not None:
                if refresh_after is None and self._clock() < self._keys_expire_at:
                    return keys, self._keys_generation, True
                if refresh_after is not None and self._keys_generation != refresh_after:
                    return keys, self._keys_generation, True
            meta = await self.metadata()
            keys = await self._fetch_keys(meta.jwks_uri)
            self._keys = keys
            self._keys_generation += 1
            self._keys_expire_at = self._clock() + self._ttl
            return keys, self._keys_generation, True

    async def _fetch_keys(self, url: str) -> tuple[Key, ...]:
        title = self._provider.title
        response = await self._send("GET", url, "jwks", limit=MAX_JWKS_BYTES)
        if not response.is_success:
            raise self._status_error(response, "key set")
        document = self._json_object(response, "key set")
        entries = document.get("keys")
        if not isinstance(entries, list) or len(entries) > MAX_JWKS_KEYS:
            raise InvalidUpstreamAnswer(
                f"{title}'s key set breaks RFC 7517",
                errors=[FieldError("keys", f"not a list of at most {MAX_JWKS_KEYS} keys")],
            )
        keys: list[Key] = []
        for entry in entries:
            # RFC 7517 section 5: a key that cannot be used is ignored, not fatal; symmetric
            # keys and encryption keys are never signing keys for an ID token here
            if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                key = import_key(entry)
            except (JoseError, ValueError, TypeError, KeyError):
                log.warning("identity.jwks_key_ignored", provider=self._provider.name)
                continue
            keys.append(key)
        if not keys:
            raise InvalidUpstreamAnswer(f"{title}'s key set holds no usable signing key")
        return tuple(keys)

    def _check_claims(self, claims: dict[str, Any], nonce: str) -> None:
        provider = self._provider
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            leeway=provider.leeway_seconds,
            iss={"essential": True, "value": provider.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": provider.client_id},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except MissingClaimError as exc:
            raise self._rejected(exc.claim, f"it lacks the claim(s) {exc.claim}") from None
        except ExpiredTokenError:
            raise self._rejected("exp", "it has expired (exp), beyond the allowed skew") from None
        except ClaimError as exc:
            problem = _CLAIM_PROBLEMS.get(exc.claim, f"its claim {exc.claim} is invalid")
            raise self._rejected(exc.claim, problem) from None
        # what the registry does not check, or checks more loosely than OpenID Connect Core
        # 1.0 section 3.1.3.7 asks
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if provider.client_id not in audiences:
            raise self._rejected("aud", _CLAIM_PROBLEMS["aud"])
        azp = claims.get("azp")
        if azp is None and len(audiences) > 1:
            raise self._rejected("azp", "it names several audiences but no authorized party (azp)")
        if azp is not None and azp != provider.client_id:
            raise self._rejected("azp", "its authorized party (azp) is not this gateway")
        mismatch = mapping.nonce_problem(claims, nonce)
        if mismatch is not None:
            raise self._rejected("nonce", mismatch)

    def _rejected(self, check: str, reason: str) -> IdTokenRejected:
        log.warning("identity.id_token_rejected", provider=self._provider.name, check=check)
        return IdTokenRejected(
            f"{self._provider.title}'s ID token was refused: {reason}", check=check
        )

    # --- userinfo --------------------------------------------------------------------------

    async def userinfo(self, access_token: SecretStr, *, expected_sub: str) -> dict[str, Any]:
        """The userinfo claims, which must speak of ``expected_sub`` (the ID token's ``sub``;
        OpenID Connect Core 1.0 section 5.3.2)."""
        meta = await self.metadata()
        title = self._provider.title
        response = await self._send(
            "GET",
            meta.userinfo_endpoint,
            "userinfo",
            limit=MAX_DOCUMENT_BYTES,
            headers={
                "Authorization": f"Bearer {access_token.get_secret_value()}",
                "Accept": "application/json",
            },
        )
        if not response.is_success:
            raise self._status_error(response, "userinfo endpoint")
        if response.headers.get("content-type", "").startswith("application/jwt"):
            raise InvalidUpstreamAnswer(f"{title} answered a signed userinfo, not supported")
        claims = self._json_object(response, "userinfo answer")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            log.warning("identity.userinfo_mismatch", provider=self._provider.name, sub="missing")
            raise UserinfoMismatch(f"{title}'s userinfo answer names no subject (sub)")
        if sub != expected_sub:
            log.warning("identity.userinfo_mismatch", provider=self._provider.name, sub="other")
            raise UserinfoMismatch(
                f"{title}'s userinfo speaks of another subject than the ID token"
            )
        return claims

    # --- internals -------------------------------------------------------------------------

    def _redirect_errors(self, redirect_uri: str) -> list[FieldError]:
        if redirect_uri in self._provider.redirect_uris:
            return []
        return [
            FieldError("redirect_uri", f"not a redirect URI registered with {self._provider.title}")
        ]

    async def _send(
        self,
        method: str,
        url: str,
        operation: str,
        *,
        limit: int,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        redact: tuple[bytes, ...] = (),
        scrub_answer: Callable[[bytes], bytes] | None = None,
    ) -> httpx.Response:
        title = self._provider.title
        try:
            async with asyncio.timeout(self._deadline):
                response = await self._http.request(
                    method,
                    url,
                    content=content,
                    headers=headers,
                    timeout=self._timeout,
                    extensions={
                        "lgsp_operation": f"{self._provider.name}.{operation}",
                        "lgsp_redact": redact,
                        "lgsp_max_response_bytes": limit,
                        "lgsp_scrub_answer": scrub_answer,
                    },
                )
        except TimeoutError:
            raise TransientUpstreamError(
                f"{title} did not answer {operation} within {self._deadline:g} s"
            ) from None
        except ResponseTooLarge:
            raise InvalidUpstreamAnswer(
                f"{title}'s {operation} answer was refused: larger than {limit} bytes"
            ) from None
        except httpx.HTTPError as exc:
            raise TransientUpstreamError(
                f"{title} is unreachable ({operation}): {type(exc).__name__}"
            ) from None
        # a client without the recording transport does not enforce the bound while reading
        if len(response.content) > limit:
            raise InvalidUpstreamAnswer(
                f"{title}'s {operation} answer was refused: larger than {limit} bytes"
            )
        return response

    def _status_error(self, response: httpx.Response, what: str) -> UpstreamError:
        title, status = self._provider.title, response.status_code
        if status in (401, 403):
            return UpstreamAuthError(f"{title}'s {what} refused the gateway (HTTP {status})")
        if status == 429 or status >= 500:
            return TransientUpstreamError(
                f"{title}'s {what} failed (HTTP {status})",
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        return PermanentUpstreamError(f"{title}'s {what} refused the request (HTTP {status})")

    def _json_object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = json.loads(response.content)
        except ValueError:
            raise InvalidUpstreamAnswer(
                f"{self._provider.title}'s {what} is not JSON (HTTP {response.status_code})"
            ) from None
        if not isinstance(data, dict):
            raise InvalidUpstreamAnswer(f"{self._provider.title}'s {what} is not a JSON object")
        return data


def _fits(key: Key, alg: str) -> bool:
    """Is ``key`` a key ``alg`` may verify with (type, curve, declared use and algorithm)?"""
    wanted = _KEY_FOR_ALG.get(alg)
    if wanted is None:
        return False
    kty, crv = wanted
    if kty == "RSA" and not isinstance(key, RSAKey):
        return False
    if kty == "EC" and not (isinstance(key, ECKey) and key.get("crv") == crv):
        return False
    return key.get("use") in (None, "sig") and key.get("alg") in (None, alg)


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def _redactions(values: Sequence[str]) -> tuple[bytes, ...]:
    """Each value as it travels in a form body, and as it is (longest first)."""
    found: set[bytes] = set()
    for value in values:
        if value:
            found.add(quote_plus(value).encode("ascii"))
            found.add(value.encode())
    return tuple(sorted(found, key=len, reverse=True))


def _oauth_error(response: httpx.Response, hidden: Sequence[str]) -> tuple[str | None, str]:
    """The OAuth ``error`` code and a short ``error_description`` (without anything in
    ``hidden``, should the provider echo the request)."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    error = data.get("error")
    code = error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else None
    description = data.get("error_description")
    if not isinstance(description, str) or code is None:
        return code, ""
    for value in hidden:
        if value:
            description = description.replace(value, "***").replace(quote_plus(value), "***")
    return code, "".join(c for c in description if c.isprintable())[:200]


def _shown(value: object) -> str:
    """A header value as an error may quote it: short, and as a literal."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
