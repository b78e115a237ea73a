"""Delivery workers: take accepted work from the outbox and hand it to connectors.

Each worker task leases a batch (heads of their ordering keys only), delivers the items of
different keys concurrently, and settles each: delivered; retry later (transient failure,
backoff with jitter honouring Retry-After); dead-lettered (permanent failure or attempts
exhausted). A connector whose circuit is open is not called: its items wait, uncounted, until
the circuit lets a probe through. The same process also runs the exchange-log sealer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import timedelta

import structlog

from gateway.core import outbox
from gateway.core.audit import seal_pending
from gateway.core.db import OutboxItem, utcnow
from gateway.core.errors import GatewayError, TransientUpstreamError
from gateway.core.http import AttemptContext, attempt_context
from gateway.core.metrics import DELIVERIES, SEALED
from gateway.core.resilience import CircuitState
from gateway.core.runtime import Gateway

log = structlog.get_logger("gateway.delivery")


class DeliveryService:
    def __init__(self, gateway: Gateway, *, owner: str | None = None) -> None:
        self.gw = gateway
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()

    # --- one round ------------------------------------------------------------------------

    async def _open_circuits(self) -> list[str]:
        out = []
        for slug, breaker in self.gw.breakers.items():
            if await breaker.state() is CircuitState.OPEN:
                out.append(slug)
        return out

    async def run_once(self, worker: int = 0) -> int:
        """Lease one batch and settle every item in it; return how many were leased."""
        d = self.gw.settings.delivery
        items = await outbox.claim(
            self.gw.db,
            owner=f"{self.owner}/{worker}",
            limit=d.batch_size,
            lease_seconds=d.lease_seconds,
            skip_connectors=await self._open_circuits(),
        )
        if items:
            await asyncio.gather(*(self.deliver(i, f"{self.owner}/{worker}") for i in items))
        return len(items)

    async def deliver(self, item: OutboxItem, owner: str) -> None:
        db = self.gw.db
        slug = item.connector
        connector = self.gw.connectors.get(slug)
        if connector is None:
            await outbox.mark_dead(db, item, owner, reason=f"no connector {slug!r} is registered")
            DELIVERIES.labels(slug, "dead").inc()
            return
        breaker = self.gw.breakers[slug]
        if not await breaker.allow():
            at = await breaker.retry_at()
            when = utcnow() + timedelta(seconds=1.0)
            if at is not None:
                when = max(when, utcnow() + timedelta(seconds=max(0.0, at - _now_epoch())))
            await outbox.mark_retry(db, item, owner, at=when, error="circuit open", count=False)
            DELIVERIES.labels(slug, "held").inc()
            return
        ctx = AttemptContext(
            operation=item.operation, parent_id=item.exchange_id, ma_ho_so=item.ma_ho_so
        )
        try:
            payload = outbox.decode_payload(self.gw.cipher, item)
            with attempt_context(ctx):
                result = await connector.deliver(item.operation, payload)
        except TransientUpstreamError as exc:
            await breaker.record_failure()
            await self._retry_or_bury(item, owner, str(exc), exc.retry_after)
        except GatewayError as exc:
            # the platform answered and refused: it is up, the packet is the problem
            await breaker.record_success()
            await outbox.mark_dead(db, item, owner, reason=f"{type(exc).__name__}: {exc}")
            DELIVERIES.labels(slug, "dead").inc()
            log.warning("delivery_dead", exchange_id=item.exchange_id, reason=str(exc))
        except Exception as exc:
            log.exception("delivery_internal_error", exchange_id=item.exchange_id)
            await self._retry_or_bury(item, owner, f"internal error: {type(exc).__name__}", None)
        else:
            await breaker.record_success()
            if await outbox.mark_delivered(db, item, owner):
                DELIVERIES.labels(slug, "delivered").inc()
            log.debug("delivered", exchange_id=item.exchange_id, detail=result.detail)

    async def _retry_or_bury(
        self, item: OutboxItem, owner: str, error: str, retry_after: float | None
    ) -> None:
        slug = item.connector
        if self.gw.retry.exhausted(item.attempts):
            reason = f"gave up after {item.attempts} attempts; last error: {error}"
            await outbox.mark_dead(self.gw.db, item, owner, reason=reason)
            DELIVERIES.labels(slug, "dead").inc()
            log.warning("delivery_dead", exchange_id=item.exchange_id, reason=reason)
            return
        delay = self.gw.retry.delay(item.attempts, retry_after)
        at = utcnow() + timedelta(seconds=delay)
        await outbox.mark_retry(self.gw.db, item, owner, at=at, error=error)
        DELIVERIES.labels(slug, "retry").inc()
        log.info("delivery_retry", exchange_id=item.exchange_id, in_seconds=round(delay, 2))

    async def seal_once(self) -> int:
        total = 0
        while n := await seal_pending(self.gw.db, self.gw.signer):
            SEALED.inc(n)
            total += n
        return total

    # --- loops ----------------------------------------------------------------------------

    async def _worker(self, index: int) -> None:
        d = self.gw.settings.delivery
        while not self._stop.is_set():
            try:
                leased = await self.run_once(index)
            except Exception:
                log.exception("delivery_round_failed", worker=index)
                leased = 0
            if leased == 0:
                self.gw.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.gw.wakeup.wait(), d.poll_interval_seconds)

    async def _sealer(self) -> None:
        interval = self.gw.settings.delivery.seal_interval_seconds
        while not self._stop.is_set():
            try:
                await self.seal_once()
            except Exception:
                log.exception("seal_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)

    def start(self, *, workers: int | None = None, sealer: bool = True) -> None:
        count = self.gw.settings.delivery.workers if workers is None else workers
        self._stop.clear()
        self._tasks = [asyncio.create_task(self._worker(i)) for i in range(count)]
        if sealer:
            self._tasks.append(asyncio.create_task(self._sealer()))

    async def stop(self) -> None:
        self._stop.set()
        self.gw.wakeup.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.seal_once()


def _now_epoch() -> float:
    return utcnow().timestamp()
