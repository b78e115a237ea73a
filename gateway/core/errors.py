"""The gateway's errors.

Every error the gateway raises on purpose derives from :class:`GatewayError`, which carries
the HTTP status and problem type used when it reaches the northbound API
(``application/problem+json``, RFC 9457)::

    GatewayError
    ├── InvalidInput            422  a field is wrong (``errors`` names each field path)
    ├── Unauthenticated         401  missing or unknown client key
    ├── Forbidden               403  the client lacks the scope, or the officer the right
    ├── NotFound                404
    ├── Conflict                409  e.g. an Idempotency-Key whose first request is in flight
    ├── IdempotencyMismatch     422  the same Idempotency-Key with another body
    ├── PayloadTooLarge         413
    ├── RateLimited             429  (``retry_after`` seconds)
    ├── ConfigurationError      500  settings are missing or unsafe; fails start-up loudly
    └── UpstreamError           502  a national platform failed us
        ├── TransientUpstreamError   retry later (``retry_after`` honoured when given)
        │   └── InvalidUpstreamAnswer    the answer broke the platform's schema (we cannot
        │                                tell whether it was applied, so retrying is right)
        ├── PermanentUpstreamError   the platform refused; retrying will not help
        ├── UpstreamAuthError        credentials refused; refresh the session and retry once
        └── CircuitOpen         503  the connector's circuit breaker is open

Low-level exceptions (httpx, SQLAlchemy, pydantic) are converted at the boundary with
``raise ... from``, so callers only ever see these classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failed field: ``loc`` is the path (``data[0].NgayTiepNhan``), ``msg`` says why."""

    loc: str
    msg: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "msg": self.msg}


class GatewayError(Exception):
    status: int = 500
    type_slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)
        #: the exchange-log entry that already records this failure, when there is one
        self.exchange_id: str | None = None


class InvalidInput(GatewayError):
    status = 422
    type_slug = "invalid-input"
    title = "Invalid input"


class Unauthenticated(GatewayError):
    status = 401
    type_slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(GatewayError):
    status = 403
    type_slug = "forbidden"
    title = "Forbidden"


class NotFound(GatewayError):
    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(GatewayError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"


class IdempotencyMismatch(GatewayError):
    status = 422
    type_slug = "idempotency-key-reused"
    title = "Idempotency-Key reused with a different request"


class PayloadTooLarge(GatewayError):
    status = 413
    type_slug = "payload-too-large"
    title = "Payload too large"


class RateLimited(GatewayError):
    status = 429
    type_slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ConfigurationError(GatewayError):
    status = 500
    type_slug = "configuration"
    title = "Configuration error"


class SchemaNotCurrent(ConfigurationError):
    """The database's schema is not the one this gateway needs (``lgsp db upgrade``)."""

    type_slug = "schema-not-current"
    title = "The database schema is not current"


class UpstreamError(GatewayError):
    """A national platform failed us. ``code`` is the platform's own code when it gave one."""

    status = 502
    type_slug = "upstream-error"
    title = "Upstream platform error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail, errors=errors)
        self.code = code
        self.retry_after = retry_after


class TransientUpstreamError(UpstreamError):
    type_slug = "upstream-unavailable"
    title = "Upstream platform temporarily unavailable"
    status = 503


class PermanentUpstreamError(UpstreamError):
    type_slug = "upstream-rejected"
    title = "Upstream platform rejected the request"


class UpstreamAuthError(UpstreamError):
    type_slug = "upstream-auth"
    title = "Upstream platform refused the gateway's credentials"


class InvalidUpstreamAnswer(TransientUpstreamError):
    type_slug = "upstream-invalid-answer"
    title = "Upstream platform answered outside its schema"


class CircuitOpen(UpstreamError):
    status = 503
    type_slug = "circuit-open"
    title = "Connector circuit breaker is open"
