"""Async client of the postal service (JSON over HTTP), over the gateway's recording client.

Operations, each at ``{base_url}/{paths.<operation>}`` (direct, or through the LGSP with
``lgsp_routing="path"``) or at ``{base_url}?service=<lgsp_services.<operation>>`` (through the
LGSP with ``lgsp_routing="service"``, as OpenCPS rc-3.0 calls its LGSP:
``VNPostManagementImpl.java`` L178-182, L304-305, L684-686):

* ``create_order``: ``POST`` the order (:mod:`connectors.postal.profiles` picks its shape),
  answer ``{Status, Message}`` (the SDK's MResult; PASETO's RespondLGSP): "100" made, "101"
  the order is already there (PASETO counts it as handed over), both success here; HTTP 201
  (the SDK's ``IOrder.postOrder`` waits for it) or 200;
* ``cancel_order``: ``GET ?CustomerCode=..&OrderNumber=..`` (the SDK's ``IOrder.cancelOrder``),
  answer ``{Status, Message}``;
* ``quote``: ``POST {weight, mainSrv, isreturn, sender: {provCode, distCode}, receiver}``
  (OpenCPS ``createVNPOSTPriceData``), the price read at ``content.price`` (L695);
* ``tracking``: ``GET ?pagesize=&lastId=`` (the SDK's ``IOrder.getOrderTracking``), a page of
  the customer's status feed ``{_embedded: {"rh:doc": [...]}}`` (MStatus/MRhDoc), read page
  after page (``lastId`` = the last document's ``_id.$oid``) until a short page or
  ``tracking_max_pages``, the documents of the order kept (as OpenCPS's ``getOrder`` walks it,
  L340-419);
* ``statement`` (this project's profile): ``GET ?CustomerCode=..&Date=yyyyMMdd``, the day's
  amounts collected on delivery;
* webhooks (this project's profile): the platform POSTs one feed document
  (:class:`~schemas.postal.StatusWebhook`) with the headers ``X-VNPost-Timestamp`` (Unix
  seconds) and ``X-VNPost-Signature`` (hex HMAC-SHA256 with the webhook secret over
  ``"{timestamp}.{body}"``); :meth:`PostalClient.verify_webhook` checks it.

Contracts:

* Every packet is validated against :mod:`schemas.postal` before anything is sent (a bad field
  is :class:`~gateway.core.errors.InvalidInput` naming it); every answer is bounded
  (``max_answer_bytes``, enforced while reading), must be a JSON object and is validated
  tolerantly (numbers as strings, unknown fields ignored; an answer the gateway cannot use is
  :class:`~gateway.core.errors.InvalidUpstreamAnswer` naming the field). A ``Status`` other
  than success, wherever an answer carries one, is resolved by :mod:`connectors.postal.errors`.
* Authentication is :mod:`connectors.postal.profiles`'s: with a credential that asks for a
  token, the token is fetched once, cached until ``token_renewal_margin_seconds`` before it
  expires, and renewed under a lock (concurrent callers wait for one renewal); an HTTP 401 or
  code "102" renews it once and repeats the call once. Through the LGSP nothing is fetched and
  no credential of ours is sent (the core's LGSP transport adds the LGSP's token).
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
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any, Literal, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError
from tenacity import wait_exponential_jitter as _jitter
from tenacity.wait import wait_base

from connectors.postal.config import PostalConfig
from connectors.postal.errors import (
    EXISTS,
    NOT_FOUND,
    SUCCESS,
    TOKEN_EXPIRED,
    PostalOrderNotFound,
    WebhookRejected,
    resolve,
    specific_error,
)
from connectors.postal.mapping import mask_phones
from connectors.postal.profiles import TokenRead, auth_for
from gateway.core.connector import raise_for_rule
from gateway.core.delivery.resilience import retry_transient
from gateway.core.errors import (
    FieldError,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.json_answers import JsonPlatform
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


Operation = Literal["token", "create_order", "cancel_order", "tracking", "quote", "statement"]


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
        self._auth = auth_for(config)
        self._timeout = httpx.Timeout(config.timeout_seconds)
        self._platform = JsonPlatform("the postal service", "postal", config.max_answer_bytes)
        self._retry_wait = retry_wait or _jitter(multiplier=0.2, max=2)
        self._clock = clock
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_type = ""
        self._token_until = 0.0
        # one lock so that concurrent callers fetch (or renew) the token once, not N times
        self._token_lock = asyncio.Lock()
        #: tokens fetched so far (health and tests)
        self.tokens_fetched = 0

    # --- operations --------------------------------------------------------------------------

    async def create_order(self, packet: wire.CreateOrder) -> wire.OrderAnswer:
        """Create the order; "101" (the order is already there) is a success too."""
        body = self._sent(type(packet), packet.model_dump(mode="json"))
        answer = await self._call(
            "POST", "create_order", wire.OrderAnswer, json=body, accept=(SUCCESS, EXISTS)
        )
        if answer.OrderNumber and answer.OrderNumber != packet.OrderNumber:
            raise InvalidUpstreamAnswer(
                "the postal service answered for another order",
                errors=[FieldError("OrderNumber", "not the order sent")],
            )
        return answer

    async def cancel_order(self, order_number: str) -> wire.CancelAnswer:
        params = self._sent(
            wire.CancelRequest,
            {"CustomerCode": self._config.customer_code, "OrderNumber": order_number},
        )
        return await self._call("GET", "cancel_order", wire.CancelAnswer, params=params)

    async def quote(self, packet: wire.QuoteRequest) -> int:
        """The price (VND) of a shipment, read at ``content.price`` as OpenCPS reads it."""
        body = self._sent(wire.QuoteRequest, packet.model_dump(mode="json"))
        answer = await self._retrying(
            lambda: self._call("POST", "quote", wire.QuoteAnswer, json=body)
        )
        if answer.content is None:
            raise InvalidUpstreamAnswer(
                "the postal service's quote answer carries no price",
                errors=[FieldError("content.price", "missing")],
            )
        return answer.content.price

    async def tracking(self, order_number: str) -> list[wire.FeedDoc] | None:
        """The order's status documents, oldest first, read from the customer's feed;
        ``None`` when the feed says nothing of it (not created yet, or older than the pages
        read)."""
        size = self._config.tracking_page_size
        last = wire.FEED_START
        found: list[wire.FeedDoc] = []
        for _ in range(self._config.tracking_max_pages):
            params = self._sent(wire.FeedQuery, {"pagesize": size, "lastId": last})
            page = await self._retrying(
                functools.partial(self._call, "GET", "tracking", wire.TrackingAnswer, params=params)
            )
            docs = page.docs
            found.extend(d for d in docs if d.OrderNumber == order_number)
            following = docs[-1].id.oid if docs and docs[-1].id is not None else ""
            if len(docs) < size or not following or following == last:
                break
            last = following
        return found or None

    async def statement(self, day: date) -> wire.Statement:
        """The amounts collected on delivery on ``day`` (the platform's day, Vietnam time)."""
        params = self._sent(
            wire.StatementQuery,
            {"CustomerCode": self._config.customer_code, "Date": wire.wire_day(day)},
        )

        async def attempt() -> wire.Statement:
            statement = await self._call("GET", "statement", wire.Statement, params=params)
            if statement.Date != params["Date"]:
                raise InvalidUpstreamAnswer(
                    "the postal service answered with the statement of another day",
                    errors=[FieldError("Date", "not the day asked for")],
                )
            return statement

        return await self._retrying(attempt)

    async def probe(self) -> None:
        """A token (when the credential asks for one), then one document of the tracking feed
        (health checks; nothing is created)."""
        if self._auth.fetches_token:
            await self._ensure_token()
        params = self._sent(wire.FeedQuery, {"pagesize": 1})
        with contextlib.suppress(PostalOrderNotFound):
            await self._call("GET", "tracking", wire.TrackingAnswer, params=params)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> wire.StatusWebhook:
        """The webhook in ``body`` once its signature (constant time) and its timestamp (within
        ``webhook_tolerance_seconds`` of now) are checked, before anything else is read.
        Anything wrong is :class:`WebhookRejected`, naming no secret."""
        if len(body) > MAX_WEBHOOK_BYTES:
            raise WebhookRejected("the webhook is larger than any webhook can be")
        stamp = headers.get(TIMESTAMP_HEADER.lower(), headers.get(TIMESTAMP_HEADER, ""))
        given = headers.get(SIGNATURE_HEADER.lower(), headers.get(SIGNATURE_HEADER, ""))
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12 or not given:
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
            wire.parse_event_time(packet.EventTime)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise WebhookRejected(
                f"the webhook breaks its schema: {errors[0].loc}: {errors[0].msg}", errors=errors
            ) from None
        except ValueError as exc:
            raise WebhookRejected(
                f"the webhook breaks its schema: {exc}",
                errors=[FieldError("EventTime", "not a time")],
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
            read = await self._retrying(self._fetch_token)
            assert read.token is not None
            lifetime = read.lifetime or 3600.0
            margin = min(self._config.token_renewal_margin_seconds, lifetime / 2)
            self._token = read.token
            self._token_type = read.token_type
            self._token_until = self._monotonic() + lifetime - margin
            self.tokens_fetched += 1
            return self._token

    async def _fetch_token(self) -> TokenRead:
        call = self._auth.token_call()
        response = await self._send(
            "POST",
            self._target("token")[0],
            "token",
            json_body=call.json_body,
            form_body=call.form_body,
            headers=dict(call.headers),
            redact=call.redact,
            scrub=call.scrub,
        )
        if response.status_code in (401, 403):
            raise UpstreamAuthError(
                f"the postal service refused the gateway's credentials: HTTP {response.status_code}"
            )
        raw = self._platform.json_object(response, "token")
        read = self._auth.read(self._platform.validated(self._auth.answer_model, raw, "token"))
        if read.code is not None and read.code != SUCCESS:
            self._raise_for_code(read.code, read.message, "token")
        if not read.token:
            raise InvalidUpstreamAnswer(
                "the postal service's token answer carries no token",
                errors=[FieldError("Token", "missing")],
            )
        return read

    # --- internals ---------------------------------------------------------------------------

    def _target(self, operation: Operation) -> tuple[str, dict[str, str]]:
        """The URL of an operation and the query parameters that route it."""
        config = self._config
        if operation != "token" and config.transport == "lgsp" and config.lgsp_routing == "service":
            # OpenCPS rc-3.0 L178-180: lgspVnpostUrl + "?service=" + the operation's service
            return config.base_url, {"service": getattr(config.lgsp_services, operation)}
        path = getattr(config.paths, operation).lstrip("/")
        return f"{config.base_url.rstrip('/')}/{path}", {}

    async def _call(
        self,
        method: str,
        operation: Operation,
        model: type[A],
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        accept: tuple[str, ...] = (SUCCESS,),
    ) -> A:
        """One authenticated call; renews the token once on HTTP 401 or code "102"."""
        url, routing = self._target(operation)
        query = {**routing, **(params or {})} or None
        fetches = self._auth.fetches_token
        token = await self._ensure_token() if fetches else None
        for renewed in (False, True):
            response = await self._send(
                method,
                url,
                operation,
                json_body=json,
                params=query,
                headers=self._auth.headers(token, self._token_type),
            )
            if response.status_code == 401 and fetches and not renewed:
                token = await self._ensure_token(stale=token)
                continue
            if response.status_code in (401, 403):
                raise UpstreamAuthError(
                    f"the postal service refused the gateway: HTTP {response.status_code}"
                )
            raw = self._platform.json_object(response, operation)
            code = _status_of(raw)
            if code == TOKEN_EXPIRED and fetches and not renewed:
                log.info("postal.token_renewed", operation=operation)
                token = await self._ensure_token(stale=token)
                continue
            answer = self._platform.validated(model, raw, operation)
            if code is not None and code not in accept:
                message = str(raw.get("Message") or "")
                self._raise_for_code(code, message, operation)
            return answer
        raise UpstreamAuthError("the postal service refused a freshly renewed token")

    async def _send(
        self,
        method: str,
        url: str,
        operation: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        form_body: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        redact: tuple[bytes, ...] = (),
        scrub: Callable[[bytes], bytes] | None = None,
    ) -> httpx.Response:
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
                data=form_body,
                params=params,
                headers=headers or None,
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

    def _raise_for_code(self, code: str, message: str, operation: str) -> None:
        text = self._scrubbed(message)
        rule = resolve(code)
        if code.strip() == NOT_FOUND:
            raise PostalOrderNotFound(rule.description)
        specific = specific_error(code)
        if specific is not None:
            detail = f"{rule.description} (code {code})" + (f": {text}" if text else "")
            raise specific(detail, code=code)
        raise_for_rule(rule, code=code[:16], message=text)
        raise PermanentUpstreamError(  # an EXISTS where it is not expected
            f"postal {operation}: the platform answered with code {code[:16]!r}"
        )

    def _scrubbed(self, text: str) -> str:
        """The platform's text without our secrets or token, should it echo them, and with
        phone numbers masked; bounded."""
        for value in (
            self._config.password.get_secret_value(),
            self._config.webhook_secret.get_secret_value(),
            self._config.static_token.get_secret_value(),
            self._token or "",
        ):
            if value:
                text = text.replace(value, "***")
        return mask_phones(text)[:300]

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await retry_transient(
            call, attempts=self._config.read_retry_attempts, wait=self._retry_wait
        )


def _status_of(raw: Mapping[str, Any]) -> str | None:
    """The answer's ``Status`` as text (a number in the SDK's MResult, a string in PASETO's
    RespondLGSP), ``None`` when it has none (the tracking feed, the quote's content)."""
    value = raw.get("Status")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return str(value).strip() or None
