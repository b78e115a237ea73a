"""The national procedure catalogue, cached: is a ``ma_tthc`` one DVCQG knows?

The catalogue changes rarely (new procedures are published by decision), so it is loaded with
``LayDanhSachTTHC`` and kept for ``catalogue_ttl_seconds``. A code that is missing, or a cache
that is too old, triggers a refresh before the answer, but at most one refresh a minute: a
client that keeps sending a wrong code must not turn into a flood of catalogue downloads.
When the portal cannot be reached, a catalogue loaded earlier keeps being used (stale but
still correct for all but the newest procedures); one never loaded is an outage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar

import structlog

from connectors.dvcqg.client import DvcqgClient
from connectors.dvcqg.mapping import thu_tuc_from_wire
from connectors.dvcqg.models import ThuTuc
from gateway.core.errors import FieldError, InvalidInput, TransientUpstreamError, UpstreamError

__all__ = ["ProcedureCatalogue"]

log = structlog.get_logger(__name__)


class ProcedureCatalogue:
    """``ma_tthc`` -> :class:`ThuTuc`, loaded from DVCQG and refreshed on demand.

    ``clock`` is monotonic seconds (injectable for tests).
    """

    #: a refresh triggered by a look-up happens at most this often
    MIN_REFRESH_INTERVAL_SECONDS: ClassVar[float] = 60.0

    def __init__(
        self,
        client: DvcqgClient,
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, ThuTuc] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def entries(self) -> Mapping[str, ThuTuc]:
        """The cached catalogue (read-only view)."""
        return MappingProxyType(self._entries)

    @property
    def loaded(self) -> bool:
        """Whether the catalogue has been loaded at least once."""
        return self._loaded_at is not None

    async def refresh(self) -> None:
        """Reload the catalogue now. Raises the client's :class:`UpstreamError` on failure,
        leaving the previous catalogue in place."""
        async with self._lock:
            await self._refresh_locked()

    async def ensure_known(self, ma_tthc: str) -> ThuTuc:
        """The catalogue entry of ``ma_tthc``.

        Raises :class:`InvalidInput` (field ``ma_tthc``) when the national catalogue does not
        list it, and :class:`TransientUpstreamError` when the catalogue has never loaded and
        cannot be loaded now. A code with a local agency suffix
        (``2.000477.000.00.00.H56``) is known when its national code (``2.000477``) is.
        """
        async with self._lock:
            now = self._clock()
            stale = self._loaded_at is None or now - self._loaded_at > self._ttl
            if (stale or self._find(ma_tthc) is None) and self._may_refresh(now):
                try:
                    await self._refresh_locked()
                except UpstreamError as exc:
                    if self._loaded_at is None:
                        raise TransientUpstreamError(
                            "procedure catalogue unavailable",
                            code=exc.code,
                            retry_after=self.MIN_REFRESH_INTERVAL_SECONDS,
                        ) from exc
                    log.warning("dvcqg.catalogue_stale", reason=exc.detail)
            if self._loaded_at is None:
                waited = now - (self._attempted_at or now)
                raise TransientUpstreamError(
                    "procedure catalogue unavailable",
                    retry_after=max(self.MIN_REFRESH_INTERVAL_SECONDS - waited, 1.0),
                )
            entry = self._find(ma_tthc)
        if entry is None:
            raise InvalidInput(
                f"unknown procedure code {ma_tthc!r}",
                errors=[
                    FieldError(
                        "ma_tthc",
                        f"unknown procedure code {ma_tthc!r}: not in the national catalogue",
                    )
                ],
            )
        return entry

    def _find(self, ma_tthc: str) -> ThuTuc | None:
        entry = self._entries.get(ma_tthc)
        if entry is None and ma_tthc.count(".") > 1:
            # a local instance carries the national code plus the agency suffix
            national = ".".join(ma_tthc.split(".")[:2])
            entry = self._entries.get(national)
        return entry

    def _may_refresh(self, now: float) -> bool:
        return (
            self._attempted_at is None
            or now - self._attempted_at >= self.MIN_REFRESH_INTERVAL_SECONDS
        )

    async def _refresh_locked(self) -> None:
        self._attempted_at = self._clock()
        lines = await self._client.lay_danh_sach_tthc()
        entries = {}
        for line in lines:
            entry = thu_tuc_from_wire(line)
            entries[entry.ma_tthc] = entry
        self._entries = entries
        self._loaded_at = self._clock()
        log.info("dvcqg.catalogue_loaded", procedures=len(entries))
