"""A simulator of both identity providers, VNeID and DVCQG SSO: an ASGI app speaking OpenID Connect.

It plays the providers in tests, demos and benchmarks. One app serves both, each under its own
prefix with the paths of the public record (:data:`PATHS`): the issuer of ``provider`` is
the app's mount point plus ``/vneid`` or ``/dvcqg`` (:func:`issuer_for`; the gateway's sandbox
mounts the app at ``/vneid``, so ``http://host/vneid/vneid`` and ``http://host/vneid/dvcqg``),
read from each request so that discovery and the ``iss`` of tokens name the URL the client used.

* ``{issuer}/.well-known/openid-configuration`` and the JWKS (public keys only);
* the authorization endpoint (GET), checked as :class:`OidcSimulator` documents; an invalid
  request is HTTP 400 JSON, never a redirect. The login step: ``login_hint`` names a test
  account by ID number or TechID and the simulator approves it at the account's level (302 to
  ``redirect_uri`` with ``code`` and ``state``); ``login_hint=deny`` (:data:`DENY_HINT`) is a
  citizen who cancelled (``error=access_denied``); without ``login_hint`` an HTML page lists
  the accounts;
* the token endpoint (POST form), userinfo (Bearer), end session (302 to the
  ``post_logout_redirect_uri``, or a "logged out" page when none is given); authorization,
  userinfo and end session answer GET and POST (a form), as OpenID Connect requires.

Errors are OAuth JSON ``{"error", "error_description"}``. Not part of the platforms, under
``/_sandbox``: counters, reset, misbehaviour switches (:class:`FaultConfig`), key rotation,
test accounts, registered clients and the last logins (ID numbers masked). The simulator logs
nothing. All state lives in one :class:`OidcSimulator` at ``app.state.sim``; handlers never
await between reading and writing it.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from connectors.vneid.sandbox.citizens import (
    BUSINESS_ACCOUNT,
    LEVEL1_CITIZEN,
    LEVEL2_CITIZEN,
    ORGANISATION_ACCOUNT,
    CitizenIn,
    SandboxCitizen,
    citizen_json,
    subject,
)
from connectors.vneid.sandbox.model import (
    IMPOSTOR_AUDIENCE,
    LOGIN_LOG_SIZE,
    STALE_NONCE,
    FaultConfig,
    OAuthError,
    pkce_challenge,
)
from connectors.vneid.sandbox.provider import OidcSimulator
from connectors.vneid.sandbox.providers import (
    ACR_VALUES,
    PATHS,
    PROVIDERS,
    Client,
    Endpoint,
    ProviderName,
)
from gateway.core.http.simulators import BodyTooLarge, read_body

__all__ = [
    "BUSINESS_ACCOUNT",
    "DENY_HINT",
    "IMPOSTOR_AUDIENCE",
    "LEVEL1_CITIZEN",
    "LEVEL2_CITIZEN",
    "ORGANISATION_ACCOUNT",
    "PATHS",
    "STALE_NONCE",
    "Client",
    "FaultConfig",
    "OidcSimulator",
    "SandboxCitizen",
    "create_app",
    "discovery_document",
    "get_simulator",
    "issuer_for",
    "pkce_challenge",
    "subject",
]

DENY_HINT = "deny"
"""``login_hint`` of a citizen who cancels the login."""
MAX_FORM_BYTES = 16 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_LOGGED_OUT = (
    '<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Đã đăng xuất</title>'
    "</head><body><h1>Bạn đã đăng xuất (sandbox)</h1></body></html>"
)


def issuer_for(base_url: str, provider: ProviderName) -> str:
    """The issuer of ``provider`` when the app is served at ``base_url`` (its mount point)."""
    return f"{base_url.rstrip('/')}/{provider}"


def _issuer(request: Request, provider: ProviderName) -> str:
    # root_path holds the mount prefix (/vneid); request.base_url would drop it
    path = f"{request.scope.get('root_path', '')}/{provider}"
    return str(request.url.replace(path=path, query="", fragment=""))


def discovery_document(provider: ProviderName, issuer: str, *, pkce: bool = True) -> dict[str, Any]:
    """``provider``'s OpenID configuration when its issuer is ``issuer``; without ``pkce``,
    a provider that does not implement PKCE (no ``code_challenge_methods_supported``)."""
    paths = PATHS[provider]
    document: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": issuer + paths["authorization"],
        "token_endpoint": issuer + paths["token"],
        "userinfo_endpoint": issuer + paths["userinfo"],
        "jwks_uri": issuer + paths["jwks"],
        "end_session_endpoint": issuer + paths["end_session"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": ["openid", "profile", "email", "phone"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "auth_time", "acr"],
    }
    if pkce:
        document["code_challenge_methods_supported"] = ["S256"]
    if provider == "dvcqg":
        document["acr_values_supported"] = list(ACR_VALUES)
    return document


def _error(error: OAuthError) -> JSONResponse:
    headers = dict(_NO_STORE)
    if error.www_authenticate:
        headers["WWW-Authenticate"] = error.www_authenticate
    body = {"error": error.error, "error_description": error.description}
    return JSONResponse(body, status_code=error.status, headers=headers)


def _single(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Parameters as a dict; one given twice is refused (RFC 6749, 3.1 and 3.2)."""
    params = dict(pairs)
    if len(params) != len(pairs):
        raise OAuthError("invalid_request", "a parameter is given more than once")
    return params


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    try:
        raw = await read_body(request, MAX_FORM_BYTES)
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=32)
    except BodyTooLarge as error:
        raise OAuthError("invalid_request", "the body is too large", 413) from error
    except (UnicodeDecodeError, ValueError) as error:
        raise OAuthError("invalid_request", "the body is not a valid form") from error
    return _single(pairs)


