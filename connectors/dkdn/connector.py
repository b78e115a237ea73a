"""The business-registration connector: synchronous enterprise look-ups.

Nothing here changes state on the platform, so nothing goes through the outbox: ``operations``
is empty and :meth:`DkdnConnector.deliver` refuses everything. The route calls :meth:`lookup`
through :func:`gateway.core.delivery.intake.call_through` (circuit breaker, exchange log) once
the officer and the purpose are stated; the connector only speaks the platform's protocol.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from connectors.dkdn.client import DkdnClient
from connectors.dkdn.config import DkdnConfig
from connectors.dkdn.errors import ERROR_TABLE
from connectors.dkdn.models import DoanhNghiep
from gateway.core.connector import CheckResult, Delivered, ErrorRule
from gateway.core.errors import GatewayError, PermanentUpstreamError

__all__ = ["PROBE_CODE", "DkdnConnector"]

#: the code a health check asks for: well formed, never issued (its answer is "not found")
PROBE_CODE = "0000000000"


class DkdnConnector:
    slug: ClassVar[str] = "dkdn"
    operations: ClassVar[frozenset[str]] = frozenset()
    error_table: ClassVar[Mapping[str, ErrorRule]] = ERROR_TABLE

    def __init__(self, config: DkdnConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.client = DkdnClient(config, http)

    async def lookup(self, ma_so_doanh_nghiep: str) -> DoanhNghiep | None:
        """The enterprise, or ``None`` when the register has none with that code."""
        return await self.client.lookup(ma_so_doanh_nghiep)

    async def check(self) -> CheckResult:
        """A token (ngsp) and one look-up of a code never issued: the register must answer it
        within its schema (enterprise records are public registry data, not personal data)."""
        started = time.perf_counter()
        try:
            found = await self.client.lookup(PROBE_CODE)
        except GatewayError as exc:
            return CheckResult(False, f"the business register did not answer: {exc.title}")
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(
            True, f"answered the probe look-up ({'found' if found else 'not found'})", latency
        )

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        raise PermanentUpstreamError(
            f"dkdn delivers nothing through the outbox (asked for {operation!r}); "
            "look-ups are synchronous"
        )

    async def aclose(self) -> None:
        """The HTTP client is the gateway's; nothing else is held."""
