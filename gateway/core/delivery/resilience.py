"""Retry policy and circuit breaker, shared by every connector.

The retry policy is a value object: the outbox persists the attempt count and asks the policy
when to try again, so a retry schedule survives restarts (an in-process retry loop such as
tenacity's cannot; tenacity is used for the bounded in-call retries of idempotent look-ups).

The circuit breaker keeps its state in the state store so every worker and replica sees the
same circuit: closed -> (N consecutive failures) -> open -> (reset time passes) -> half-open,
where exactly one caller may probe -> closed on success, open again on failure.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base

from gateway.core.errors import TransientUpstreamError
from gateway.core.store.state import StateStore

T = TypeVar("T")

MAX_RETRY_AFTER_SECONDS = 3600.0


async def retry_transient(call: Callable[[], Awaitable[T]], *, attempts: int, wait: wait_base) -> T:
    """``call`` again while it fails transiently (:class:`TransientUpstreamError`), up to
    ``attempts`` in all, waiting ``wait`` between: the in-call retries of idempotent calls
    (look-ups, re-sendable packets). The last failure is raised as it was."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait,
        retry=retry_if_exception_type(TransientUpstreamError),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover


#: how long a transient failure is retried by default: a weekend outage of a national platform,
#: with room to spare (issue 18); only then is the item dead-lettered
DEFAULT_RETRY_HORIZON_SECONDS = 72 * 3600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a failed delivery again, and when to stop.

    Retried by age, not by count: a transient failure is tried again, with capped backoff,
    until the item is older than the horizon (the connector's own, else ``horizon_seconds``);
    ``max_attempts``, when set, is an extra ceiling. Worked example with the defaults (0.5 s
    base, 300 s cap, 72 h): a dossier accepted at 08:00 on Friday while its platform answers 503 is
    tried at about 0.5, 1, 2, 4 ... s, then every 150-300 s (fewer while the circuit breaker is
    open: held items are not attempted, one probe goes through per reset period); the platform
    coming back at 07:00 on Monday, the next try delivers it. Still failing at 08:00 on
    Monday, it is dead-lettered with its last error, for an operator to replay.
    """

    max_attempts: int | None = None
    base_seconds: float = 0.5
    max_seconds: float = 300.0
    horizon_seconds: float = DEFAULT_RETRY_HORIZON_SECONDS

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        Exponential with "equal jitter" (half fixed, half random, so waits still grow), never
        shorter than the platform's Retry-After.
        """
        # the exponent is capped: 2 ** 1024 no longer converts to a float (OverflowError),
        # and attempts have no upper bound; 2.0 ** 1000 times any base is >= max_seconds
        exponent = min(max(0, attempt - 1), 1000)
        ceiling = min(self.max_seconds, self.base_seconds * 2.0**exponent)
        wait: float = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter
        if retry_after is not None:
            # the platform's own word wins over our cap, up to an hour
            wait = max(wait, min(float(retry_after), MAX_RETRY_AFTER_SECONDS))
        return wait

    def exhausted(
        self, attempts: int, *, age_seconds: float = 0.0, horizon_seconds: float | None = None
    ) -> bool:
        """Whether to stop: the item is older than its horizon, or (when a ceiling is set)
        has used its attempts."""
        horizon = self.horizon_seconds if horizon_seconds is None else horizon_seconds
        if age_seconds >= horizon:
            return True
        return self.max_attempts is not None and attempts >= self.max_attempts


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        store: StateStore,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        #: epoch seconds now (tests give a clock they advance themselves)
        self.clock = clock
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._k_failures = f"cb:{name}:failures"
        self._k_open_until = f"cb:{name}:open_until"
        self._k_probe = f"cb:{name}:probe"

    async def state(self) -> CircuitState:
        raw = await self._store.get(self._k_open_until)
        if raw is None:
            return CircuitState.CLOSED
        return CircuitState.OPEN if float(raw) > self.clock() else CircuitState.HALF_OPEN

    async def retry_at(self) -> float | None:
        """Epoch seconds when an open circuit lets a probe through, else None."""
        raw = await self._store.get(self._k_open_until)
        return float(raw) if raw is not None else None

    async def allow(self) -> bool:
        """May a call go out now? In half-open, True for exactly one caller (the probe)."""
        state = await self.state()
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN:
            return False
        return await self._store.set_if_absent(self._k_probe, b"1", ttl=self.reset_seconds)

    async def record_success(self) -> None:
        if await self._store.get(self._k_open_until) is not None:
            await self._store.delete(self._k_open_until)
            await self._store.delete(self._k_probe)
        await self._store.delete(self._k_failures)

    async def record_failure(self) -> CircuitState:
        state = await self.state()
        if state is CircuitState.HALF_OPEN:
            await self._open()
            await self._store.delete(self._k_probe)
            return CircuitState.OPEN
        if state is CircuitState.OPEN:
            return state
        failures = await self._store.incr(self._k_failures, ttl=max(60.0, self.reset_seconds * 6))
        if failures >= self.failure_threshold:
            await self._open()
            return CircuitState.OPEN
        return CircuitState.CLOSED

    async def _open(self) -> None:
        await self._store.set(self._k_open_until, str(self.clock() + self.reset_seconds).encode())
        await self._store.delete(self._k_failures)
