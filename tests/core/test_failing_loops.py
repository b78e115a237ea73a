"""A background loop that keeps failing backs off and summarises (issue 19): one traceback,
then a line a minute, then one line when it recovers; never a line per round."""

from __future__ import annotations

from typing import Any

from gateway.core.delivery.failing import FailingLoop


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def error(self, event: str, **fields: Any) -> None:
        self.lines.append(("error", event, fields))

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append(("info", event, fields))


def test_a_failing_loop_backs_off_and_says_so_once_a_minute() -> None:
    now = [0.0]
    logger = Recorder()
    loop = FailingLoop("delivery_round", base=0.2, ceiling=30.0, clock=lambda: now[0])
    loop.logger = logger  # type: ignore[assignment]
    waits = []
    for _ in range(600):  # ten minutes of a Redis that does not answer, a round a second
        waits.append(loop.failed(ConnectionError("Redis is down"), worker=0))
        now[0] += 1.0
    assert waits[:5] == [0.2, 0.4, 0.8, 1.6, 3.2]
    assert max(waits) == 30.0
    events = [event for _, event, _ in logger.lines]
    assert events[0] == "delivery_round_failed"
    assert "exc_info" in logger.lines[0][2]  # the traceback, once
    summaries = [fields for _, event, fields in logger.lines if event == "delivery_round_failing"]
    assert len(summaries) == 9  # one a minute, not 600 lines
    assert summaries[-1]["failures"] == 541
    assert summaries[-1]["last_error"] == "ConnectionError: Redis is down"
    loop.succeeded(worker=0)
    assert logger.lines[-1][:2] == ("info", "delivery_round_recovered")
    assert logger.lines[-1][2]["failures"] == 600
    assert loop.failed(ConnectionError("again")) == 0.2  # a new run starts from the base
