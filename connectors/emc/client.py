"""Async client of EMC (JSON over HTTP), over the gateway's recording client.

* ``track``: ``POST {tracking_url}`` one :class:`~schemas.emc.TrackingMCDT` as JSON, ``Accept:
  application/json``, no credential (PASETO ``EMCService.cs``: ``PostAsJsonAsync`` to
  ``ApiUrl``, default ``https://f-emc.ngsp.gov.vn/TrackingMCDT``). A 2xx is acceptance, whatever
  the body (PASETO reads nothing else).
* ``submit_aggregate`` (**our profile**): ``POST {aggregate_url}`` one
  :class:`~schemas.emc.MonthlyAggregate`, optional ``Authorization: Bearer``; the answer must be
  a JSON object :class:`~schemas.emc.AggregateAnswer` (a malformed answer is
  :class:`~gateway.core.errors.InvalidUpstreamAnswer`, transient: the outbox retries, and the
  endpoint de-duplicates by month and agency).
* ``probe``: ``OPTIONS {tracking_url}``: reachability only (EMC has no public health call and a
  probe must not create an event); any HTTP answer below 500 counts as reachable.

Every packet is validated before it is sent; statuses are resolved by
:mod:`connectors.emc.errors`; transport failures are transient. Writes are not retried here:
the outbox owns their retries. Wire operations are recorded as ``emc.track``,
``emc.submit_aggregate`` and ``emc.probe``. The aggregate token travels in a header only
(the exchange log records bodies, not headers); no error or log line carries it nor an ID
number.
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors.emc.config import EmcConfig
from connectors.emc.errors import EmcNotConfigured, resolve
from gateway.core.connector import raise_for_rule
from gateway.core.errors import PermanentUpstreamError
from gateway.core.http.json_answers import JsonPlatform
from schemas import emc as wire

__all__ = ["EmcClient"]


class EmcClient:
    """One province (``SiteId``) at EMC."""

    def __init__(self, config: EmcConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._timeout = httpx.Timeout(config.timeout_seconds)
        self._platform = JsonPlatform("EMC", "emc", config.max_answer_bytes)

    async def track(self, packet: wire.TrackingMCDT) -> int:
        """Send one dossier event; returns the HTTP status EMC accepted it with."""
        body = wire.TrackingMCDT.model_validate(packet.model_dump()).model_dump(mode="json")
        response = await self._send(
            "POST", "track", self._config.tracking_url, json_body=body, headers={}
        )
        return response.status_code

    async def submit_aggregate(self, packet: wire.MonthlyAggregate) -> wire.AggregateAnswer:
        """Send one month's aggregate (our profile); EMC's (the endpoint's) answer."""
        url = self._config.aggregate_url
        if url is None:
            raise EmcNotConfigured("no aggregate_url is configured (our profile, off)")
        body = wire.MonthlyAggregate.model_validate(packet.model_dump()).model_dump(mode="json")
        headers: dict[str, str] = {}
        token = self._config.aggregate_token.get_secret_value()
        if token and self._config.transport == "direct":
            headers["Authorization"] = f"Bearer {token}"
        response = await self._send(
            "POST", "submit_aggregate", url, json_body=body, headers=headers
        )
        raw = self._platform.json_object(response, "submit_aggregate")
        return self._platform.validated(wire.AggregateAnswer, raw, "submit_aggregate")

    async def probe(self) -> int:
        """Reach the tracking endpoint without sending an event; its HTTP status."""
        try:
            response = await self._http.request(
                "OPTIONS",
                self._config.tracking_url,
                timeout=self._timeout,
                extensions={
                    "lgsp_operation": "emc.probe",
                    "lgsp_max_response_bytes": self._config.max_answer_bytes,
                },
            )
        except httpx.TransportError as exc:
            raise self._platform.failure(exc, "probe", self._config.tracking_url) from None
        if response.status_code >= 500:
            self._platform.check_status(response, "probe")
        return response.status_code

    async def _send(
        self,
        method: str,
        operation: str,
        url: str,
        *,
        json_body: dict[str, Any],
        headers: dict[str, str],
    ) -> httpx.Response:
        extensions: dict[str, Any] = {
            "lgsp_operation": f"emc.{operation}",
            "lgsp_max_response_bytes": self._config.max_answer_bytes,
        }
        try:
            response = await self._http.request(
                method,
                url,
                json=json_body,
                headers={"Accept": "application/json", **headers},
                timeout=self._timeout,
                extensions=extensions,
            )
        except httpx.TransportError as exc:
            raise self._platform.failure(exc, operation, url) from None
        self._raise_for_status(response, operation)
        return response

    def _raise_for_status(self, response: httpx.Response, operation: str) -> None:
        code = str(response.status_code)
        rule = resolve(code)
        if response.status_code in (429, 503) or response.status_code >= 500:
            # Retry-After honoured, as for every JSON platform
            self._platform.check_status(response, operation)
        raise_for_rule(rule, code=code, message=f"emc {operation}")
        if not 200 <= response.status_code < 300:  # a success rule on a non-2xx cannot be
            raise PermanentUpstreamError(f"emc {operation}: unexpected HTTP {code}")
