"""Delivery workers: take accepted work from the outbox and hand it to connectors.

Each worker task leases a batch (heads of their ordering keys only), delivers the items of
different keys concurrently, and settles each: delivered; retry later (transient failure,
backoff with jitter honouring Retry-After); dead-lettered (permanent failure or attempts
exhausted). A connector whose circuit is open is not called: its items wait, uncounted, until
the circuit lets a probe through. The same process also runs the exchange-log sealer and the
connectors' :class:`~gateway.core.connector.PeriodicJob` s (pollers of what went quiet).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import datetime, timedelta

import structlog

from gateway.core.connector import BatchDelivery, Delivered, PeriodicJob, PeriodicWork
from gateway.core.delivery import outbox
from gateway.core.delivery.failing import FailingLoop
from gateway.core.delivery.resilience import CircuitState
from gateway.core.errors import GatewayError, TransientUpstreamError
from gateway.core.http.recording import AttemptContext, attempt_context
from gateway.core.log.audit import SEAL_BATCH, seal_pending
from gateway.core.log.exchange_log import Crossing
from gateway.core.maintenance import PlatformInMaintenance, announce_due
from gateway.core.metrics import DELIVERIES, SEALED
from gateway.core.runtime import Gateway
from gateway.core.store.batching import Row
from gateway.core.store.db import OutboxItem, utcnow

log = structlog.get_logger("gateway.delivery")

#: how often the start and end of maintenance windows are announced to the case systems
ANNOUNCE_SECONDS = 15.0
#: how much less often the workers other than worker 0 poll an idle outbox
IDLE_POLL_FACTOR = 5


class DeliveryService:
    def __init__(self, gateway: Gateway, *, owner: str | None = None) -> None:
        self.gw = gateway
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()

    # --- one round ------------------------------------------------------------------------

    async def _open_circuits(self) -> list[str]:
        """The connectors whose items are not taken this round: circuit open, or the platform
        in a maintenance window, or the connector off (LGSP_CONNECTORS_OFF: its items wait)."""
        out = list(await self.gw.maintenance.in_maintenance())
        out += [slug for slug in getattr(self.gw, "off_specs", {}) if slug not in out]
        for slug, breaker in self.gw.breakers.items():
            if slug not in out and await breaker.state() is CircuitState.OPEN:
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
            owner = f"{self.owner}/{worker}"
            await asyncio.gather(*(self._deliver(group, owner) for group in self._groups(items)))
        return len(items)

    def _groups(self, items: list[OutboxItem]) -> list[list[OutboxItem]]:
        """Items that may travel together (same connector and batchable operation), in
        chunks the connector accepts; every other item alone. Each item is the head of its
        own ordering key, so batching never reorders a key."""
        out: list[list[OutboxItem]] = []
        open_groups: dict[tuple[str, str], list[OutboxItem]] = {}
        for item in items:
            connector = self.gw.connectors.get(item.connector)
            limit = 1
            if isinstance(connector, BatchDelivery):
                limit = connector.batch_operations.get(item.operation, 1)
            if limit <= 1:
                out.append([item])
                continue
            group = open_groups.setdefault((item.connector, item.operation), [])
            group.append(item)
            if len(group) >= limit:
                out.append(group)
                del open_groups[(item.connector, item.operation)]
        out.extend(open_groups.values())
        return out

    async def deliver(self, item: OutboxItem, owner: str) -> None:
        """Deliver one leased item and settle it."""
        await self._deliver([item], owner)

    async def _deliver(self, items: list[OutboxItem], owner: str) -> None:
        db = self.gw.db
        first = items[0]
        slug = first.connector
        connector = self.gw.connectors.get(slug)
        if connector is None:
            for item in items:
                reason = f"no connector {slug!r} is registered"
                await outbox.mark_dead(db, item, owner, reason=reason)
                DELIVERIES.labels(slug, "dead").inc()
            return
        window = await self.gw.maintenance.active(slug)
        if window is not None:
            # the window began after the items were taken: held to its end, not counted
            for item in items:
                await self._hold(item, owner, window.ends_at, f"{slug} in maintenance")
            return
        breaker = self.gw.breakers[slug]
        if not await breaker.allow():
            at = await breaker.retry_at()
            when = utcnow() + timedelta(seconds=1.0)
            if at is not None:
                when = max(when, utcnow() + timedelta(seconds=max(0.0, at - breaker.clock())))
            for item in items:
                await outbox.mark_retry(db, item, owner, at=when, error="circuit open", count=False)
                DELIVERIES.labels(slug, "held").inc()
            return
        batch = len(items) > 1
        # the attempts are collected, not written one commit each: their entries go in with
        # the settlement, plain rows in the same group commit
        attempts: list[Crossing] = []
        ctx = AttemptContext(
            operation=first.operation,
            parent_id=first.exchange_id,
            ma_ho_so=None if batch else first.ma_ho_so,
            related=tuple(i.exchange_id for i in items) if batch else (),
            collect=attempts,
        )
        outcomes: list[Delivered | BaseException]
        try:
            payloads = [outbox.decode_payload(self.gw.cipher, i) for i in items]
            with attempt_context(ctx):
                if batch:
                    assert isinstance(connector, BatchDelivery)
                    outcomes = list(await connector.deliver_batch(first.operation, payloads))
                    if len(outcomes) != len(items):
                        raise RuntimeError(
                            f"{slug} answered {len(outcomes)} outcomes for {len(items)} payloads"
                        )
                else:
                    outcomes = [await connector.deliver(first.operation, payloads[0])]
        except asyncio.CancelledError:
            # stopped past its grace: what went out is still recorded before giving up
            if rows := self._attempt_rows(attempts, slug):
                await self._record(rows, slug)
            raise
        except Exception as exc:  # the whole call failed alike
            if not isinstance(exc, GatewayError):
                log.exception("delivery_internal_error", exchange_id=first.exchange_id)
            outcomes = [exc] * len(items)
        if any(isinstance(o, PlatformInMaintenance) for o in outcomes):
            pass  # nothing was sent: the platform's health is not in question
        elif all(isinstance(o, TransientUpstreamError) for o in outcomes):
            await breaker.record_failure()
        elif any(isinstance(o, Delivered | GatewayError) for o in outcomes):
            # the platform answered (accepted or refused): it is up
            await breaker.record_success()
        delivered = [i for i, o in zip(items, outcomes, strict=True) if isinstance(o, Delivered)]
        rows = self._attempt_rows(attempts, slug)
        if delivered:
            settled = await self._settle_delivered(delivered, owner, rows)
            rows = []
            DELIVERIES.labels(slug, "delivered").inc(settled)
            for i in delivered:
                log.debug("delivered", exchange_id=i.exchange_id, operation=i.operation)
        elif rows:
            await self._record(rows, slug)
        await asyncio.gather(
            *(
                self._settle(i, owner, o)
                for i, o in zip(items, outcomes, strict=True)
                if not isinstance(o, Delivered)
            )
        )

    def _attempt_rows(self, attempts: list[Crossing], slug: str) -> list[Row]:
        try:
            return self.gw.log.rows(*attempts)
        except Exception:
            # the attempts happened; failing to record them is loud but settles as it went
            log.exception("exchange_log_write_failed", connector=slug)
            return []

    async def _settle_delivered(self, items: list[OutboxItem], owner: str, rows: list[Row]) -> int:
        """Settle delivered items with the attempts' entries in one group commit; should that
        unit fail, the settlement alone (a delivered packet is not retried because its record
        could not be written), then the entries alone."""
        try:
            return await outbox.mark_delivered_many(self.gw.db, items, owner, rows=rows)
        except Exception:
            if not rows:
                raise
        settled = await outbox.mark_delivered_many(self.gw.db, items, owner)
        await self._record(rows, items[0].connector)
        return settled

    async def _record(self, rows: list[Row], slug: str) -> None:
        """Write the attempts' entries (their own commit); a failure is loud, not raised."""
        try:
            await self.gw.db.grouped(None, rows=rows)
        except Exception:
            log.exception("exchange_log_write_failed", connector=slug)

    async def _settle(self, item: OutboxItem, owner: str, outcome: BaseException) -> None:
        """Settle an item whose delivery failed: retry later, or dead-letter."""
        db = self.gw.db
        slug = item.connector
        if isinstance(outcome, PlatformInMaintenance):
            at = utcnow() + timedelta(seconds=outcome.retry_after or 1.0)
            await self._hold(item, owner, at, f"{slug} in maintenance")
        elif isinstance(outcome, TransientUpstreamError):
            await self._retry_or_bury(item, owner, str(outcome), outcome.retry_after)
        elif isinstance(outcome, GatewayError):
            # the platform answered and refused: the packet is the problem, not the platform
            reason = f"{type(outcome).__name__}: {outcome}"
            await outbox.mark_dead(db, item, owner, reason=reason)
            DELIVERIES.labels(slug, "dead").inc()
            log.warning("delivery_dead", exchange_id=item.exchange_id, reason=str(outcome))
        else:
            error = f"internal error: {type(outcome).__name__}"
            await self._retry_or_bury(item, owner, error, None)

    async def _hold(self, item: OutboxItem, owner: str, until: datetime, why: str) -> None:
        """Give a taken item back untried, due at ``until`` (its attempt not counted)."""
        db = self.gw.db
        await outbox.mark_retry(db, item, owner, at=until, error=f"held: {why}", count=False)
        DELIVERIES.labels(item.connector, "held").inc()

    async def _retry_or_bury(
        self, item: OutboxItem, owner: str, error: str, retry_after: float | None
    ) -> None:
        slug = item.connector
        age = (utcnow() - item.created_at).total_seconds()
        horizon = getattr(self.gw.configs.get(slug), "retry_horizon_seconds", None)
        if self.gw.retry.exhausted(item.attempts, age_seconds=age, horizon_seconds=horizon):
            reason = (
                f"gave up after {item.attempts} attempts over {_span(age)}; last error: {error}"
            )
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
        """Seal what is waiting: rounds until one takes less than a full batch (that round
        saw every unsealed row; what commits later is the next interval's)."""
        total = 0
        while n := await seal_pending(
            self.gw.db,
            self.gw.signer,
            authenticator=self.gw.cipher.entries,
            memory=self.gw.state,
            witness=self.gw.settings.audit.witness_dir,
        ):
            SEALED.inc(n)
            total += n
            if n < SEAL_BATCH:
                break
        return total

    # --- loops ----------------------------------------------------------------------------

    async def _worker(self, index: int) -> None:
        d = self.gw.settings.delivery
        failing = FailingLoop("delivery_round", base=d.poll_interval_seconds)
        while not self._stop.is_set():
            wait = d.poll_interval_seconds
            try:
                leased = await self.run_once(index)
                failing.succeeded(worker=index)
            except Exception as exc:  # the database or Redis down: back off, say it once
                wait = failing.failed(exc, worker=index)
                leased = 0
            if leased >= d.batch_size:
                self.gw.wakeup.set()  # more may be due: the idle workers join in at once
            if leased == 0:
                if index:
                    # an idle outbox is polled by worker 0; the others wake when it finds a
                    # full batch (or an accept in this process), or now and then alone
                    wait *= IDLE_POLL_FACTOR
                self.gw.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.gw.wakeup.wait(), wait)

    async def anchor_once(self, *, force: bool = False) -> int | None:
        """Timestamp the newest checkpoint (when an authority is configured), at most once per
        anchor interval across the processes (a lease), or now with ``force``."""
        anchorer = self.gw.anchorer
        if anchorer is None:
            return None
        interval = self.gw.settings.audit.anchor_interval_seconds
        if not force and not await self.gw.state.set_if_absent(
            "audit:anchor-round", self.owner.encode(), ttl=max(interval * 0.9, 0.05)
        ):
            return None
        return await anchorer.anchor_once()

    async def _sealer(self) -> None:
        interval = self.gw.settings.delivery.seal_interval_seconds
        failing = FailingLoop("seal", base=interval)
        while not self._stop.is_set():
            wait = interval
            try:
                await self.seal_once()
                await self.anchor_once()
                failing.succeeded()
            except Exception as exc:
                wait = failing.failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)

    def periodic_jobs(self) -> list[tuple[str, PeriodicJob]]:
        """The core's periodic jobs and every connector's, as ``(slug, job)``."""
        gw = self.gw

        async def announce() -> int:
            announced = await announce_due(gw.db, gw.cipher, now=gw.maintenance.now())
            if announced:
                gw.wakeup.set()
            return announced

        jobs: list[tuple[str, PeriodicJob]] = [
            ("core", PeriodicJob("maintenance-announcements", ANNOUNCE_SECONDS, announce))
        ]
        for slug, connector in self.gw.connectors.items():
            if isinstance(connector, PeriodicWork):
                jobs.extend((slug, job) for job in connector.periodic_jobs(self.gw))
        return jobs

    async def run_job_once(self, slug: str, job: PeriodicJob) -> int | None:
        """One round of ``job``, unless another process holds this round's lease (``None``).

        The lease lasts most of an interval, so with several worker processes the job runs
        about once per interval in all, not once per process."""
        lease = f"periodic:{slug}:{job.name}"
        if not await self.gw.state.set_if_absent(
            lease, self.owner.encode(), ttl=max(job.interval_seconds * 0.9, 0.05)
        ):
            return None
        return await job.run()

    async def _periodic(self, slug: str, job: PeriodicJob) -> None:
        while not self._stop.is_set():
            try:
                handled = await self.run_job_once(slug, job)
                if handled:
                    log.info("periodic_job_round", connector=slug, job=job.name, handled=handled)
            except GatewayError as exc:
                # the platform failing is expected from time to time: no traceback, the
                # problem type and detail (already free of secrets) say enough; next round
                log.warning(
                    "periodic_job_failed",
                    connector=slug,
                    job=job.name,
                    problem=exc.type_slug,
                    detail=exc.detail[:300],
                    exchange_id=exc.exchange_id,
                )
            except Exception:
                log.exception("periodic_job_failed", connector=slug, job=job.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), job.interval_seconds)

    def start(self, *, workers: int | None = None, sealer: bool = True) -> None:
        count = self.gw.settings.delivery.workers if workers is None else workers
        self._stop.clear()
        self._workers = [asyncio.create_task(self._worker(i)) for i in range(count)]
        self._tasks = []
        if sealer:
            self._tasks.append(asyncio.create_task(self._sealer()))
        if count:
            # the pollers run where the workers run (``lgsp serve`` or ``lgsp worker``)
            for slug, job in self.periodic_jobs():
                self._tasks.append(asyncio.create_task(self._periodic(slug, job)))

    async def stop(self, *, grace_seconds: float | None = None) -> None:
        """Stop cleanly (SIGTERM): take nothing more, let the deliveries in progress finish
        within ``grace_seconds`` (``LGSP_DELIVERY__STOP_GRACE_SECONDS``), give back untried
        what is still held after it (no lease left to run out, nothing sent twice because
        of the stop), then seal and anchor what is left of the log."""
        grace = self.gw.settings.delivery.stop_grace_seconds
        grace = grace if grace_seconds is None else grace_seconds
        self._stop.set()
        self.gw.wakeup.set()
        for task in self._tasks:  # the sealer and the pollers: their rounds are idempotent
            task.cancel()
        if self._workers:
            _done, late = await asyncio.wait(self._workers, timeout=grace)
            for task in late:
                task.cancel()
            for task in self._workers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if late:
                log.warning("delivery_stop_grace_exceeded", cancelled=len(late), grace=grace)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks, self._workers = [], []
        with contextlib.suppress(Exception):
            released = await outbox.release(self.gw.db, f"{self.owner}/")
            if released:
                log.info("delivery_released", items=released)
        with contextlib.suppress(Exception):
            await self.seal_once()
            # the last checkpoint anchored too, so the log does not end unanchored
            await self.anchor_once(force=True)


def _span(seconds: float) -> str:
    """``3 d 2 h``, ``14 min``, ``9 s``: how long an item was tried, for its dead letter."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {rest // 60} min"
    if rest >= 60:
        return f"{rest // 60} min"
    return f"{rest} s"
