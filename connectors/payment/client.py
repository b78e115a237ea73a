"""Async client of the DVCQG online payment platform (JSON over HTTP), over the recording client.

Endpoints (this project's profile of the platform):

* ``POST {base_url}/init``: an INIT packet -> ``{"error_code": "0", "message": {"UrlThanhToan",
  "MaThamChieu"}}``. The same MaThamChieu with the same content answers the same URL (so an
  INIT is resent byte for byte when the platform fails transiently); with other content, "03".
* ``POST {base_url}/query``: a QUERY packet -> ``{"error_code": "0", "message": {"MaLoi", ...}}``;
  an unknown MaThamChieu is "14".
* ``GET {base_url}/statement?Ngay=yyyyMMdd&MaDoiTac=..&MaXacThuc=..`` -> the day's statement.
* Callbacks (the platform POSTs a PAYMENT packet to the partner) and the portal's bill
  look-ups are checked by :attr:`PaymentClient.inbound` (:mod:`connectors.payment.inbound`).

Contracts:

* Every packet is validated against :mod:`schemas.payment` before anything is sent; a bad
  field is :class:`~gateway.core.errors.InvalidInput` naming it. ``MaDoiTac`` is the
  configured one; ``MaXacThuc`` is computed here (:mod:`connectors.payment.checksum`).
* The secret and keys never travel (only checksums do), and they appear in no error or log
  line; the platform's own message text is kept with them blanked, should it echo them.
* Answers are bounded (``max_answer_bytes``, enforced while reading), must be a JSON object,
  and are validated; an off-schema answer is :class:`~gateway.core.errors.InvalidUpstreamAnswer`
  naming the field. A non-"0" ``error_code`` is resolved through
  :mod:`connectors.payment.errors`.
* Transport errors, HTTP 5xx and 429 (with its Retry-After) and code "99" are transient and
  retried up to ``read_retry_attempts``; 401/403 is :class:`UpstreamAuthError`; other statuses
  are permanent.
* Wire operations are recorded as ``payment.init``, ``payment.query``, ``payment.statement``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from connectors.payment.checksum import (
    INIT_FIELDS,
    QUERY_FIELDS,
    STATEMENT_FIELDS,
    Checksum,
)
from connectors.payment.config import PaymentConfig
from connectors.payment.errors import (
    NOT_FOUND,
    SUCCESS,
    PaymentNotFound,
    resolve,
    specific_error,
)
from connectors.payment.inbound import MAX_CALLBACK_BYTES, InboundPackets
from gateway.core.connector import raise_for_rule
from gateway.core.errors import (
    FieldError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
)
from gateway.core.json_answers import JsonPlatform
from gateway.core.resilience import retry_transient
from gateway.core.validation import field_errors
from schemas import payment as wire

__all__ = ["MAX_CALLBACK_BYTES", "PaymentClient"]


A = TypeVar("A", bound=BaseModel)
T = TypeVar("T")


class PaymentClient:
    """One partner (``MaDoiTac``) of the payment platform."""

    def __init__(
        self,
        config: PaymentConfig,
        http: httpx.AsyncClient,
        *,
        retry_wait: wait_base | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._config = config
        self._http = http
        self._timeout = httpx.Timeout(config.timeout_seconds)
        self._retry_wait = retry_wait or wait_exponential_jitter(multiplier=0.2, max=2)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.checksum = Checksum(
            config.checksum_variant,
            secret=config.secret,
            send_key=config.send_key,
            verify_key=config.verify_key,
        )
        self.inbound = InboundPackets(config, self.checksum, self._clock)
        self._platform = JsonPlatform("the payment platform", "payment", config.max_answer_bytes)

    # --- operations --------------------------------------------------------------------------

    async def init(self, packet: wire.InitRequest) -> wire.InitAnswer:
        """INIT: create the payment; the answer carries the payment page's URL."""
        data = packet.model_dump(mode="json")
        data["MaDoiTac"] = self._config.ma_doi_tac
        data["MaXacThuc"] = ""
        sent = self._validated_request(wire.InitRequest, data)
        body = sent.model_dump(mode="json")
        body["MaXacThuc"] = self.checksum.sign(body, INIT_FIELDS)
        envelope = await self._retrying(lambda: self._post("init", body))
        answer = self._answer(wire.InitAnswer, envelope, "init")
        if answer.message.MaThamChieu != sent.MaThamChieu:
            raise InvalidUpstreamAnswer(
                "the platform answered INIT for another payment reference",
                errors=[FieldError("message.MaThamChieu", "not the reference sent")],
            )
        return answer

    async def query(self, ma_tham_chieu: str) -> wire.QueryAnswer:
        """QUERY: the payment's state; :class:`PaymentNotFound` when the platform has none."""
        envelope = await self._query_envelope(ma_tham_chieu)
        answer = self._answer(wire.QueryAnswer, envelope, "query")
        if answer.message.MaThamChieu != ma_tham_chieu:
            raise InvalidUpstreamAnswer(
                "the platform answered QUERY for another payment reference",
                errors=[FieldError("message.MaThamChieu", "not the reference asked for")],
            )
        return answer

    async def probe(self, ma_tham_chieu: str) -> str:
        """A QUERY whose answer need only be well-formed: its ``error_code``, whatever it is
        (health checks). Transport failures and off-schema answers raise as usual."""
        envelope = await self._query_envelope(ma_tham_chieu, retry=False)
        return envelope.error_code

    async def statement(self, day: date) -> wire.Statement:
        """The platform's transactions of ``day`` (its own calendar day, Vietnam time)."""
        params: dict[str, Any] = {"Ngay": wire.wire_day(day), "MaDoiTac": self._config.ma_doi_tac}
        params["MaXacThuc"] = self.checksum.sign(params, STATEMENT_FIELDS)

        async def attempt() -> wire.Statement:
            response = await self._send("GET", "statement", params=params)
            raw = self._platform.json_object(response, "statement")
            if "error_code" in raw:
                # a refusal comes in the envelope form; a statement has no error_code
                self._raise_for_code(self._envelope(raw, "statement"))
            statement = self._platform.validated(wire.Statement, raw, "statement")
            if statement.Ngay != params["Ngay"]:
                raise InvalidUpstreamAnswer(
                    "the platform answered with the statement of another day",
                    errors=[FieldError("Ngay", "not the day asked for")],
                )
            return statement

        return await self._retrying(attempt)

    def verify_callback(self, body: bytes) -> wire.Callback:
        """The callback in ``body``, verified (see :class:`~connectors.payment.inbound.
        InboundPackets`); anything wrong is :class:`CallbackRejected`."""
        return self.inbound.verify_callback(body)

    # --- internals ---------------------------------------------------------------------------

    async def _query_envelope(self, ma_tham_chieu: str, *, retry: bool = True) -> wire.Envelope:
        data = {
            "MaDoiTac": self._config.ma_doi_tac,
            "MaThamChieu": ma_tham_chieu,
            "ThoiGianGD": wire.wire_time(self._clock()),
        }
        sent = self._validated_request(wire.QueryRequest, data)
        body = sent.model_dump(mode="json")
        body["MaXacThuc"] = self.checksum.sign(body, QUERY_FIELDS)
        if not retry:
            return await self._post("query", body, raise_codes=False)
        return await self._retrying(lambda: self._post("query", body))

    @staticmethod
    def _validated_request(model: type[A], data: Mapping[str, Any]) -> A:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise InvalidInput(
                f"the packet cannot be sent to the payment platform: "
                f"{errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None

    async def _post(
        self, operation: str, body: Mapping[str, Any], *, raise_codes: bool = True
    ) -> wire.Envelope:
        response = await self._send("POST", operation, json_body=body)
        envelope = self._envelope(self._platform.json_object(response, operation), operation)
        if raise_codes and envelope.error_code != SUCCESS:
            self._raise_for_code(envelope)
        return envelope

    async def _send(
        self,
        method: str,
        operation: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        url = f"{self._config.base_url}/{operation}"
        try:
            response = await self._http.request(
                method,
                url,
                json=json_body,
                params=params,
                timeout=self._timeout,
                extensions={
                    "lgsp_operation": f"payment.{operation}",
                    "lgsp_max_response_bytes": self._config.max_answer_bytes,
                },
            )
        except httpx.TransportError as exc:
            raise self._platform.failure(exc, operation, url) from None
        self._platform.check_status(response, operation)
        return response

    def _envelope(self, raw: Mapping[str, Any], operation: str) -> wire.Envelope:
        return self._platform.validated(wire.Envelope, raw, operation)

    def _answer(self, model: type[A], envelope: wire.Envelope, operation: str) -> A:
        return self._platform.validated(model, envelope.model_dump(), operation)

    def _raise_for_code(self, envelope: wire.Envelope) -> None:
        code = envelope.error_code
        text = self._scrubbed(envelope.message if isinstance(envelope.message, str) else "")
        rule = resolve(code)
        if code.strip() == NOT_FOUND:
            raise PaymentNotFound(rule.description)
        specific = specific_error(code)
        if specific is not None:
            detail = f"{rule.description} (code {code})" + (f": {text}" if text else "")
            raise specific(detail, code=code)
        raise_for_rule(rule, code=code[:16], message=text)
        if code != SUCCESS:  # an unknown code resolving to success cannot happen; be sure
            raise PermanentUpstreamError(f"the platform answered with code {code[:16]!r}")

    def _scrubbed(self, text: str) -> str:
        """The platform's text without the secret or keys, should it echo them; bounded."""
        for secret in (self._config.secret, self._config.send_key, self._config.verify_key):
            value = secret.get_secret_value()
            if value:
                text = text.replace(value, "***")
        return text[:300]

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await retry_transient(
            call, attempts=self._config.read_retry_attempts, wait=self._retry_wait
        )
