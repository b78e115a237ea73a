"""Progress on long jobs, for people: a ``click.progressbar`` on standard error, shown only
when standard error is a terminal (scripts, pipes and tests see no progress noise; standard
output is never touched)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

__all__ = ["page_progress", "stderr_is_terminal"]


def stderr_is_terminal() -> bool:
    return bool(sys.stderr is not None and sys.stderr.isatty())


@contextlib.contextmanager
def page_progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """An ``on_page(done, total)`` hook drawing a bar on a terminal's standard error, or
    None when standard error is not a terminal (the job then runs exactly as without it)."""
    if not stderr_is_terminal():
        yield None
        return
    bar: Any = None
    shown = 0

    def on_page(done: int, total: int) -> None:
        nonlocal bar, shown
        if bar is None:
            bar = click.progressbar(length=max(total, done, 1), label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - shown)
        shown = done

    try:
        yield on_page
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
