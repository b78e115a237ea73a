"""The LGSP transport: a connector's calls through the provincial integration platform.

In most provinces the calls to national platforms go through the province's LGSP (Nền tảng
tích hợp, chia sẻ dữ liệu cấp tỉnh), an API gateway with its own access token in front of them.
A connector configured with ``transport = "lgsp"`` (:class:`~gateway.core.connector.
ConnectorConfig`) gets an HTTP client wrapped in :class:`LgspTransport`, built once here for
every connector: the connector's own URLs are then the addresses the LGSP publishes for its
platform, and this transport obtains the LGSP's token and attaches it to every request.

Two ways of obtaining the token are in public use (read from OpenCPS, branch
``release-candidate-3.0``), chosen by ``LGSP_LGSP__AUTH``:

``access-key``
    ``QLCDIntegrationActionImpl.java`` (population database through the LGSP) and
    ``ApiThirdPartyServiceImpl.java`` (``callApiEncode``, ``callApiWithRawBody``): the token
    request is ``POST {token_url}`` with the form ``grant_type=client_credentials`` and the
    header ``lgspaccesstoken: base64(JSON {AccessKey, SecretKey, AppName, PartnerCode,
    PartnerCodeCus})``; the answer carries ``access_token``. Every call then carries
    ``Authorization: Bearer <token>`` and the same ``lgspaccesstoken`` header, and its body is
    the platform's own packet (the SOAP envelope, ``Content-Type: application/xml``).
``client-credentials``
    OpenCPS's integration of the post through the LGSP (``getToken``; the file is cited in the
    README's LGSP table): OAuth 2.0 client credentials (RFC 6749 §4.4) with
    ``Authorization: Basic base64(consumer_key:secret)`` and the form
    ``grant_type=client_credentials``; every call carries
    ``Authorization: Bearer <token>``.

The token request goes through the connector's recording transport, so it is an exchange-log
entry like any crossing (operation ``<operation>:lgsp-token``), with the token blanked in the
recorded answer; the ``lgspaccesstoken`` header and the Basic credentials are headers, which
are never recorded. A token is reused until shortly before it expires (``expires_in``, else
``default_token_seconds``); an LGSP answer of 401 drops it, and the request is sent once more
with a fresh one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from gateway.core.errors import ConfigurationError, TransientUpstreamError

#: development defaults, matching the LGSP simulator of the sandbox; refused in production
SANDBOX_ACCESS_KEY = "sandbox-lgsp-access-key"
SANDBOX_SECRET_KEY = "sandbox-lgsp-secret-key"  # noqa: S105 - a documented placeholder
SANDBOX_CONSUMER_KEY = "sandbox-lgsp-consumer"
SANDBOX_CONSUMER_SECRET = "sandbox-lgsp-consumer-secret"  # noqa: S105 - a documented placeholder
PLACEHOLDER_SECRETS = frozenset({SANDBOX_SECRET_KEY, SANDBOX_CONSUMER_SECRET})

#: an LGSP's token answer is a small JSON object
MAX_TOKEN_ANSWER_BYTES = 16 * 1024
_SCRUBBED = "***"


class LgspSettings(BaseModel):
    """The province's LGSP (``LGSP_LGSP__*``): where its token comes from and with what."""

    model_config = ConfigDict(extra="forbid")

    token_url: str = Field(
        "http://127.0.0.1:9000/lgsp/token",
        description="the LGSP's token endpoint (POST, form grant_type=client_credentials)",
        examples=["https://lgsp.example.gov.vn/token"],
    )
    auth: Literal["access-key", "client-credentials"] = Field(
        "access-key",
        description="access-key: header lgspaccesstoken = base64 JSON {AccessKey, SecretKey, "
        "AppName, PartnerCode, PartnerCodeCus} on the token request and on every call; "
        "client-credentials: HTTP Basic consumer_key:consumer_secret on the token request",
    )
    access_key: str = Field(SANDBOX_ACCESS_KEY, description="AccessKey (access-key)")
    secret_key: SecretStr = Field(
        SecretStr(SANDBOX_SECRET_KEY), description="SecretKey (access-key)"
    )
    app_name: str = Field("LGSP-GATEWAY", description="AppName (access-key)")
    partner_code: str = Field("000.00.00.H00", description="PartnerCode (access-key)")
    partner_code_cus: str = Field("000.00.00.H00", description="PartnerCodeCus (access-key)")
    consumer_key: str = Field(SANDBOX_CONSUMER_KEY, description="client id (client-credentials)")
    consumer_secret: SecretStr = Field(
        SecretStr(SANDBOX_CONSUMER_SECRET), description="client secret (client-credentials)"
    )
    default_token_seconds: float = Field(
        300.0, gt=0, description="lifetime of a token whose answer gives no expires_in"
    )
    refresh_margin_seconds: float = Field(
        30.0, ge=0, description="a token is renewed this long before it expires"
    )
    timeout_seconds: float = Field(10.0, gt=0, description="timeout of the token request")

    @field_validator("token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("token_url must start with http:// or https://")
        return value

    def secret_values(self) -> list[str]:
        found = [self.secret_key.get_secret_value(), self.consumer_secret.get_secret_value()]
        return [s for s in found if s]

    def placeholders_in_use(self) -> list[str]:
        """The settings still holding a development placeholder, for the production check."""
        used = (
            [("SECRET_KEY", self.secret_key)]
            if self.auth == "access-key"
            else [("CONSUMER_SECRET", self.consumer_secret)]
        )
        return [
            f"LGSP_LGSP__{name}"
            for name, value in used
            if value.get_secret_value() in PLACEHOLDER_SECRETS
        ]

    def access_token_header(self) -> str:
        """The ``lgspaccesstoken`` header value: base64 of the partner's JSON identity."""
        identity = {
            "AccessKey": self.access_key,
            "SecretKey": self.secret_key.get_secret_value(),
            "AppName": self.app_name,
            "PartnerCode": self.partner_code,
            "PartnerCodeCus": self.partner_code_cus,
        }
        raw = json.dumps(identity, ensure_ascii=False, separators=(",", ":"))
        return base64.b64encode(raw.encode("utf-8")).decode("ascii")


class LgspUnavailable(TransientUpstreamError):
    """The LGSP gave no usable token (refused the gateway's credentials, or answered outside
    OAuth's token format). Transient: the work waits in its queue while someone fixes the
    LGSP or the ``LGSP_LGSP__*`` settings; nothing is dead-lettered for it."""

    type_slug = "lgsp-unavailable"
    title = "The provincial integration platform (LGSP) gave no access token"


class LgspTransport(httpx.AsyncBaseTransport):
    """Attaches the LGSP's credentials to each request of one connector (see module doc).

    ``inner`` is the connector's recording transport: the token request and every call go
    through it, so both are logged. ``clock`` (monotonic seconds) is injectable for tests.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        settings: LgspSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._settings = settings
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self._access_header = (
            settings.access_token_header() if settings.auth == "access-key" else None
        )
        #: tokens obtained since start (for the tests and the connector's diagnostics)
        self.tokens_obtained = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()  # sent twice at most: keep its bytes
        token = await self._current_token()
        response = await self._inner.handle_async_request(self._with_credentials(request, token))
        if response.status_code != 401:
            return response
        # the LGSP no longer honours the token (revoked, or expired early): once more with a
        # fresh one; a second 401 is the connector's to report
        await response.aclose()
        self._forget(token)
        token = await self._current_token()
        return await self._inner.handle_async_request(self._with_credentials(request, token))

    def _with_credentials(self, request: httpx.Request, token: str) -> httpx.Request:
        """A copy of ``request`` carrying the LGSP's credentials (the original is left as the
        connector made it, so a second try starts from it again)."""
        headers = request.headers.copy()
        headers["Authorization"] = f"Bearer {token}"
        if self._access_header is not None:
            headers["lgspaccesstoken"] = self._access_header
        return httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=request.content,
            extensions=request.extensions,
        )

    def _forget(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def _current_token(self) -> str:
        if self._token is not None and self._clock() < self._expires_at:
            return self._token
        async with self._lock:
            # another request may have renewed it while this one waited
            if self._token is not None and self._clock() < self._expires_at:
                return self._token
            token, lifetime = await self._obtain()
            margin = min(self._settings.refresh_margin_seconds, lifetime / 2)
            self._token = token
            self._expires_at = self._clock() + lifetime - margin
            self.tokens_obtained += 1
            return token

    async def _obtain(self) -> tuple[str, float]:
        s = self._settings
        headers = {"Accept": "application/json"}
        if self._access_header is not None:
            headers["lgspaccesstoken"] = self._access_header
        else:
            basic = f"{s.consumer_key}:{s.consumer_secret.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(basic).decode("ascii")
        request = httpx.Request(
            "POST",
            s.token_url,
            data={"grant_type": "client_credentials"},
            headers=headers,
            extensions={
                "lgsp_operation": "lgsp-token",
                "lgsp_scrub_answer": _scrub_token,
                "lgsp_max_response_bytes": MAX_TOKEN_ANSWER_BYTES,
                "timeout": httpx.Timeout(s.timeout_seconds).as_dict(),
            },
        )
        response = await self._inner.handle_async_request(request)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        where = "LGSP_LGSP__" + ("SECRET_KEY" if self._access_header else "CONSUMER_SECRET")
        if response.status_code in (400, 401, 403):
            raise LgspUnavailable(
                f"the LGSP refused the gateway's credentials (HTTP {response.status_code} "
                f"from its token endpoint); check LGSP_LGSP__AUTH and {where}"
            )
        if response.status_code != 200:
            raise LgspUnavailable(
                f"the LGSP's token endpoint failed (HTTP {response.status_code})",
                retry_after=None,
            )
        return parse_token_answer(body, default_seconds=s.default_token_seconds)


def parse_token_answer(body: bytes, *, default_seconds: float) -> tuple[str, float]:
    """``(access_token, lifetime in seconds)`` from an OAuth 2.0 token answer (RFC 6749
    §5.1), read tolerantly: ``expires_in`` as a number or a numeric string, ``token_type``
    any case of ``Bearer`` or absent (OpenCPS reads only ``access_token``)."""
    try:
        answer: Any = json.loads(body)
    except ValueError as exc:
        raise LgspUnavailable("the LGSP's token answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise LgspUnavailable("the LGSP's token answer is not a JSON object")
    token = answer.get("access_token")
    if not isinstance(token, str) or not token.strip() or len(token) > 8192:
        raise LgspUnavailable("the LGSP's token answer has no usable access_token")
    kind = answer.get("token_type")
    if kind is not None and (not isinstance(kind, str) or kind.lower() != "bearer"):
        raise LgspUnavailable(f"the LGSP's token is of type {str(kind)[:32]!r}, not Bearer")
    lifetime = default_seconds
    expires = answer.get("expires_in")
    if expires is not None and expires != "":
        try:
            lifetime = float(expires)
        except (TypeError, ValueError) as exc:
            raise LgspUnavailable("the LGSP's token answer has a malformed expires_in") from exc
        if not 0 < lifetime < 10 * 365 * 86400:
            raise LgspUnavailable("the LGSP's token answer has an out-of-range expires_in")
    return token.strip(), lifetime


def _scrub_token(content: bytes) -> bytes:
    """The token answer as recorded: the tokens blanked, the rest kept."""
    try:
        answer = json.loads(content)
    except ValueError:
        return content
    if not isinstance(answer, dict):
        return content
    for name in ("access_token", "refresh_token", "id_token"):
        if name in answer:
            answer[name] = _SCRUBBED
    return json.dumps(answer, ensure_ascii=False).encode("utf-8")


def lgsp_outer(
    settings: LgspSettings, *, environment: str
) -> Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]:
    """The ``outer`` wrapper of :func:`gateway.core.http.recording.build_client` for a
    connector that goes through the LGSP; refuses the development placeholders in production."""
    if environment == "production":
        for name in settings.placeholders_in_use():
            raise ConfigurationError(
                f"{name} is a development placeholder; set the LGSP's real credential"
            )

    def outer(recording: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return LgspTransport(recording, settings)

    return outer
