"""The national procedure catalogue, cached: is a ``ma_tthc`` one DVCQG knows?

The catalogue changes rarely (new procedures are published by decision), so it is loaded with
``LayDanhSachTTHC`` and kept for ``catalogue_ttl_seconds``. Accepting a write never waits on the
portal (issue 15): :meth:`ProcedureCatalogue.ensure_known` answers from the cache at once, and a
refresh it needs runs in the background, one at a time (single-flight), at most one a minute
(a client that keeps sending a wrong code must not turn into a flood of catalogue downloads),
and bounded by ``catalogue_refresh_timeout_seconds`` (a hanging portal ends it as a failure).

The rule, for a code:

* in the cache: known, whatever the cache's age (a stale cache also starts a refresh);
* not in a cache refreshed within the last minute, with no refresh running: unknown, 422
  naming ``ma_tthc``;
* not in the cache, while the cache may be out of date (a refresh is running, or the last one
  failed): the code may be a procedure published since. ``unknown_procedure`` decides, at once:
  ``retry`` (default) answers 503 ``Retry-After`` (nothing is stored; the case system sends it
  again and is answered from the refreshed catalogue), ``refuse`` answers 422;
* no catalogue ever loaded (the portal was down since start-up): 503, a load started.

When the portal cannot be reached, a catalogue loaded earlier keeps being used (stale but still
correct for all but the newest procedures).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar, Literal

import structlog

from connectors.dvcqg.client import DvcqgClient
from connectors.dvcqg.mapping import thu_tuc_from_wire
from connectors.dvcqg.models import ThuTuc
from gateway.core.errors import FieldError, InvalidInput, TransientUpstreamError, UpstreamError

__all__ = ["ProcedureCatalogue", "UnknownProcedureRule"]

log = structlog.get_logger(__name__)

#: what an unknown code is while the catalogue may be out of date (see the module docstring)
UnknownProcedureRule = Literal["retry", "refuse"]


class ProcedureCatalogue:
    """``ma_tthc`` -> :class:`ThuTuc`, loaded from DVCQG and refreshed in the background.

    ``clock`` is monotonic seconds (injectable for tests); ``refresh_timeout_seconds`` bounds a
    refresh in real time.
    """

    #: a refresh triggered by a look-up happens at most this often
    MIN_REFRESH_INTERVAL_SECONDS: ClassVar[float] = 60.0

    def __init__(
        self,
        client: DvcqgClient,
        *,
        ttl_seconds: float,
        refresh_timeout_seconds: float = 10.0,
        unknown_procedure: UnknownProcedureRule = "retry",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._timeout = refresh_timeout_seconds
        self._rule: UnknownProcedureRule = unknown_procedure
        self._clock = clock
        self._entries: dict[str, ThuTuc] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._failed = False  # the last refresh failed (the cache may be out of date)
        self._task: asyncio.Task[None] | None = None
        self.refreshes_started = 0

    @property
    def entries(self) -> Mapping[str, ThuTuc]:
        """The cached catalogue (read-only view)."""
        return MappingProxyType(self._entries)

    @property
    def loaded(self) -> bool:
        """Whether the catalogue has been loaded at least once."""
        return self._loaded_at is not None

    @property
    def refreshing(self) -> bool:
        """Whether a refresh is running now."""
        return self._task is not None and not self._task.done()

    async def refresh(self) -> None:
        """Reload the catalogue now (joining a refresh already running) and wait for it.
        Raises the client's :class:`UpstreamError` on failure (a timeout is a
        :class:`TransientUpstreamError`), leaving the previous catalogue in place."""
        task = self._task if self.refreshing else self._start()
        assert task is not None
        await asyncio.shield(task)
        if self._failed:
            raise TransientUpstreamError(
                "procedure catalogue unavailable: the portal did not answer LayDanhSachTTHC",
                retry_after=self.MIN_REFRESH_INTERVAL_SECONDS,
            )

    async def settled(self) -> None:
        """Wait for the refresh running now, if any (tests, shutdown)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def aclose(self) -> None:
        """Cancel a refresh still running."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def ensure_known(self, ma_tthc: str) -> ThuTuc:
        """The catalogue entry of ``ma_tthc``, answered at once from the cache (see the module
        docstring for the rule). A code with a local agency suffix
        (``2.000477.000.00.00.H56``) is known when its national code (``2.000477``) is.

        :raises InvalidInput: (field ``ma_tthc``) the national catalogue does not list it
        :raises TransientUpstreamError: the catalogue is not loaded, or (rule ``retry``) it may
            be out of date for this code while a refresh runs or the portal is down
        """
        now = self._clock()
        entry = self._find(ma_tthc)
        if entry is not None:
            if now - (self._loaded_at or now) > self._ttl:
                self._start_if_due(now)
            return entry
        if self._loaded_at is None:
            self._start_if_due(now)
            raise TransientUpstreamError(
                "procedure catalogue unavailable: not loaded from the portal yet",
                retry_after=self._retry_after(now),
            )
        recent = self._attempted_at is not None and (
            now - self._attempted_at < self.MIN_REFRESH_INTERVAL_SECONDS
        )
        if not (recent and not self.refreshing and not self._failed):
            self._start_if_due(now)
        out_of_date = self.refreshing or self._failed
        if out_of_date and self._rule == "retry":
            raise TransientUpstreamError(
                f"unknown procedure code {ma_tthc!r} while the catalogue is being refreshed "
                "from the portal: send it again",
                retry_after=self._retry_after(now),
            )
        raise InvalidInput(
            f"unknown procedure code {ma_tthc!r}",
            errors=[
                FieldError(
                    "ma_tthc",
                    f"unknown procedure code {ma_tthc!r}: not in the national catalogue",
                )
            ],
        )

    # --- internals -----------------------------------------------------------------------------

    def _find(self, ma_tthc: str) -> ThuTuc | None:
        entry = self._entries.get(ma_tthc)
        if entry is None and ma_tthc.count(".") > 1:
            # a local instance carries the national code plus the agency suffix
            national = ".".join(ma_tthc.split(".")[:2])
            entry = self._entries.get(national)
        return entry

    def _retry_after(self, now: float) -> float:
        if self.refreshing:
            return max(min(self._timeout, self.MIN_REFRESH_INTERVAL_SECONDS), 1.0)
        waited = now - (self._attempted_at or now)
        return max(self.MIN_REFRESH_INTERVAL_SECONDS - waited, 1.0)

    def _start_if_due(self, now: float) -> None:
        if self.refreshing:
            return
        if (
            self._attempted_at is not None
            and now - self._attempted_at < self.MIN_REFRESH_INTERVAL_SECONDS
        ):
            return
        self._start()

    def _start(self) -> asyncio.Task[None]:
        self._attempted_at = self._clock()
        self.refreshes_started += 1
        task = asyncio.get_running_loop().create_task(self._refresh(), name="dvcqg-catalogue")
        self._task = task
        return task

    async def _refresh(self) -> None:
        """One refresh, its failures logged (never raised: nobody awaits a background task but
        :meth:`refresh`, which reads ``_failed``)."""
        try:
            lines = await asyncio.wait_for(self._client.lay_danh_sach_tthc(), self._timeout)
            entries = {}
            for line in lines:
                entry = thu_tuc_from_wire(line)
                entries[entry.ma_tthc] = entry
        except (UpstreamError, TimeoutError) as exc:
            self._failed = True
            reason = exc.detail if isinstance(exc, UpstreamError) else "timed out"
            log.warning(
                "dvcqg.catalogue_refresh_failed", reason=reason, loaded=self._loaded_at is not None
            )
            return
        except Exception:
            self._failed = True
            log.exception("dvcqg.catalogue_refresh_crashed")
            return
        self._entries = entries
        self._loaded_at = self._clock()
        self._failed = False
        log.info("dvcqg.catalogue_loaded", procedures=len(entries))
