"""Async client of the DVCQG online payment platform (JSON over HTTP), over the recording client.

Endpoints (``init_path``, ``query_path``: the public callers configure each URL):

* ``POST {base_url}/init``: an INIT packet (its JSON types by :mod:`connectors.payment.profiles`)
  -> ``{"error_code": "0", "message": "<JSON text with UrlThanhToan>"}`` (PASETO) or a flat
  ``{"MaLoi": "00", "UrlThanhToan", ...}`` (OpenCPS), both read (:func:`schemas.payment.
  init_result`). The same MaThamChieu with the same content answers the same URL (so an
  INIT is resent byte for byte when the platform fails transiently); with other content, "03".
* ``POST {base_url}/query``: a QUERY packet -> a flat ``{"MaLoi": "00", "TrangThaiGD", ...}``
  (PASETO ``ConfirmDvcPaymentResponse``); another ``MaLoi`` is a refusal ("14": no such
  MaThamChieu, this project's code).
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
* ``access_token`` (direct transport only): ``Authorization: Bearer`` on every call, as PASETO
  sends its ``DvcPaymentSettings.AccessToken``; through the LGSP the core adds the LGSP's.
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
    SUCCESS_QUERY,
    PaymentNotFound,
    resolve,
    specific_error,
)
from connectors.payment.inbound import MAX_CALLBACK_BYTES, InboundPackets
from connectors.payment.profiles import init_body
from gateway.core.connector import raise_for_rule
from gateway.core.delivery.resilience import retry_transient
from gateway.core.errors import (
    FieldError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
)
from gateway.core.http.json_answers import JsonPlatform
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
        body = init_body(sent, self._config.profile)
        body["MaXacThuc"] = self.checksum.sign(body, INIT_FIELDS)

        async def attempt() -> wire.InitAnswer:
            raw = await self._post("init", body)
            envelope = self._envelope(wire.init_result(dict(raw)), "init")
            if envelope.error_code != SUCCESS:
                self._raise_for_code(envelope.error_code, envelope.message)
            return self._platform.validated(wire.InitAnswer, envelope.model_dump(), "init")

        answer = await self._retrying(attempt)
        echoed = answer.message.MaThamChieu
        if echoed is not None and echoed != sent.MaThamChieu:
            raise InvalidUpstreamAnswer(
                "the platform answered INIT for another payment reference",
                errors=[FieldError("message.MaThamChieu", "not the reference sent")],
            )
        return answer

    async def query(self, ma_tham_chieu: str) -> wire.QueryResult:
        """QUERY: the payment's state, in the callback's vocabulary (``MaLoi`` "00" paid, "01"
        pending, "02" failed); :class:`PaymentNotFound` when the platform has none."""
        answer = await self._retrying(lambda: self._query_answer(ma_tham_chieu))
        if answer.MaLoi != SUCCESS_QUERY:
            self._raise_for_code(answer.MaLoi, answer.MoTaLoi)
        if answer.MaThamChieu is not None and answer.MaThamChieu != ma_tham_chieu:
            raise InvalidUpstreamAnswer(
                "the platform answered QUERY for another payment reference",
                errors=[FieldError("MaThamChieu", "not the reference asked for")],
            )
        state = wire.TRANG_THAI_GD.get(answer.TrangThaiGD or "", "01")
        found = {
            "MaLoi": state,
            "MaThamChieu": ma_tham_chieu,
            "MaGiaoDich": answer.MaGiaoDich or "",
            "SoTien": answer.SoTien,
            "MaTienTe": answer.MaTienTe,
            "MaNganHang": answer.MaNganHang or "",
            "ThoiGianGD": answer.ThoiGianGD or "",
        }
        return self._platform.validated(wire.QueryResult, found, "query")

    async def probe(self, ma_tham_chieu: str) -> str:
        """A QUERY whose answer need only be well-formed: its ``MaLoi``, whatever it is
        (health checks). Transport failures and off-schema answers raise as usual."""
        answer = await self._query_answer(ma_tham_chieu)
        return answer.MaLoi

    async def statement(self, day: date) -> wire.Statement:
        """The platform's transactions of ``day`` (its own calendar day, Vietnam time)."""
        params: dict[str, Any] = {"Ngay": wire.wire_day(day), "MaDoiTac": self._config.ma_doi_tac}
        params["MaXacThuc"] = self.checksum.sign(params, STATEMENT_FIELDS)

        async def attempt() -> wire.Statement:
            response = await self._send("GET", "statement", params=params)
            raw = self._platform.json_object(response, "statement")
            if "error_code" in raw:
                # a refusal comes in the envelope form; a statement has no error_code
                refusal = self._envelope(raw, "statement")
                self._raise_for_code(refusal.error_code, refusal.message)
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

    async def _query_answer(self, ma_tham_chieu: str) -> wire.QueryAnswer:
        data = {
            "MaDoiTac": self._config.ma_doi_tac,
            "MaThamChieu": ma_tham_chieu,
            "ThoiGianGD": wire.wire_time(self._clock()),
        }
        sent = self._validated_request(wire.QueryRequest, data)
        body = sent.model_dump(mode="json")
        body["MaXacThuc"] = self.checksum.sign(body, QUERY_FIELDS)
        raw = await self._post("query", body)
        if "error_code" in raw and "MaLoi" not in raw:
            # a refusal in the envelope form, as some gateways in front of the platform answer
            refusal = self._envelope(raw, "query")
            raw = {"MaLoi": refusal.error_code, "MoTaLoi": refusal.message}
        return self._platform.validated(wire.QueryAnswer, raw, "query")

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

    async def _post(self, operation: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        response = await self._send("POST", operation, json_body=body)
        return self._platform.json_object(response, operation)

    async def _send(
        self,
        method: str,
        operation: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        url = f"{self._config.base_url}/{self._config.paths.get(operation, operation)}"
        headers = {}
        token = self._config.access_token
        if token is not None and self._config.transport == "direct":
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        try:
            response = await self._http.request(
                method,
                url,
                json=json_body,
                params=params,
                headers=headers,
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

    def _raise_for_code(self, code: str, message: object) -> None:
        text = self._scrubbed(message if isinstance(message, str) else "")
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
