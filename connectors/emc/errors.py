"""EMC's answers and what each means for the gateway.

``TrackingMCDT`` has no public answer body: PASETO (``EMCService.cs``) reads only whether the
HTTP status is a success (``IsSuccessStatusCode``) and logs the answer otherwise. The codes of
this table are therefore HTTP statuses, as strings; their meanings beyond "2xx is success"
are this project's reading of HTTP (a 4xx other than 408/429 will not get better by
repeating the same packet; 408, 429 and 5xx are transient)::

    "200" "201" "202" "204"   accepted
    "400" "404" "413" "422"   the packet or the address is wrong (caller / configuration)
    "401" "403"               EMC refuses the gateway (configuration: SiteId, allow-list)
    "408" "429"               too slow / too many: retry later
    "409"                     the aggregate of that month is being replaced (our profile): retry
    "500" "502" "503" "504"   EMC or its proxy failed: retry

An HTTP status not in the table is refused and blamed on the platform (never retried blindly).

Problem types::

    GatewayError (gateway.core)
    └── InvalidInput                   422  an event or a month that cannot make a packet
    PermanentUpstreamError (gateway.core)
    └── EmcNotConfigured               503  no SiteId / no aggregate URL configured
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.core.connector import Actor, CodeTable, ErrorRule, Resolution
from gateway.core.errors import PermanentUpstreamError

__all__ = ["ERROR_TABLE", "EmcNotConfigured", "resolve"]


class EmcNotConfigured(PermanentUpstreamError):
    status = 503
    type_slug = "emc-not-configured"
    title = "EMC is not configured on this gateway"


def _ok(what: str) -> ErrorRule:
    return ErrorRule(Resolution.SUCCESS, Actor.NONE, what)


ERROR_TABLE: Mapping[str, ErrorRule] = MappingProxyType(
    {
        "200": _ok("accepted"),
        "201": _ok("accepted (created)"),
        "202": _ok("accepted (queued by EMC)"),
        "204": _ok("accepted (no content)"),
        "400": ErrorRule(Resolution.REJECT, Actor.CALLER, "EMC refused the packet (HTTP 400)"),
        "401": ErrorRule(
            Resolution.REJECT, Actor.CONFIGURATION, "EMC refused the gateway (HTTP 401)"
        ),
        "403": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "EMC forbids this site (HTTP 403: SiteId or IP allow-list)",
        ),
        "404": ErrorRule(
            Resolution.REJECT, Actor.CONFIGURATION, "no such EMC endpoint (HTTP 404: the URL)"
        ),
        "408": ErrorRule(Resolution.RETRY, Actor.TRANSIENT, "EMC timed out (HTTP 408)"),
        "409": ErrorRule(
            Resolution.RETRY, Actor.TRANSIENT, "EMC is replacing the same report (HTTP 409)"
        ),
        "413": ErrorRule(Resolution.REJECT, Actor.CALLER, "the packet is too large (HTTP 413)"),
        "422": ErrorRule(Resolution.REJECT, Actor.CALLER, "EMC found a field invalid (HTTP 422)"),
        "429": ErrorRule(Resolution.RETRY, Actor.TRANSIENT, "EMC asks to slow down (HTTP 429)"),
        "500": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "EMC failed (HTTP 500)"),
        "502": ErrorRule(Resolution.RETRY, Actor.TRANSIENT, "EMC's proxy failed (HTTP 502)"),
        "503": ErrorRule(Resolution.RETRY, Actor.TRANSIENT, "EMC is unavailable (HTTP 503)"),
        "504": ErrorRule(Resolution.RETRY, Actor.TRANSIENT, "EMC's proxy timed out (HTTP 504)"),
    }
)

_CODES = CodeTable(ERROR_TABLE)
resolve = _CODES.resolve