async def _params(request: Request) -> dict[str, str]:
    """The parameters of a request OpenID Connect allows as GET or as a POSTed form."""
    if request.method == "POST":
        return await _form(request)
    return _single(request.query_params.multi_items())


def _login_page(request: Request, sim: OidcSimulator, params: dict[str, str]) -> HTMLResponse:
    """The login step for a human: one button per test account (by TechID), and cancel."""
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k != "login_hint"
    )
    buttons = "".join(
        f'<p><button name="login_hint" value="{html.escape(c.tech_id)}">'
        f"{html.escape(c.ho_va_ten)} ({c.masked}), tài khoản loại {c.loai_tai_khoan}, "
        f"mức {c.level}</button></p>"
        for c in sim.citizens.values()
    )
    cancel = f'<p><button name="login_hint" value="{DENY_HINT}">Huỷ đăng nhập</button></p>'
    page = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        "<title>Đăng nhập (sandbox)</title></head><body><h1>Chọn tài khoản thử nghiệm</h1>"
        f'<form method="get" action="{html.escape(request.url.path)}">'
        f"{hidden}{buttons}{cancel}</form></body></html>"
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


Handler = Callable[[Request], Awaitable[Response]]


def _provider_endpoints(sim: OidcSimulator, provider: ProviderName) -> dict[Endpoint, Handler]:
    async def discovery(request: Request) -> Response:
        pkce = sim.faults_for(provider).pkce_supported
        return JSONResponse(discovery_document(provider, _issuer(request, provider), pkce=pkce))

    async def jwks(request: Request) -> Response:
        sim.stats.jwks_fetched[provider] += 1
        return JSONResponse(sim.keys[provider].jwks())

    async def authorization(request: Request) -> Response:
        params = await _params(request)
        login = sim.authorize(provider, params)
        hint = params.get("login_hint")
        if not hint:
            return _login_page(request, sim, params)
        if hint == DENY_HINT:
            return RedirectResponse(sim.deny(login), status_code=302)
        citizen = sim.find_citizen(hint)
        if citizen is None:
            raise OAuthError("invalid_request", "login_hint names no test account")
        return RedirectResponse(sim.approve(login, citizen), status_code=302)

    async def token(request: Request) -> Response:
        form = await _form(request)
        authorization = request.headers.get("authorization")
        answer = sim.exchange(provider, _issuer(request, provider), form, authorization)
        return JSONResponse(answer, headers=_NO_STORE)

    async def userinfo(request: Request) -> Response:
        issuer = _issuer(request, provider)
        claims = sim.userinfo(provider, issuer, request.headers.get("authorization"))
        return JSONResponse(claims, headers={"Cache-Control": "no-store"})

    async def end_session(request: Request) -> Response:
        params = await _params(request)
        target = sim.end_session(provider, _issuer(request, provider), params)
        if target is None:
            return HTMLResponse(_LOGGED_OUT, headers={"Cache-Control": "no-store"})
        return RedirectResponse(target, status_code=302)

    return {
        "discovery": discovery,
        "jwks": jwks,
        "authorization": authorization,
        "token": token,
        "userinfo": userinfo,
        "end_session": end_session,
    }


