"""A simulator of the provincial integration platform (LGSP), in front of the platform simulators.

Mounted at ``/lgsp`` in the sandbox server. It models what the public callers show of an LGSP
(OpenCPS, branch ``release-candidate-3.0``: ``QLCDIntegrationActionImpl.java`` and
``ApiThirdPartyServiceImpl.java`` for the ``lgspaccesstoken`` style, ``VNPostManagementImpl``
``getToken`` for OAuth client credentials with HTTP Basic), independently of the gateway's own
LGSP transport (it shares no code with :mod:`gateway.core.http.lgsp`):

* ``POST /lgsp/token`` with the form ``grant_type=client_credentials``, authenticated either by
  the ``lgspaccesstoken`` header (base64 of the partner's JSON identity: AccessKey, SecretKey,
  AppName, PartnerCode, PartnerCodeCus) or by ``Authorization: Basic`` client credentials;
  answers ``{access_token, token_type: "Bearer", expires_in}`` or 401 ``invalid_client``.
* ``/lgsp/<slug>/<path>``: any method; the bearer token must be one it issued and not expired
  (and, for a token issued against ``lgspaccesstoken``, the same header must come with the
  call), else 401 ``invalid_token``. The call is then relayed to the simulator mounted at
  ``/<slug>`` with the LGSP's own credentials removed and ``X-LGSP-Relay`` added: the LGSP holds
  the platform's credential, and a platform simulator treats a relayed call as authenticated.
* ``/lgsp/_sandbox/{stats,reset,faults}`` like every simulator, and ``POST
  /lgsp/_sandbox/revoke`` to revoke every token issued (a token that dies before its time).

Time is read from an injectable clock (seconds, monotonic), so tests expire tokens without
waiting.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.core.http.simulators import BodyTooLarge, add_control_routes, count, read_body

#: the partner the simulator knows (the gateway's development defaults are the same values,
#: written out again here: the simulator must not read the gateway's settings)
PARTNER = {
    "AccessKey": "sandbox-lgsp-access-key",
    "SecretKey": "sandbox-lgsp-secret-key",
    "AppName": "LGSP-GATEWAY",
    "PartnerCode": "000.00.00.H00",
    "PartnerCodeCus": "000.00.00.H00",
}
CONSUMER = ("sandbox-lgsp-consumer", "sandbox-lgsp-consumer-secret")
#: the header a relayed call carries to the platform simulator, and its value
RELAY_HEADER = "X-LGSP-Relay"
RELAY_VALUE = "sandbox-lgsp-relay"

MAX_BODY = 8 * 1024 * 1024
_DROPPED_HEADERS = frozenset(
    {"host", "authorization", "lgspaccesstoken", "content-length", "transfer-encoding"}
)
_DROPPED_ANSWER_HEADERS = frozenset({"content-length", "transfer-encoding", "content-encoding"})


class LgspFaults(BaseModel):
    """Misbehaviour on request (``PUT /lgsp/_sandbox/faults``)."""

    model_config = ConfigDict(extra="forbid")

    token_status: int | None = Field(
        None, ge=400, le=599, description="answer the token endpoint with this status"
    )
    relay_status: int | None = Field(
        None, ge=400, le=599, description="answer calls with this status instead of relaying"
    )
    token_lifetime_seconds: int = Field(3600, ge=1, le=86400)


@dataclass
class LgspStats:
    tokens_issued: int = 0
    token_refusals: int = 0
    relayed: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    faults_injected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tokens_issued": self.tokens_issued,
            "token_refusals": self.token_refusals,
            "relayed": dict(self.relayed),
            "refused": dict(self.refused),
            "faults_injected": self.faults_injected,
        }


@dataclass
class _Token:
    expires_at: float
    style: Literal["access-key", "basic"]


class LgspSimulator:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.stats = LgspStats()
        self.faults = LgspFaults()
        self._tokens: dict[str, _Token] = {}
        self.partner_header = base64.b64encode(
            json.dumps(PARTNER, separators=(",", ":")).encode()
        ).decode()

    def reset(self) -> None:
        self.stats = LgspStats()
        self.faults = LgspFaults()
        self._tokens.clear()

    def set_faults(self, config: LgspFaults) -> LgspFaults:
        self.faults = config
        return config

    def revoke_all(self) -> int:
        revoked = len(self._tokens)
        self._tokens.clear()
        return revoked

    def issue(self, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer: ``(status, body)``."""
        if self.faults.token_status is not None:
            self.stats.faults_injected += 1
            return self.faults.token_status, {"error": "temporarily_unavailable"}
        style = self._client_style(headers)
        if style is None:
            self.stats.token_refusals += 1
            return 401, {"error": "invalid_client"}
        token = secrets.token_urlsafe(24)
        lifetime = self.faults.token_lifetime_seconds
        self._tokens[token] = _Token(self.clock() + lifetime, style)
        self.stats.tokens_issued += 1
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}

    def _client_style(self, headers: Mapping[str, str]) -> Literal["access-key", "basic"] | None:
        identity = headers.get("lgspaccesstoken")
        if identity is not None:
            return "access-key" if self._partner_matches(identity) else None
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        ok = secrets.compare_digest(user, CONSUMER[0]) & secrets.compare_digest(
            password, CONSUMER[1]
        )
        return "basic" if ok else None

    @staticmethod
    def _partner_matches(identity: str) -> bool:
        try:
            claimed = json.loads(base64.b64decode(identity, validate=True))
        except (binascii.Error, ValueError):
            return False
        if not isinstance(claimed, dict):
            return False
        return all(secrets.compare_digest(str(claimed.get(k, "")), v) for k, v in PARTNER.items())

    def admit(self, headers: Mapping[str, str]) -> str | None:
        """Why the call is refused, or ``None`` when its token is good."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "no bearer token"
        issued = self._tokens.get(token.strip())
        if issued is None:
            return "unknown or revoked token"
        if self.clock() >= issued.expires_at:
            del self._tokens[token.strip()]
            return "expired token"
        if issued.style == "access-key" and not self._partner_matches(
            headers.get("lgspaccesstoken", "")
        ):
            return "lgspaccesstoken missing or not the token's partner"
        return None


def create_lgsp_app(
    upstreams: Mapping[str, Any], simulator: LgspSimulator | None = None
) -> FastAPI:
    """The LGSP simulator relaying to ``upstreams`` (slug -> the platform simulator's app)."""
    sim = simulator or LgspSimulator()
    app = FastAPI(title="LGSP simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.simulator = sim
    add_control_routes(app, sim, LgspFaults)

    @app.post("/_sandbox/revoke")
    async def revoke() -> dict[str, int]:
        return {"revoked": sim.revoke_all()}

    @app.post("/token")
    async def token(request: Request) -> Response:
        try:
            body = await read_body(request, 4096)
        except BodyTooLarge:
            return JSONResponse({"error": "invalid_request"}, status_code=413)
        form = parse_qs(body.decode("latin-1"))
        if form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        status, answer = sim.issue(request.headers)
        return JSONResponse(answer, status_code=status, headers={"Cache-Control": "no-store"})

    clients = {
        slug: httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://up")
        for slug, upstream in upstreams.items()
    }

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]

    # an LGSP that names operations by a query parameter publishes one address per platform:
    # ``/lgsp/postal?service=orderpost`` (OpenCPS VNPostManagementImpl, lgsp_vnposturl)
    @app.api_route("/{slug}", methods=methods)
    async def relay_root(slug: str, request: Request) -> Response:
        return await relay(slug, "", request)

    @app.api_route("/{slug}/{path:path}", methods=methods)
    async def relay(slug: str, path: str, request: Request) -> Response:
        client = clients.get(slug)
        if client is None:
            return JSONResponse({"error": "no such service"}, status_code=404)
        if sim.faults.relay_status is not None:
            sim.stats.faults_injected += 1
            return JSONResponse({"error": "unavailable"}, status_code=sim.faults.relay_status)
        why = sim.admit(request.headers)
        if why is not None:
            count(sim.stats.refused, slug)
            return JSONResponse(
                {"error": "invalid_token", "error_description": why},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLarge:
            return JSONResponse({"error": "request too large"}, status_code=413)
        headers = {k: v for k, v in request.headers.items() if k not in _DROPPED_HEADERS}
        headers[RELAY_HEADER] = RELAY_VALUE
        try:
            answer = await client.request(
                request.method,
                "/" + path,
                params=request.url.query,
                content=body,
                headers=headers,
            )
        except Exception:
            # the platform dropped the connection or broke: the LGSP answers a bad gateway
            return JSONResponse({"error": "upstream failed"}, status_code=502)
        count(sim.stats.relayed, slug)
        kept = {k: v for k, v in answer.headers.items() if k not in _DROPPED_ANSWER_HEADERS}
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    return app
