"""The identity simulator's state and OpenID Connect logic, without HTTP.

:class:`OidcSimulator` holds both providers' keys, registered clients, test accounts,
outstanding authorization codes and tokens, the misbehaviour switches (``FaultConfig``),
counters and the last logins (ID numbers masked, with what each authorization request
carried), and implements the authorization code flow as the public callers use it, and as
OpenID Connect allows a relying party to harden it:

* authorization (:meth:`OidcSimulator.authorize`): ``client_id`` known, ``redirect_uri``
  registered for it (else refused without redirecting anywhere), ``response_type=code``,
  ``openid`` in ``scope``, ``state``, and at DVCQG ``acr_values`` (LoA1 or LoA2): exactly what
  OpenCPS and PASETO send. ``nonce`` and PKCE (``code_challenge`` with
  ``code_challenge_method=S256``) are optional; a provider switched to ``no_pkce`` (or
  ``legacy_provider``) ignores PKCE and does not advertise it;
* codes: single use, 60 s, bound to the client, redirect URI, challenge (if any) and nonce;
* token (:meth:`OidcSimulator.exchange`): ``client_secret_post`` (what the public callers
  use) or ``client_secret_basic`` (exactly one), then the code (or a refresh token), the
  redirect URI and, for a code bound to a challenge, the PKCE verifier; any failure spends the
  code. The ID token is RS256 with the current key's ``kid``; it carries the nonce the
  authorization request sent, unless the provider is switched to leave it out;
* userinfo (:meth:`OidcSimulator.userinfo`): a Bearer access token of this provider, by GET
  or POST (OpenCPS POSTs, fat2fast/yii2-auth GETs); the claims as the public readers read
  them (:mod:`connectors.vneid.sandbox.citizens`);
* end session (:meth:`OidcSimulator.end_session`): an ``id_token_hint`` this provider signed
  (an expired one is accepted, as RP-initiated logout allows) and a registered
  ``post_logout_redirect_uri``.

The simulator logs nothing; codes and tokens come from :mod:`secrets` (they are credentials,
even here). The HTTP app is :func:`connectors.vneid.sandbox.app.create_app`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus, urlencode

from joserfc import jwt
from joserfc.errors import JoseError

from connectors.vneid.sandbox.citizens import (
    SandboxCitizen,
    default_citizens,
    login_json,
    subject,
    userinfo_claims,
)
from connectors.vneid.sandbox.model import (
    CODE_TTL_SECONDS,
    IMPOSTOR_AUDIENCE,
    LOGIN_LOG_SIZE,
    NO_FAULTS,
    PKCE_VALUE,
    REFRESH_TTL_SECONDS,
    STALE_NONCE,
    TOKEN_SWITCHES,
    TOKEN_TTL_SECONDS,
    AuthorizationRequest,
    FaultConfig,
    Grant,
    OAuthError,
    SimStats,
    pkce_challenge,
)
from connectors.vneid.sandbox.providers import (
    ACR_VALUES,
    PROVIDERS,
    Client,
    ProviderName,
    default_clients,
)
from connectors.vneid.sandbox.tokens import KeyRing, Signing, default_key, new_key, sign_id_token

__all__ = ["OidcSimulator"]

_MAX_PARAM = 512


def _param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise OAuthError("invalid_request", f"{name} is required")
    if len(value) > _MAX_PARAM:
        raise OAuthError("invalid_request", f"{name} is longer than {_MAX_PARAM} characters")
    return value


def _optional(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if len(value) > _MAX_PARAM:
        raise OAuthError("invalid_request", f"{name} is longer than {_MAX_PARAM} characters")
    return value


def _with_query(uri: str, params: dict[str, str]) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


class OidcSimulator:
    """Both simulated providers' state and protocol logic, independent of HTTP."""

    def __init__(
        self,
        *,
        clients: Mapping[ProviderName, Iterable[Client]] | None = None,
        citizens: Iterable[SandboxCitizen] | None = None,
    ) -> None:
        self._initial_clients = (
            {name: list(registered) for name, registered in clients.items()}
            if clients is not None
            else None
        )
        self._initial_citizens = list(citizens) if citizens is not None else None
        #: seconds since the epoch; tests replace it to age codes and tokens
        self.clock: Callable[[], float] = time.time
        self.keys: dict[ProviderName, KeyRing] = {p: KeyRing(default_key(p)) for p in PROVIDERS}
        self._restore()

    def _restore(self) -> None:
        initial = self._initial_citizens
        self.citizens = {c.so_dinh_danh: c for c in initial or default_citizens()}
        self.clients = default_clients()
        for name, registered in (self._initial_clients or {}).items():
            self.clients[name] = {client.client_id: client for client in registered}
        self.faults = FaultConfig()
        self.stats = SimStats()
        self.codes: dict[str, Grant] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.logins: deque[dict[str, Any]] = deque(maxlen=LOGIN_LOG_SIZE)
        self.last_nonce: dict[ProviderName, str] = {}

    # --- administration ---------------------------------------------------------------------

    def reset(self, *, fresh_keys: bool = False) -> None:
        """Default accounts, clients, switches; no codes, tokens, counters or logins; each
        provider's default key back (or a brand-new one with ``fresh_keys``)."""
        self._restore()
        self.keys = {p: KeyRing(new_key(p) if fresh_keys else default_key(p)) for p in PROVIDERS}

    def set_faults(self, config: FaultConfig) -> FaultConfig:
        self.faults = config
        return config

    def faults_for(self, provider: ProviderName) -> FaultConfig:
        """The switches in force at ``provider``."""
        if self.faults.provider not in (None, provider):
            return NO_FAULTS
        return self.faults

    def rotate_keys(self, provider: ProviderName | None, *, keep_previous: bool = True) -> None:
        for name in PROVIDERS if provider is None else (provider,):
            self.keys[name].rotate(name, keep_previous=keep_previous)

    def add_citizen(self, citizen: SandboxCitizen) -> None:
        self.citizens[citizen.so_dinh_danh] = citizen

    def add_client(self, provider: ProviderName, client: Client) -> None:
        self.clients[provider][client.client_id] = client

    def find_citizen(self, hint: str) -> SandboxCitizen | None:
        """The account a login hint names, by ID number or TechID."""
        found = self.citizens.get(hint)
        if found is None:
            found = next((c for c in self.citizens.values() if c.tech_id == hint), None)
        return found

    def count_error(self, provider: ProviderName, error: str) -> None:
        errors = self.stats.errors[provider]
        errors[error] = errors.get(error, 0) + 1

    # --- authorization ----------------------------------------------------------------------

    def authorize(self, provider: ProviderName, params: Mapping[str, str]) -> AuthorizationRequest:
        """Check an authorization request; raises :class:`OAuthError`.

        The public callers' request is accepted as they send it (OpenCPS rc-3.0
        ``DVCQGSSOActionImpl.java`` lines 116-124, PASETO ``dvcQuocGia/index.tsx`` line 34 and
        ``DichVuCongComponent.tsx`` line 59): ``response_type``, ``client_id``,
        ``redirect_uri``, ``scope``, ``state``, and at DVCQG ``acr_values``; no nonce, no PKCE.
        A nonce, when sent, comes back in the ID token; a PKCE challenge, when sent to a
        provider that implements PKCE, must be S256 and binds the code to its verifier."""
        client = self.clients[provider].get(_param(params, "client_id"))
        if client is None:
            raise OAuthError("invalid_client", "unknown client_id")
        redirect_uri = _param(params, "redirect_uri")
        if redirect_uri not in client.redirect_uris:
            raise OAuthError("invalid_request", "redirect_uri is not registered for this client")
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code is supported")
        scope = _param(params, "scope")
        if "openid" not in scope.split(" "):
            raise OAuthError("invalid_scope", "scope must include openid")
        state = _param(params, "state")
        nonce = _optional(params, "nonce")
        challenge = self._challenge(provider, params)
        acr = _optional(params, "acr_values")
        # DVCQG SSO asks for the level of assurance (both public callers send LoA1); VNeID is
        # called without it (PASETO DichVuCongComponent.tsx line 59)
        levels = _param(params, "acr_values").split(" ") if provider == "dvcqg" else ACR_VALUES
        if not any(value in ACR_VALUES for value in levels):
            raise OAuthError("invalid_request", "acr_values must name LoA1 or LoA2")
        return AuthorizationRequest(
            provider, client.client_id, redirect_uri, scope, state, nonce, challenge, acr
        )

    def _challenge(self, provider: ProviderName, params: Mapping[str, str]) -> str:
        """The PKCE challenge to bind the code to, ``""`` for none."""
        if not self.faults_for(provider).pkce_supported:
            return ""  # a provider without PKCE ignores its parameters
        challenge = _optional(params, "code_challenge")
        method = params.get("code_challenge_method", "")
        if not challenge:
            if method:
                raise OAuthError("invalid_request", "code_challenge_method without code_challenge")
            return ""
        # only S256 is advertised; RFC 7636, 4.3: a missing method means "plain"
        if method != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256")
        if not PKCE_VALUE.fullmatch(challenge):
            raise OAuthError("invalid_request", "code_challenge is malformed")
        return challenge

    def approve(self, request: AuthorizationRequest, citizen: SandboxCitizen) -> str:
        """Log ``citizen`` in at their level: a new code; the redirect URL carrying it."""
        now = self.clock()
        self._prune(now)
        code = secrets.token_urlsafe(32)
        self.codes[code] = Grant(
            provider=request.provider,
            client_id=request.client_id,
            citizen=citizen,
            scope=request.scope,
            nonce=request.nonce,
            auth_time=int(now),
            expires_at=now + CODE_TTL_SECONDS,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            previous_nonce=self.last_nonce.get(request.provider),
        )
        if request.nonce:
            self.last_nonce[request.provider] = request.nonce
        self.stats.codes_issued[request.provider] += 1
        entry = login_json(citizen, request.provider, request.client_id)
        received = {
            "pkce": bool(request.code_challenge),
            "nonce": bool(request.nonce),
            "acr_values": request.acr_values or None,
        }
        self.logins.append({"at": int(now), **entry, **received})
        return _with_query(request.redirect_uri, {"code": code, "state": request.state})

    def deny(self, request: AuthorizationRequest) -> str:
        """The citizen cancelled: the redirect URL carrying ``access_denied``."""
        params = {"error": "access_denied", "error_description": "the citizen cancelled"}
        return _with_query(request.redirect_uri, {**params, "state": request.state})

    def _prune(self, now: float) -> None:
        for store in (self.codes, self.access_tokens, self.refresh_tokens):
            if len(store) > 1000:
                for key in [k for k, grant in store.items() if grant.expires_at <= now]:
                    del store[key]

    # --- token ------------------------------------------------------------------------------

    def _client(
        self, provider: ProviderName, form: Mapping[str, str], authorization: str | None
    ) -> Client:
        """The authenticated client: ``client_secret_basic`` or ``client_secret_post``."""
        if authorization and authorization[:6].lower() == "basic ":
            if "client_secret" in form:
                raise OAuthError("invalid_request", "use one client authentication method")
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            raw_id, _, raw_secret = decoded.partition(":")
            # RFC 6749, 2.3.1: both are form-encoded before they are joined
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            challenge: str | None = 'Basic realm="token"'
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            challenge = None
        client = self.clients[provider].get(client_id)
        expected = client.client_secret if client is not None else secrets.token_hex(16)
        # constant-time: the sandbox should not teach timing leaks by example
        if not hmac.compare_digest(secret.encode(), expected.encode()) or client is None:
            raise OAuthError("invalid_client", "client authentication failed", 401, challenge)
        if form.get("client_id", client_id) != client_id:
            raise OAuthError("invalid_request", "client_id differs from the authenticated one")
        return client

    def exchange(
        self,
        provider: ProviderName,
        issuer: str,
        form: Mapping[str, str],
        authorization: str | None,
    ) -> dict[str, Any]:
        """The token answer; raises :class:`OAuthError`."""
        client = self._client(provider, form, authorization)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self._redeem_code(provider, client, form)
        elif grant_type == "refresh_token":
            grant = self._redeem_refresh(provider, client, form)
        else:
            raise OAuthError("unsupported_grant_type", "authorization_code or refresh_token")
        return self._issue(provider, issuer, grant)

    def _redeem_code(
        self, provider: ProviderName, client: Client, form: Mapping[str, str]
    ) -> Grant:
        grant = self.codes.pop(form.get("code", ""), None)  # spent whatever happens next
        if grant is None or grant.provider != provider:
            raise OAuthError("invalid_grant", "unknown or already used authorization code")
        if grant.expires_at <= self.clock():
            raise OAuthError("invalid_grant", "the authorization code has expired")
        if grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization's")
        verifier = form.get("code_verifier", "")
        if not grant.code_challenge:
            # a provider with PKCE refuses a verifier it has no challenge for (as Keycloak
            # does); one without PKCE ignores it
            if verifier and self.faults_for(provider).pkce_supported:
                raise OAuthError("invalid_grant", "code_verifier without a code_challenge")
            return grant
        if not PKCE_VALUE.fullmatch(verifier):
            raise OAuthError("invalid_grant", "code_verifier is missing or malformed")
        if not hmac.compare_digest(pkce_challenge(verifier), grant.code_challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        return grant

    def _redeem_refresh(
        self, provider: ProviderName, client: Client, form: Mapping[str, str]
    ) -> Grant:
        grant = self.refresh_tokens.pop(form.get("refresh_token", ""), None)  # rotated
        if grant is None or grant.provider != provider or grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown or spent refresh token")
        if grant.expires_at <= self.clock():
            raise OAuthError("invalid_grant", "the refresh token has expired")
        return grant

    def _issue(self, provider: ProviderName, issuer: str, grant: Grant) -> dict[str, Any]:
        faults = self.faults_for(provider)
        now = int(self.clock())
        iat = now - 3600 - TOKEN_TTL_SECONDS if faults.expired_token else now
        audience = IMPOSTOR_AUDIENCE if faults.wrong_audience else grant.client_id
        if faults.wrong_issuer:
            other = next(p for p in PROVIDERS if p != provider)
            issuer = f"{issuer.removesuffix('/' + provider)}/{other}"
        claims: dict[str, Any] = {
            "iss": issuer,
            "sub": subject(grant.citizen, provider),
            "aud": audience,
            "azp": audience,
            "exp": iat + TOKEN_TTL_SECONDS,
            "iat": iat,
            "nbf": iat,
            "auth_time": min(grant.auth_time, iat),
            "acr": f"LoA{grant.citizen.level}",
        }
        if faults.replay_nonce:
            claims["nonce"] = grant.previous_nonce or STALE_NONCE
        elif grant.nonce and faults.nonce_returned:
            claims["nonce"] = grant.nonce
        signing = Signing(faults.alg_none, faults.hmac_with_public_key, faults.bad_signature)
        if any(getattr(faults, name) for name in TOKEN_SWITCHES):
            self.stats.faulted_tokens[provider] += 1
        id_token = sign_id_token(claims, self.keys[provider].current, signing)

        clock = self.clock()
        access_token, refresh_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access_tokens[access_token] = _renewed(grant, clock + TOKEN_TTL_SECONDS)
        self.refresh_tokens[refresh_token] = _renewed(grant, clock + REFRESH_TTL_SECONDS)
        self.stats.tokens_issued[provider] += 1
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_SECONDS,
            "id_token": id_token,
            "refresh_token": refresh_token,
            "scope": grant.scope,
        }

    # --- userinfo and logout ----------------------------------------------------------------

    def userinfo(
        self, provider: ProviderName, issuer: str, authorization: str | None
    ) -> dict[str, Any]:
        """The claims for a Bearer access token; raises :class:`OAuthError` (401)."""
        scheme, _, token = (authorization or "").partition(" ")
        grant = self.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if grant is None or grant.provider != provider or grant.expires_at <= self.clock():
            raise OAuthError(
                "invalid_token",
                "the access token is unknown or expired",
                401,
                'Bearer error="invalid_token"',
            )
        citizen = grant.citizen
        sub = subject(citizen, provider)
        if self.faults_for(provider).userinfo_sub_mismatch:
            others = [c for c in self.citizens.values() if c.tech_id != citizen.tech_id]
            sub = subject(others[0], provider) if others else f"{sub}-someone-else"
        return userinfo_claims(citizen, provider, sub, issuer)

    def end_session(
        self, provider: ProviderName, issuer: str, params: Mapping[str, str]
    ) -> str | None:
        """The URL to send the browser back to after logout (None: no
        ``post_logout_redirect_uri`` was given; the provider shows its own page); raises
        :class:`OAuthError`."""
        hint = params.get("id_token_hint", "")
        if not hint or len(hint) > 16_384:
            raise OAuthError("invalid_request", "id_token_hint is required")
        try:
            token = jwt.decode(hint, self.keys[provider].key_set(), algorithms=["RS256"])
        except (JoseError, ValueError) as error:
            raise OAuthError("invalid_request", "id_token_hint was not issued here") from error
        claims = token.claims
        if claims.get("iss") != issuer:
            raise OAuthError("invalid_request", "id_token_hint was not issued here")
        client = self.clients[provider].get(str(claims.get("azp") or claims.get("aud")))
        if client is None:
            raise OAuthError("invalid_request", "id_token_hint names no registered client")
        if not params.get("post_logout_redirect_uri"):
            return None
        target = _param(params, "post_logout_redirect_uri")
        if target not in client.post_logout_redirect_uris:
            raise OAuthError("invalid_request", "post_logout_redirect_uri is not registered")
        state = params.get("state")
        return _with_query(target, {"state": state}) if state else target


def _renewed(grant: Grant, expires_at: float) -> Grant:
    return Grant(
        provider=grant.provider,
        client_id=grant.client_id,
        citizen=grant.citizen,
        scope=grant.scope,
        nonce=grant.nonce,
        auth_time=grant.auth_time,
        expires_at=expires_at,
    )
