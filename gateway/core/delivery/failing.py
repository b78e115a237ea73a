"""A background loop that keeps failing (the database or Redis down) backs off and says so
once in a while, instead of writing a traceback every round (issue 19: logs that do not flood).

The first failure of a run is logged with its traceback; the next ones are counted, and one
summary line (how many since when, the last error) is written every ``summary_seconds``; the
first success after failures says the loop recovered. The wait before the next round doubles
from ``base`` up to ``ceiling``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

__all__ = ["FailingLoop"]


@dataclass
class FailingLoop:
    name: str
    base: float = 0.2
    ceiling: float = 30.0
    summary_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    logger: structlog.typing.FilteringBoundLogger = field(
        default_factory=lambda: structlog.get_logger("gateway.delivery")
    )
    failures: int = 0
    _since: float = 0.0
    _said: float = 0.0

    def failed(self, exc: BaseException, **context: object) -> float:
        """Note a failure; returns how long to wait before the next round."""
        now = self.clock()
        self.failures += 1
        if self.failures == 1:
            self._since = self._said = now
            self.logger.error(f"{self.name}_failed", exc_info=exc, **context)
        elif now - self._said >= self.summary_seconds:
            self._said = now
            self.logger.error(
                f"{self.name}_failing",
                failures=self.failures,
                for_seconds=round(now - self._since, 1),
                last_error=f"{type(exc).__name__}: {str(exc)[:200]}",
                **context,
            )
        wait: float = min(self.ceiling, self.base * 2.0 ** min(self.failures - 1, 30))
        return wait

    def succeeded(self, **context: object) -> None:
        if self.failures:
            self.logger.info(
                f"{self.name}_recovered",
                failures=self.failures,
                after_seconds=round(self.clock() - self._since, 1),
                **context,
            )
        self.failures = 0
