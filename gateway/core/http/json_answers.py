"""Reading a JSON platform's answers the same way in every connector that speaks JSON.

:class:`JsonPlatform` turns what can go wrong with one HTTP exchange into the core's errors,
with messages that name the platform and the operation and never a body, a secret or a token:

* a transport failure is :class:`TransientUpstreamError` (the URL without its query);
  an answer cut off at the bound (``ResponseTooLarge``) is :class:`InvalidUpstreamAnswer`;
* HTTP 429 and 5xx are transient (``Retry-After`` honoured), 401/403
  :class:`UpstreamAuthError` (unless the connector handles them itself, e.g. renewing a
  token), any other non-2xx permanent;
* an answer is a bounded JSON object, validated against its wire model, the failing field
  named (pydantic's own message, which quotes input, is not chained).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from gateway.core.errors import (
    GatewayError,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.recording import ResponseTooLarge, retry_after_seconds
from gateway.core.validation import field_errors

__all__ = ["JsonPlatform"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class JsonPlatform:
    name: str  # in sentences, e.g. "the national portal"
    short: str  # in prefixes: the slug
    max_answer_bytes: int

    def failure(self, exc: httpx.TransportError, operation: str, url: str) -> GatewayError:
        """The error to raise (``from None``) for an exchange that got no usable answer."""
        if isinstance(exc, ResponseTooLarge):
            return self._too_large(operation)
        return TransientUpstreamError(
            f"{self.short} {operation}: {type(exc).__name__} reaching {url.split('?', 1)[0]}"
        )

    def check_status(
        self, response: httpx.Response, operation: str, *, auth_is_refusal: bool = True
    ) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientUpstreamError(
                f"{self.short} {operation}: HTTP {status}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status in (401, 403):
            if auth_is_refusal:
                raise UpstreamAuthError(f"{self.name} refused the gateway: HTTP {status}")
            return
        if not 200 <= status < 300:
            raise PermanentUpstreamError(f"{self.short} {operation}: unexpected HTTP {status}")

    def json_object(self, response: httpx.Response, operation: str) -> dict[str, Any]:
        if len(response.content) > self.max_answer_bytes:
            raise self._too_large(operation)
        try:
            raw = json.loads(response.content)
        except ValueError:
            raise InvalidUpstreamAnswer(f"{self.name}'s {operation} answer is not JSON") from None
        if not isinstance(raw, dict):
            raise InvalidUpstreamAnswer(f"{self.name}'s {operation} answer is not a JSON object")
        return raw

    def validated(self, model: type[M], raw: Any, operation: str) -> M:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise InvalidUpstreamAnswer(
                f"{self.name}'s {operation} answer breaks its schema: "
                f"{errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None

    def _too_large(self, operation: str) -> InvalidUpstreamAnswer:
        return InvalidUpstreamAnswer(
            f"{self.name}'s {operation} answer is larger than {self.max_answer_bytes} bytes"
        )
