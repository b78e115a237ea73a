"""The payment-platform connector.

Nothing goes through the outbox yet: ``operations`` is empty and :meth:`PaymentConnector.
deliver` refuses everything. Payments are created and queried synchronously through
:attr:`PaymentConnector.client` (:class:`~connectors.payment.client.PaymentClient`), and
callbacks are verified there too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from connectors.payment.client import PaymentClient
from connectors.payment.config import PaymentConfig
from connectors.payment.errors import ERROR_TABLE
from gateway.core.connector import CheckResult, Delivered, ErrorRule
from gateway.core.errors import PermanentUpstreamError, UpstreamError

__all__ = ["HEALTHCHECK_REFERENCE", "PaymentConnector"]

#: the MaThamChieu a health check asks for (no payment has it; any well-formed answer will do)
HEALTHCHECK_REFERENCE = "LGSP-HEALTHCHECK"


class PaymentConnector:
    slug: ClassVar[str] = "payment"
    operations: ClassVar[frozenset[str]] = frozenset()
    error_table: ClassVar[Mapping[str, ErrorRule]] = ERROR_TABLE

    def __init__(self, config: PaymentConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.client = PaymentClient(config, http)

    async def check(self) -> CheckResult:
        """A QUERY for :data:`HEALTHCHECK_REFERENCE` answered with a well-formed packet, whatever
        its ``error_code`` (no payment is created or read)."""
        started = time.perf_counter()
        try:
            code = await self.client.probe(HEALTHCHECK_REFERENCE)
        except UpstreamError as exc:
            return CheckResult(False, f"QUERY failed: {type(exc).__name__}: {exc.detail}")
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(True, f"QUERY answered (error_code {code[:16]!r})", latency)

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        raise PermanentUpstreamError(
            f"payment delivers nothing through the outbox (asked for {operation!r})"
        )

    async def aclose(self) -> None:
        """The HTTP client is the gateway's; nothing else is held."""
