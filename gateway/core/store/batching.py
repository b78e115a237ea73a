"""Group commit: many small writes share one transaction and one disk flush.

A durable commit costs a flush to disk (fsync) on SQLite and PostgreSQL alike; one per accepted
request caps the gateway at a few hundred requests a second whatever the CPU. The committer
runs submitted units of work together in one transaction and answers each caller only once
that transaction has committed, so durability is unchanged: nobody is told "accepted" before
their row is on disk. While one batch commits, the next one gathers, so under load batches
grow by themselves and an idle gateway adds no delay.

A unit may also carry plain rows to insert (``rows``: table and column values): the rows of
every unit of a batch are written as one multi-row insert per table (SQLAlchemy Core, its
compiled statement cached), in the order the units were submitted, before any unit's ``work``
runs. That is much cheaper than ORM objects through the session's unit of work.

If a batch fails, each unit is retried alone, so one bad unit cannot fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger("gateway.batching")
T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[Any]]
#: opens one transaction (the database's ``transaction``): committed on success
Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]
#: a row to insert: its table and its column values
Row = tuple[Table, dict[str, Any]]


@dataclass(slots=True)
class _Unit:
    work: Work | None
    rows: Sequence[Row]
    done: asyncio.Future[Any]


async def _apply(session: AsyncSession, batch: Sequence[_Unit]) -> list[Any]:
    """The batch's rows (one insert per table, in submission order), then each unit's work."""
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for unit in batch:
        for table, values in unit.rows:
            by_table.setdefault(table, []).append(values)
    for table, rows in by_table.items():
        await session.execute(insert(table), rows)
    return [None if unit.work is None else await unit.work(session) for unit in batch]


class GroupCommitter:
    def __init__(self, transaction: Transaction, *, max_batch: int = 256) -> None:
        self._transaction = transaction
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Unit] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(
        self, work: Callable[[AsyncSession], Awaitable[T]] | None, rows: Sequence[Row] = ()
    ) -> T:
        """Insert ``rows`` and run ``work`` in a shared transaction; return the work's result
        (None without work) once committed."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._writer(self._queue))
        assert self._queue is not None
        done: asyncio.Future[Any] = loop.create_future()
        self._queue.put_nowait(_Unit(work, rows, done))
        result: T = await done
        return result

    async def _writer(self, queue: asyncio.Queue[_Unit]) -> None:
        batch: list[_Unit] = []
        try:
            while True:
                batch = [await queue.get()]
                while len(batch) < self._max_batch:
                    try:
                        batch.append(queue.get_nowait())
                    except asyncio.QueueEmpty:
                        break
                await self._commit(batch)
                batch = []
        finally:
            # stopped (shutdown): nobody may wait forever for an answer that will not come;
            # what was not committed is reported as not accepted
            while not queue.empty():
                batch.append(queue.get_nowait())
            for unit in batch:
                if not unit.done.done():
                    unit.done.set_exception(RuntimeError("the gateway is shutting down"))

    async def _commit(self, batch: list[_Unit]) -> None:
        try:
            async with self._transaction() as session:
                results = await _apply(session, batch)
        except Exception:
            if len(batch) == 1:
                exc_unit = batch[0]
                await self._run_alone(exc_unit)
                return
            log.warning("group_commit_failed_retrying_alone", size=len(batch))
            for unit in batch:
                await self._run_alone(unit)
            return
        for unit, result in zip(batch, results, strict=True):
            if not unit.done.done():
                unit.done.set_result(result)

    async def _run_alone(self, unit: _Unit) -> None:
        try:
            async with self._transaction() as session:
                [result] = await _apply(session, [unit])
        except Exception as exc:
            if not unit.done.done():
                unit.done.set_exception(exc)
            return
        if not unit.done.done():
            unit.done.set_result(result)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._task
            self._task = None
