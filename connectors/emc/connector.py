"""The EMC connector: the core's contract (check, deliver) and its periodic jobs.

Operations delivered through the outbox (at-least-once, so each is safe to repeat):

* ``track_dossier``: payload :class:`~connectors.emc.mapping.SuKienHoSo` as JSON (its level
  resolved when queued); sent as one ``TrackingMCDT`` (profile ``emc-tracking``). EMC keeps
  events, so a repeat is one more identical event of the same dossier and status; the
  simulator counts it as a duplicate.
* ``submit_monthly_report`` (our profile): payload :class:`~connectors.emc.report.
  MonthlyReport` as JSON; sent as one :class:`~schemas.emc.MonthlyAggregate`, which replaces
  the month's previous one at the endpoint.

A payload that no longer validates cannot succeed on any retry: it is refused as a
:class:`PermanentUpstreamError` (dead letter) naming the fields. With no ``site_id``
configured, tracking is off (PASETO's switch): deliveries are refused as
:class:`~connectors.emc.errors.EmcNotConfigured` and the scan does not run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from connectors.emc.client import EmcClient
from connectors.emc.config import EmcConfig
from connectors.emc.errors import ERROR_TABLE, EmcNotConfigured
from connectors.emc.mapping import SuKienHoSo, masked_id, to_wire
from connectors.emc.report import MonthlyReport, to_aggregate
from gateway.core.connector import CheckResult, Delivered, ErrorRule, PeriodicJob
from gateway.core.errors import GatewayError, InvalidInput, PermanentUpstreamError
from gateway.core.validation import field_errors, validate_model
from schemas import emc as wire

__all__ = ["EmcConnector"]


class EmcConnector:
    """Adapter of EMC for one province (``SiteId``)."""

    slug: ClassVar[str] = "emc"
    operations: ClassVar[frozenset[str]] = frozenset({"track_dossier", "submit_monthly_report"})
    error_table: ClassVar[Mapping[str, ErrorRule]] = ERROR_TABLE

    def __init__(self, config: EmcConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.client = EmcClient(config, http)

    async def check(self) -> CheckResult:
        """Reach the tracking endpoint (no event is sent: EMC has no public health call)."""
        started = time.perf_counter()
        try:
            status = await self.client.probe()
        except GatewayError as exc:
            return CheckResult(
                False, f"{type(exc).__name__}: {exc.detail}", (time.perf_counter() - started) * 1000
            )
        latency = (time.perf_counter() - started) * 1000
        state = "on" if self.config.enabled else "off (no site_id)"
        return CheckResult(
            True, f"tracking endpoint answered HTTP {status}; tracking {state}", latency
        )

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        try:
            match operation:
                case "track_dossier":
                    return await self._track(payload)
                case "submit_monthly_report":
                    return await self._submit(payload)
                case _:
                    raise PermanentUpstreamError(
                        f"emc connector has no operation {operation!r}", code="unknown-operation"
                    )
        except InvalidInput as exc:
            raise PermanentUpstreamError(
                f"payload refused before sending: {exc.detail}",
                code="invalid-payload",
                errors=exc.errors,
            ) from exc

    async def aclose(self) -> None:
        """Nothing to close: the HTTP client is injected and owned by the core."""

    def periodic_jobs(self, gateway: Any) -> Sequence[PeriodicJob]:
        """The scan of delivered dossier syncs (when tracking is on) and the monthly
        submission (when ``report_day`` and ``aggregate_url`` are set)."""
        from connectors.emc import submission, tracking

        jobs: list[PeriodicJob] = []
        if self.config.enabled and self.config.track_dossier_syncs:

            async def scan() -> int:
                result = await tracking.scan_syncs(gateway, self.config)
                return result.queued

            jobs.append(PeriodicJob("emc_track_syncs", self.config.scan_interval_seconds, scan))
        if self.config.report_day is not None and self.config.aggregate_url is not None:

            async def monthly() -> int:
                return await submission.monthly_job(gateway, self.config)

            jobs.append(
                PeriodicJob("emc_monthly_report", self.config.report_check_seconds, monthly)
            )
        return jobs

    # --- packets -----------------------------------------------------------------------------

    def site_id(self) -> int:
        if self.config.site_id is None:
            raise EmcNotConfigured("EMC tracking is off: no site_id is configured")
        return self.config.site_id

    def tracking_packet(self, event: SuKienHoSo) -> wire.TrackingMCDT:
        """The packet of ``event``, or :class:`InvalidInput` naming the wire field."""
        try:
            return to_wire(
                event,
                site_id=self.site_id(),
                ma_tinh=self.config.ma_tinh,
                level=self.config.level_of(event.ma_tthc),
            )
        except ValidationError as exc:
            errors = field_errors(exc)
            raise InvalidInput(
                f"the TrackingMCDT packet failed validation: {errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None

    # --- deliveries --------------------------------------------------------------------------

    async def _track(self, payload: Mapping[str, Any]) -> Delivered:
        event = validate_model(SuKienHoSo, payload, what="track_dossier payload")
        packet = self.tracking_packet(event)
        status = await self.client.track(packet)
        return Delivered(
            detail=f"EMC event of {event.ma_ho_so}: Status {packet.Status} "
            f"(owner {masked_id(event.so_giay_to_chu_ho_so)}), HTTP {status}",
            upstream_ref=event.ma_ho_so,
            extra={"status": packet.Status, "http_status": status},
        )

    async def _submit(self, payload: Mapping[str, Any]) -> Delivered:
        report = validate_model(MonthlyReport, payload, what="submit_monthly_report payload")
        try:
            packet = to_aggregate(report, site_id=self.site_id())
        except ValidationError as exc:
            errors = field_errors(exc)
            raise InvalidInput(
                f"the aggregate packet failed validation: {errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None
        answer = await self.client.submit_aggregate(packet)
        return Delivered(
            detail=f"EMC monthly report {report.month} of {report.ma_don_vi}: {answer.status}",
            upstream_ref=answer.report_id,
            extra={"status": answer.status, "month": report.month},
        )