def _guarded(
    sim: OidcSimulator, provider: ProviderName, endpoint: Endpoint, handler: Handler
) -> Handler:
    """``handler`` behind the counters and the latency, slow and failing switches."""

    async def guarded(request: Request) -> Response:
        sim.stats.calls[provider][endpoint] += 1
        faults = sim.faults_for(provider)
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.slow_endpoint == endpoint:
            await asyncio.sleep(faults.slow_seconds)
        if faults.fail_endpoint == endpoint:
            body = {"error": "server_error", "error_description": "simulated failure"}
            return JSONResponse(body, status_code=500)
        try:
            return await handler(request)
        except OAuthError as error:
            sim.count_error(provider, error.error)
            return _error(error)

    return guarded


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fresh_keys: bool = False


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: ProviderName | None = None
    keep_previous: bool = True


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: ProviderName
    client_id: str = Field(min_length=1, max_length=128)
    client_secret: str = Field(min_length=1, max_length=256)
    redirect_uris: list[str] = Field(min_length=1, max_length=20)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20)


def get_simulator(app: FastAPI) -> OidcSimulator:
    """The typed simulator behind an app made by :func:`create_app`."""
    sim = app.state.sim
    if not isinstance(sim, OidcSimulator):
        raise TypeError("app.state.sim is not an OidcSimulator")
    return sim


def create_app(
    *,
    clients: Mapping[ProviderName, Iterable[Client]] | None = None,
    citizens: Iterable[SandboxCitizen] | None = None,
) -> FastAPI:
    """Build the simulator app; its state is ``app.state.sim`` (an :class:`OidcSimulator`).

    ``clients`` replaces a provider's registered relying parties (default: the registrations
    of :mod:`connectors.vneid.sandbox.providers`, which the gateway's sandbox defaults use);
    ``citizens`` replaces the default test accounts.
    """
    sim = OidcSimulator(clients=clients, citizens=citizens)
    app = FastAPI(title="VNeID / DVCQG SSO sandbox", docs_url=None, redoc_url=None)
    app.state.sim = sim

    for provider in PROVIDERS:
        for endpoint, handler in _provider_endpoints(sim, provider).items():
            methods = {"discovery": ["GET"], "jwks": ["GET"], "token": ["POST"]}.get(
                endpoint, ["GET", "POST"]
            )
            path = f"/{provider}{PATHS[provider][endpoint]}"
            app.add_route(path, _guarded(sim, provider, endpoint, handler), methods=methods)

    @app.get("/_sandbox/stats")
    async def stats() -> dict[str, Any]:
        return sim.stats.as_dict()

    @app.post("/_sandbox/reset")
    async def reset(body: ResetIn | None = None) -> dict[str, Any]:
        sim.reset(fresh_keys=body is not None and body.fresh_keys)
        return {"status": "reset", "keys": _keys(sim)}

    @app.get("/_sandbox/faults")
    async def get_faults() -> FaultConfig:
        return sim.faults

    @app.put("/_sandbox/faults")
    async def put_faults(config: FaultConfig) -> FaultConfig:
        return sim.set_faults(config)

    @app.get("/_sandbox/keys")
    async def keys() -> dict[str, Any]:
        return _keys(sim)

    @app.post("/_sandbox/rotate-keys")
    async def rotate_keys(body: RotateIn | None = None) -> dict[str, Any]:
        body = body or RotateIn()
        sim.rotate_keys(body.provider, keep_previous=body.keep_previous)
        return _keys(sim)

    @app.get("/_sandbox/citizens")
    async def citizens_list() -> list[dict[str, Any]]:
        """The test accounts (synthetic, served in full on purpose) with their ``sub``s."""
        return [citizen_json(c) for c in sim.citizens.values()]

    @app.post("/_sandbox/citizens")
    async def add_citizen(body: CitizenIn) -> dict[str, Any]:
        try:
            citizen = body.to_citizen()
        except ValueError as error:
            raise HTTPException(status_code=422, detail=str(error)) from error
        sim.add_citizen(citizen)
        return citizen_json(citizen)

    @app.get("/_sandbox/clients")
    async def clients_list() -> dict[str, list[dict[str, Any]]]:
        return {p: [_client_json(c) for c in sim.clients[p].values()] for p in PROVIDERS}

    @app.post("/_sandbox/clients")
    async def add_client(body: ClientIn) -> dict[str, Any]:
        client = Client(
            body.client_id,
            body.client_secret,
            tuple(body.redirect_uris),
            tuple(body.post_logout_redirect_uris),
        )
        sim.add_client(body.provider, client)
        return _client_json(client)

    @app.get("/_sandbox/logins")
    async def logins(limit: int = Query(50, ge=1, le=LOGIN_LOG_SIZE)) -> list[dict[str, Any]]:
        """The last ``limit`` logins, oldest first; ID numbers masked."""
        return list(sim.logins)[-limit:]

    return app


def _keys(sim: OidcSimulator) -> dict[str, Any]:
    return {p: sim.keys[p].describe() for p in PROVIDERS}


def _client_json(client: Client) -> dict[str, Any]:
    # the secret is the well-known default or what a test set; still not echoed
    return {
        "client_id": client.client_id,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
    }
