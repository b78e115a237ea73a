"""HTTP plumbing both signing-service clients share: one JSON call, bounded and validated.

* The answer is read with a bound (``max_answer_bytes``), must be a JSON object and is
  validated against its wire model; an off-schema answer is
  :class:`~gateway.core.errors.InvalidUpstreamAnswer` naming the field.
* Transport errors, 429 and 5xx are :class:`~gateway.core.errors.TransientUpstreamError`
  (Retry-After kept); 401 is :class:`~gateway.core.errors.UpstreamAuthError`; other non-2xx
  answers are resolved from their error code (CSC's ``error``, SmartCA's ``status_code``)
  through :mod:`connectors.esign.errors`.
* ``redact`` byte strings (a PIN, a SAD, SmartCA's ``sp_password``) are blanked in the exchange
  log's copy of the request;
  ``scrub`` blanks tokens in its copy of the answer. Neither ever appears in an error.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from connectors.esign.config import EsignConfig
from connectors.esign.errors import SigningRefused, resolve
from gateway.core.connector import Resolution, raise_for_rule
from gateway.core.delivery.resilience import retry_transient
from gateway.core.errors import (
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.recording import ResponseTooLarge, retry_after_seconds
from gateway.core.validation import field_errors

__all__ = ["ServiceHttp", "raise_for_code"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def raise_for_code(code: str, message: str) -> None:
    """Raise what the service's ``code`` means (nothing for success)."""
    rule = resolve(code)
    if rule.resolution is Resolution.REJECT:
        raise SigningRefused(f"{rule.description} (code {code[:32]}): {message[:300]}", code=code)
    raise_for_rule(rule, code=code[:32], message=message[:300])


class ServiceHttp:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        service: str,
        timeout: float,
        max_answer_bytes: int,
        attempts: int,
        retry_wait: wait_base | None = None,
    ) -> None:
        self._http = http
        self._service = service
        self._timeout = httpx.Timeout(timeout)
        self._max = max_answer_bytes
        self._attempts = attempts
        self._wait = retry_wait or wait_exponential_jitter(multiplier=0.2, max=2)

    @classmethod
    def of(
        cls,
        config: EsignConfig,
        http: httpx.AsyncClient,
        *,
        service: str,
        retry_wait: wait_base | None = None,
    ) -> ServiceHttp:
        """Bounds and retries as the connector's configuration sets them."""
        return cls(
            http,
            service=service,
            timeout=config.timeout_seconds,
            max_answer_bytes=config.max_answer_bytes,
            attempts=config.read_retry_attempts,
            retry_wait=retry_wait,
        )

    async def retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call`` again while it fails transiently, up to the configured attempts."""
        return await retry_transient(call, attempts=self._attempts, wait=self._wait)

    async def call(
        self,
        method: str,
        url: str,
        model: type[M],
        *,
        operation: str,
        body: BaseModel | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        redact: Sequence[bytes] = (),
        scrub: Callable[[bytes], bytes] | None = None,
    ) -> M:
        extensions: dict[str, Any] = {
            "lgsp_operation": f"esign.{operation}",
            "lgsp_max_response_bytes": self._max,
            "lgsp_redact": tuple(r for r in redact if r),
        }
        if scrub is not None:
            extensions["lgsp_scrub_answer"] = scrub
        try:
            response = await self._http.request(
                method,
                url,
                json=body.model_dump(mode="json", exclude_none=True) if body else None,
                headers=headers,
                auth=auth or httpx.USE_CLIENT_DEFAULT,
                timeout=self._timeout,
                extensions=extensions,
            )
        except ResponseTooLarge:
            raise InvalidUpstreamAnswer(
                f"the {self._service} {operation} answer is larger than {self._max} bytes"
            ) from None
        except httpx.TransportError as exc:
            raise TransientUpstreamError(
                f"{self._service} {operation}: {type(exc).__name__} reaching {url.split('?', 1)[0]}"
            ) from None
        raw = self._json(response, operation)
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientUpstreamError(
                f"{self._service} {operation}: HTTP {status}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status == 401:
            raise UpstreamAuthError(f"the {self._service} service refused the gateway: HTTP 401")
        if not 200 <= status < 300:
            raw = raw or {}
            code = str(raw.get("error") or raw.get("status_code") or "")
            if not code:
                raise PermanentUpstreamError(f"{self._service} {operation}: HTTP {status}")
            raise_for_code(code, str(raw.get("error_description") or raw.get("message") or ""))
        if raw is None:
            raise InvalidUpstreamAnswer(f"the {self._service} {operation} answer is not JSON")
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise InvalidUpstreamAnswer(
                f"the {self._service} {operation} answer breaks its schema: "
                f"{errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None

    def _json(self, response: httpx.Response, operation: str) -> dict[str, Any] | None:
        if len(response.content) > self._max:
            raise InvalidUpstreamAnswer(
                f"the {self._service} {operation} answer is larger than {self._max} bytes"
            )
        try:
            raw = json.loads(response.content)
        except ValueError:
            return None
        return raw if isinstance(raw, dict) else None
