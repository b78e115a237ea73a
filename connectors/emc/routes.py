"""EMC: dossier events and the monthly report.

* ``POST /v1/emc/events`` (scope ``emc:submit``, ``Idempotency-Key`` honoured): one dossier
  event (:class:`~connectors.emc.mapping.SuKienHoSo`) a case system sends explicitly; checked
  against the wire packet now (422 naming the field), queued as ``track_dossier`` (202 and the
  exchange id), and noted for the monthly report, in one transaction.
* ``POST /v1/emc/tracking/scan`` (scope ``emc:submit``): one round of the scan of delivered
  DVCQG dossier syncs now (the periodic job does the same on its own).
* ``GET /v1/emc/reports/{month}`` (scope ``emc:read``): the month's report, computed locally
  (:mod:`connectors.emc.report`), what ``lgsp report emc --json`` prints.
* ``POST /v1/emc/reports/{month}/submit`` (scope ``emc:submit``): the report computed now and
  queued as ``submit_monthly_report`` (our profile; 202 and the exchange id).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from connectors.emc import report as monthly
from connectors.emc import submission, tracking
from connectors.emc.connector import EmcConnector
from connectors.emc.errors import EmcNotConfigured
from connectors.emc.mapping import SuKienHoSo
from gateway.core.clients import Principal
from gateway.core.log.exchange_log import new_exchange_id
from gateway.core.runtime import Gateway
from gateway.core.store import idempotency
from gateway.core.web.deps import gateway_of, require_scope
from gateway.core.web.intake import ACCEPTED_ANSWER, reserve_key

router = APIRouter(prefix="/v1/emc", tags=["emc"])

SLUG = "emc"
Submitter = Annotated[Principal, Depends(require_scope("emc:submit"))]
Reader = Annotated[Principal, Depends(require_scope("emc:read"))]
Month = Annotated[
    str, Path(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2026-11"], description="YYYY-MM")
]

ACCEPTED: dict[int | str, dict[str, Any]] = {
    **ACCEPTED_ANSWER,
    422: {"description": "a field is invalid (problem+json naming each field)"},
    503: {"description": "EMC is not configured (no site_id, or no aggregate_url)"},
}


def emc_connector(gw: Gateway) -> EmcConnector:
    connector = gw.connector(SLUG)
    assert isinstance(connector, EmcConnector)
    return connector


def _accepted(exchange_id: str, operation: str) -> dict[str, Any]:
    return {
        "exchange_id": exchange_id,
        "status": "queued",
        "connector": SLUG,
        "operation": operation,
        "links": {"self": f"/v1/exchanges/{exchange_id}"},
    }


@router.post("/events", status_code=202, responses=ACCEPTED, operation_id="emc-track-dossier")
async def track_dossier(event: SuKienHoSo, request: Request, client: Submitter) -> JSONResponse:
    """Send EMC one dossier event (TrackingMCDT), delivered asynchronously, in order per
    dossier."""
    gw = gateway_of(request)
    connector = emc_connector(gw)
    connector.tracking_packet(event)  # refused now, naming the field, not at delivery
    key, replay = await reserve_key(request, gw, client)
    if replay is not None:
        return replay
    exchange_id = new_exchange_id()
    body = _accepted(exchange_id, tracking.TRACK)
    raw: bytes = getattr(request.state, "raw_body", b"")

    async def work(session: Any) -> None:
        await tracking.record_event(
            session,
            gw,
            connector.config,
            event,
            source="api",
            client=client.name,
            request_body=raw,
            exchange_id=exchange_id,
        )
        if key is not None:
            await idempotency.complete(
                session, gw.cipher, client=client.name, key=key, status=202, body=body
            )

    try:
        await gw.db.grouped(work)
    except BaseException:
        if key is not None:
            await idempotency.release(gw.db, client=client.name, key=key)
        raise
    gw.wakeup.set()
    return JSONResponse(body, status_code=202, headers={"Location": body["links"]["self"]})


@router.post(
    "/tracking/scan",
    operation_id="emc-scan-syncs",
    responses={503: {"description": "EMC tracking is off (no site_id)"}},
)
async def scan_syncs(request: Request, client: Submitter) -> tracking.ScanResult:
    """Turn the dossier syncs delivered to DVCQG since the last round into EMC events now."""
    gw = gateway_of(request)
    connector = emc_connector(gw)
    connector.site_id()  # 503 when tracking is off
    return await tracking.scan_syncs(gw, connector.config)


@router.get("/reports/{month}", operation_id="emc-monthly-report")
async def monthly_report(month: Month, request: Request, client: Reader) -> monthly.MonthlyReport:
    """The month's figures per procedure and level of service, computed locally (local
    time), as they would be submitted."""
    gw = gateway_of(request)
    connector = emc_connector(gw)
    return await monthly.compute(gw, month=month, ma_don_vi=connector.config.ma_don_vi)


@router.post(
    "/reports/{month}/submit",
    status_code=202,
    responses=ACCEPTED,
    operation_id="emc-submit-monthly-report",
)
async def submit_monthly_report(month: Month, request: Request, client: Submitter) -> JSONResponse:
    """Compute the month's report now and queue it for the aggregate endpoint (our profile);
    a second submission of the same month replaces the first there."""
    gw = gateway_of(request)
    connector = emc_connector(gw)
    connector.site_id()
    if connector.config.aggregate_url is None:
        raise EmcNotConfigured("no aggregate_url is configured (our profile, off)")
    report = await monthly.compute(gw, month=month, ma_don_vi=connector.config.ma_don_vi)
    exchange_id = await submission.queue_submission(gw, report, client=client.name)
    body = _accepted(exchange_id, submission.SUBMIT)
    return JSONResponse(body, status_code=202, headers={"Location": body["links"]["self"]})
