"""The payment-platform connector.

Nothing goes through the outbox: ``operations`` is empty and :meth:`PaymentConnector.deliver`
refuses everything. Payments are created and queried synchronously through
:attr:`PaymentConnector.client` (:class:`~connectors.payment.client.PaymentClient`), and
callbacks are verified there too. One periodic job, ``poll-pending``, asks the platform about
payments left pending (:mod:`connectors.payment.poller`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from connectors.payment.client import PaymentClient
from connectors.payment.config import PaymentConfig
from connectors.payment.errors import ERROR_TABLE, PaymentNotFound
from connectors.payment.poller import PollPolicy, poll_pending
from connectors.payment.status import Settlement
from gateway.core.connector import CheckResult, Delivered, ErrorRule, PeriodicJob
from gateway.core.errors import PermanentUpstreamError, UpstreamError
from gateway.core.runtime import Gateway

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
        its ``MaLoi`` (no payment is created or read)."""
        started = time.perf_counter()
        try:
            code = await self.client.probe(HEALTHCHECK_REFERENCE)
        except UpstreamError as exc:
            return CheckResult(False, f"QUERY failed: {type(exc).__name__}: {exc.detail}")
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(True, f"QUERY answered (MaLoi {code[:16]!r})", latency)

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        raise PermanentUpstreamError(
            f"payment delivers nothing through the outbox (asked for {operation!r})"
        )

    async def query_settlement(self, ma_tham_chieu: str) -> Settlement | None:
        """QUERY, as the core's :class:`Settlement`; ``None`` when the platform has no such
        payment."""
        try:
            found = await self.client.query(ma_tham_chieu)
        except PaymentNotFound:
            return None
        return Settlement(
            ma_tham_chieu=found.MaThamChieu,
            ma_loi=found.MaLoi,
            so_tien=found.SoTien,
            ma_tien_te=found.MaTienTe,
            ma_giao_dich=found.MaGiaoDich,
            ma_doi_tac=None,
            source="poller",
        )

    def periodic_jobs(self, gateway: Any) -> Sequence[PeriodicJob]:
        assert isinstance(gateway, Gateway)
        config = self.config
        policy = PollPolicy(
            after=timedelta(seconds=config.poll_after_seconds),
            every=timedelta(seconds=config.poll_every_seconds),
            give_up=timedelta(seconds=config.poll_give_up_seconds),
            batch=config.poll_batch,
        )

        async def poll() -> int:
            return await poll_pending(
                gateway, query=self.query_settlement, ma_doi_tac=config.ma_doi_tac, policy=policy
            )

        return [PeriodicJob("poll-pending", config.poll_interval_seconds, poll)]

    async def aclose(self) -> None:
        """The HTTP client is the gateway's; nothing else is held."""
