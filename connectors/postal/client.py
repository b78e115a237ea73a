"""Async client of the postal service (JSON over HTTP), over the gateway's recording client.

Endpoints (``"100"`` success and the ``access_token`` header are public; paths, the other codes
and the webhook signature are this project's documented profile):

* ``POST {base_url}/token`` ``{Username, Password, CustomerCode}`` -> ``{Code, Token,
  ExpiresIn}``;
* ``POST {base_url}/orders`` a :class:`~schemas.postal.CreateOrder` -> ``{Code, OrderNumber,
  ItemCode, TotalFee}``; the same OrderNumber with the same content answers the order made
  before, with other content "105";
* ``POST {base_url}/orders/cancel`` ``{CustomerCode, OrderNumber, Reason}``;
* ``POST {base_url}/quote`` a :class:`~schemas.postal.QuoteRequest` -> the fees;
* ``GET {base_url}/tracking?CustomerCode=..&OrderNumber=..`` -> the parcel's status lines;
* ``GET {base_url}/statement?CustomerCode=..&Date=yyyyMMdd`` -> the day's amounts collected on
  delivery;
* webhooks: the platform POSTs a :class:`~schemas.postal.StatusWebhook` with the headers
  ``X-VNPost-Timestamp`` (Unix seconds) and ``X-VNPost-Signature`` (hex HMAC-SHA256 with the
  webhook secret over ``"{timestamp}.{body}"``); :meth:`PostalClient.verify_webhook` checks it.

Contracts:

* Every packet is validated against :mod:`schemas.postal` before anything is sent (a bad field
  is :class:`~gateway.core.errors.InvalidInput` naming it); every answer is bounded
  (``max_answer_bytes``, enforced while reading), must be a JSON object and is validated (an
  off-schema answer is :class:`~gateway.core.errors.InvalidUpstreamAnswer` naming the field).
* The token is fetched once, cached until ``token_renewal_margin_seconds`` before it expires,
  and renewed under a lock (concurrent callers wait for one renewal). An HTTP 401 or code "102"
  renews it once and repeats the call once.
* The password is blanked in the exchange log's copy of the token request and the token in its
  copy of the answer; neither appears in an error or a log line. Citizens' names and phones
  are never logged (the gateway's own log lines name orders only).
* Transport errors, HTTP 5xx and 429 and code "199" are transient. Read-only calls (token,
  quote, tracking, statement) are retried up to ``read_retry_attempts``; writes (create,
  cancel) are not: the outbox owns their retries.
* Wire operations are recorded as ``postal.token``, ``postal.create_order``, ...
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError
from tenacity import wait_exponential_jitter as _jitter
from tenacity.wait import wait_base

from connectors.postal.config import PostalConfig
from connectors.postal.errors import (
    NOT_FOUND,
    SUCCESS,
    TOKEN_EXPIRED,
    PostalOrderNotFound,
    WebhookRejected,
    resolve,
    specific_error,
)
from connectors.postal.mapping import mask_phones
from gateway.core.connector import raise_for_rule
from gateway.core.errors import (
    FieldError,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    UpstreamAuthError,
)
from gateway.core.json_answers import JsonPlatform
from gateway.core.resilience import retry_transient
from gateway.core.validation import field_errors, validate_model
from schemas import postal as wire

__all__ = [
    "MAX_WEBHOOK_BYTES",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "PostalClient",
    "webhook_signature",
]

log = structlog.get_logger(__name__)

A = TypeVar("A", bound=BaseModel)
T = TypeVar("T")

SIGNATURE_HEADER = "X-VNPost-Signature"
TIMESTAMP_HEADER = "X-VNPost-Timestamp"
#: a status webhook is a few hundred bytes; anything much larger is refused unread
MAX_WEBHOOK_BYTES = 16 * 1024


def webhook_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over ``"{timestamp}.{body}"`` (this project's profile)."""
    return hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


