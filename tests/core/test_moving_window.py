"""The in-process moving window behind the per-client rate limit (no real time: a fake clock)."""

from __future__ import annotations

import pytest

from gateway.core.errors import RateLimited
from gateway.core.web.deps import ClientRateLimiter, MovingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_at_most_limit_hits_in_any_window() -> None:
    clock = Clock()
    window = MovingWindow(3, 60, clock)
    assert [window.hit("a") for _ in range(4)] == [True, True, True, False]
    assert window.hit("b")  # per key
    clock.now += 30
    assert not window.hit("a")
    assert window.retry_after("a") == pytest.approx(30)
    clock.now += 30  # the first three leave the window together
    assert [window.hit("a") for _ in range(4)] == [True, True, True, False]


def test_the_window_moves_hit_by_hit() -> None:
    clock = Clock()
    window = MovingWindow(2, 10, clock)
    assert window.hit("a")
    clock.now += 6
    assert window.hit("a")
    assert not window.hit("a")  # refused hits are not counted
    clock.now += 4  # the first hit leaves; the second stays 6 s more
    assert window.hit("a")
    assert not window.hit("a")
    assert window.retry_after("a") == pytest.approx(6)


def test_idle_keys_are_forgotten() -> None:
    clock = Clock()
    window = MovingWindow(1, 1, clock)
    for n in range(10_001):
        window.hit(f"k{n}")
    clock.now += 2
    window.hit("last")
    assert len(window._hits) == 1


async def test_the_limiter_answers_429_with_retry_after() -> None:
    limiter = ClientRateLimiter("2/minute", None)
    await limiter.check("c")
    await limiter.check("c")
    with pytest.raises(RateLimited) as refused:
        await limiter.check("c")
    assert 1.0 <= refused.value.retry_after <= 60