class PostalClient:
    """One customer (``CustomerCode``) of the postal service."""

    def __init__(
        self,
        config: PostalConfig,
        http: httpx.AsyncClient,
        *,
        retry_wait: wait_base | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._http = http
        self._timeout = httpx.Timeout(config.timeout_seconds)
        self._platform = JsonPlatform("the postal service", "postal", config.max_answer_bytes)
        self._retry_wait = retry_wait or _jitter(multiplier=0.2, max=2)
        self._clock = clock
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_until = 0.0
        # one lock so that concurrent callers fetch (or renew) the token once, not N times
        self._token_lock = asyncio.Lock()
        #: tokens fetched so far (health and tests)
        self.tokens_fetched = 0

    # --- operations --------------------------------------------------------------------------

    async def create_order(self, packet: wire.CreateOrder) -> wire.OrderAnswer:
        """Create the order (or find the one made before with the same content)."""
        body = self._sent(wire.CreateOrder, packet.model_dump(mode="json"))
        answer = await self._call("POST", "orders", "create_order", wire.OrderAnswer, json=body)
        if answer.OrderNumber != packet.OrderNumber:
            raise InvalidUpstreamAnswer(
                "the postal service answered for another order",
                errors=[FieldError("OrderNumber", "not the order sent")],
            )
        return answer

    async def cancel_order(self, order_number: str, reason: str = "") -> wire.CancelAnswer:
        body = self._sent(
            wire.CancelRequest,
            {
                "CustomerCode": self._config.customer_code,
                "OrderNumber": order_number,
                "Reason": reason,
            },
        )
        return await self._call(
            "POST", "orders/cancel", "cancel_order", wire.CancelAnswer, json=body
        )

    async def quote(self, packet: wire.QuoteRequest) -> wire.QuoteAnswer:
        body = self._sent(wire.QuoteRequest, packet.model_dump(mode="json"))
        return await self._retrying(
            lambda: self._call("POST", "quote", "quote", wire.QuoteAnswer, json=body)
        )

    async def tracking(self, order_number: str) -> wire.TrackingAnswer | None:
        """The parcel's status lines; ``None`` when the platform has no such order."""
        params = {"CustomerCode": self._config.customer_code, "OrderNumber": order_number}

        async def attempt() -> wire.TrackingAnswer | None:
            try:
                answer = await self._call(
                    "GET", "tracking", "tracking", wire.TrackingAnswer, params=params
                )
            except PostalOrderNotFound:
                return None
            if answer.OrderNumber not in (None, order_number):
                raise InvalidUpstreamAnswer(
                    "the postal service answered tracking for another order",
                    errors=[FieldError("OrderNumber", "not the order asked for")],
                )
            return answer

        return await self._retrying(attempt)

    async def statement(self, day: date) -> wire.Statement:
        """The amounts collected on delivery on ``day`` (the platform's day, Vietnam time)."""
        params = {"CustomerCode": self._config.customer_code, "Date": wire.wire_day(day)}

        async def attempt() -> wire.Statement:
            statement = await self._call(
                "GET", "statement", "statement", wire.Statement, params=params
            )
            if statement.Date != params["Date"]:
                raise InvalidUpstreamAnswer(
                    "the postal service answered with the statement of another day",
                    errors=[FieldError("Date", "not the day asked for")],
                )
            return statement

        return await self._retrying(attempt)

    async def probe(self) -> None:
        """A token, then tracking of an order that does not exist (health checks)."""
        await self._ensure_token()
        with contextlib.suppress(PostalOrderNotFound):
            await self._call(
                "GET",
                "tracking",
                "tracking",
                wire.TrackingAnswer,
                params={"CustomerCode": self._config.customer_code, "OrderNumber": "LGSP-HEALTH"},
            )

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> wire.StatusWebhook:
        """The webhook in ``body`` once its signature (constant time) and its timestamp (within
        ``webhook_tolerance_seconds`` of now) are checked, before anything else is read.
        Anything wrong is :class:`WebhookRejected`, naming no secret."""
        if len(body) > MAX_WEBHOOK_BYTES:
            raise WebhookRejected("the webhook is larger than any webhook can be")
        stamp = headers.get(TIMESTAMP_HEADER.lower(), headers.get(TIMESTAMP_HEADER, ""))
        given = headers.get(SIGNATURE_HEADER.lower(), headers.get(SIGNATURE_HEADER, ""))
        if not stamp.isdigit() or len(stamp) > 12 or not given:
            raise WebhookRejected("the webhook carries no usable timestamp or signature")
        secret = self._config.webhook_secret.get_secret_value().encode()
        expected = webhook_signature(secret, stamp, body)
        if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
            raise WebhookRejected(f"the webhook's signature ({SIGNATURE_HEADER}) does not verify")
        if abs(self._clock() - int(stamp)) > self._config.webhook_tolerance_seconds:
            raise WebhookRejected("the webhook's timestamp is too far from now (a replay?)")
        try:
            raw = json.loads(body)
        except ValueError:
            raise WebhookRejected("the webhook is not JSON") from None
        try:
            packet = wire.StatusWebhook.model_validate(raw)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise WebhookRejected(
                f"the webhook breaks its schema: {errors[0].loc}: {errors[0].msg}", errors=errors
            ) from None
        if packet.CustomerCode != self._config.customer_code:
            raise WebhookRejected(
                "the webhook is for another customer",
                errors=[FieldError("CustomerCode", "not the gateway's customer code")],
            )
        return packet

    # --- the token ---------------------------------------------------------------------------

    async def _ensure_token(self, *, stale: str | None = None) -> str:
        """The cached token, fetched when there is none, it is about to expire, or it is the
        ``stale`` one a call was just refused with (then renewed once for all waiters)."""
        async with self._token_lock:
            now = self._monotonic()
            if self._token is not None and self._token != stale and now < self._token_until:
                return self._token
            self._token = None
            answer = await self._retrying(self._fetch_token)
            assert answer.Token is not None
            lifetime = float(answer.ExpiresIn or 3600)
            margin = min(self._config.token_renewal_margin_seconds, lifetime / 2)
            self._token = answer.Token
            self._token_until = self._monotonic() + lifetime - margin
            self.tokens_fetched += 1
            return self._token

    async def _fetch_token(self) -> wire.TokenAnswer:
        password = self._config.password.get_secret_value()
        body = self._sent(
            wire.TokenRequest,
            {
                "Username": self._config.username,
                "Password": password,
                "CustomerCode": self._config.customer_code,
            },
        )
        response = await self._send(
            "POST",
            "token",
            "token",
            json_body=body,
            redact=(password.encode(), json.dumps(password)[1:-1].encode()),
            scrub=_token_scrubber,
        )
        if response.status_code in (401, 403):
            raise UpstreamAuthError(
                f"the postal service refused the gateway's credentials: HTTP {response.status_code}"
            )
        raw = self._platform.json_object(response, "token")
        answer = self._platform.validated(wire.TokenAnswer, raw, "token")
        if answer.Code != SUCCESS:
            self._raise_for_code(answer, "token")
        if not answer.Token:
            raise InvalidUpstreamAnswer(
                "the postal service's token answer carries no token",
                errors=[FieldError("Token", "missing")],
            )
        return answer

    # --- internals ---------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        operation: str,
        model: type[A],
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> A:
        """One authenticated call; renews the token once on HTTP 401 or code "102"."""
        token = await self._ensure_token()
        for renewed in (False, True):
            response = await self._send(
                method, path, operation, json_body=json, params=params, token=token
            )
            if response.status_code == 401 and not renewed:
                token = await self._ensure_token(stale=token)
                continue
            if response.status_code in (401, 403):
                raise UpstreamAuthError(
                    f"the postal service refused the gateway: HTTP {response.status_code}"
                )
            raw = self._platform.json_object(response, operation)
            code = str(raw.get("Code", ""))
            if code == TOKEN_EXPIRED and not renewed:
                log.info("postal.token_renewed", operation=operation)
                token = await self._ensure_token(stale=token)
                continue
            answer = self._platform.validated(model, raw, operation)
            if isinstance(answer, wire.Answer) and answer.Code != SUCCESS:
                self._raise_for_code(answer, operation)
            return answer
        raise UpstreamAuthError("the postal service refused a freshly renewed token")

    async def _send(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        token: str | None = None,
        redact: tuple[bytes, ...] = (),
        scrub: Callable[[bytes], bytes] | None = None,
    ) -> httpx.Response:
        url = f"{self._config.base_url}/{path}"
        extensions: dict[str, Any] = {
            "lgsp_operation": f"postal.{operation}",
            "lgsp_max_response_bytes": self._config.max_answer_bytes,
        }
        if redact:
            extensions["lgsp_redact"] = redact
        if scrub is not None:
            extensions["lgsp_scrub_answer"] = scrub
        try:
            response = await self._http.request(
                method,
                url,
                json=json_body,
                params=params,
                headers={"access_token": token} if token else None,
                timeout=self._timeout,
                extensions=extensions,
            )
        except httpx.TransportError as exc:
            # the message names the failure and the URL only, never the body or the token
            raise self._platform.failure(exc, operation, url) from None
        # 401/403: the caller renews the token once and repeats the call
        self._platform.check_status(response, operation, auth_is_refusal=False)
        return response

    @staticmethod
    def _sent(model: type[A], data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` validated as ``model``, as JSON (validation both ways: before sending);
        :class:`~gateway.core.errors.InvalidInput` naming the field otherwise."""
        packet = validate_model(model, data, what=f"the postal {model.__name__} packet")
        return packet.model_dump(mode="json")

    def _raise_for_code(self, answer: wire.Answer, operation: str) -> None:
        code = answer.Code
        text = self._scrubbed(answer.Message)
        rule = resolve(code)
        if code.strip() == NOT_FOUND:
            raise PostalOrderNotFound(rule.description)
        specific = specific_error(code)
        if specific is not None:
            detail = f"{rule.description} (code {code})" + (f": {text}" if text else "")
            raise specific(detail, code=code)
        raise_for_rule(rule, code=code[:16], message=text)
        raise PermanentUpstreamError(  # SUCCESS/EXISTS cannot reach here; be sure anyway
            f"postal {operation}: the platform answered with code {code[:16]!r}"
        )

    def _scrubbed(self, text: str) -> str:
        """The platform's text without our secrets or token, should it echo them, and with
        phone numbers masked; bounded."""
        for value in (
            self._config.password.get_secret_value(),
            self._config.webhook_secret.get_secret_value(),
            self._token or "",
        ):
            if value:
                text = text.replace(value, "***")
        return mask_phones(text)[:300]

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await retry_transient(
            call, attempts=self._config.read_retry_attempts, wait=self._retry_wait
        )


def _token_scrubber(content: bytes) -> bytes:
    """The token answer as the exchange log keeps it: the token blanked."""
    try:
        raw = json.loads(content)
    except ValueError:
        return content
    if isinstance(raw, dict) and raw.get("Token"):
        raw["Token"] = "***"  # noqa: S105 - the blank, not a secret
        return json.dumps(raw, ensure_ascii=False).encode()
    return content
