"""Maintenance windows: the platforms' (deliveries held) and the gateway's own (notices), and
the public status page the case systems read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field

from gateway.api.answers import Status, Window, Windows, answer
from gateway.core.clients import Principal
from gateway.core.maintenance import GATEWAY, Proposal, cancel_window, schedule_window
from gateway.core.web.deps import GatewayDep, require_scope

router = APIRouter(tags=["ops"])


class WindowRequest(BaseModel):
    scope: str = Field(
        min_length=1,
        max_length=32,
        description="a connector's slug (the platform's window: its deliveries are held) or "
        "'gateway' (the gateway's own maintenance or upgrade: a notice)",
        examples=["dvcqg"],
    )
    kind: Literal["maintenance", "upgrade"] = Field(
        "maintenance", description="'upgrade' only for the gateway (5 working days' notice)"
    )
    starts_at: AwareDatetime = Field(alias="from", examples=["2026-12-12T22:00:00+07:00"])
    ends_at: AwareDatetime = Field(alias="to", examples=["2026-12-13T04:00:00+07:00"])
    reason: str = Field(min_length=3, max_length=500, examples=["Nâng cấp hạ tầng CSDL"])
    urgent: bool = Field(
        False,
        description="the gateway's own window with less notice than the regulations ask: the "
        "reason says why (recorded)",
    )


class CancelRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


@router.post(
    "/v1/maintenance",
    operation_id="ops-maintenance-add",
    status_code=201,
    response_model=None,
    responses={201: answer(Window, "scheduled")},
)
async def add_window(
    body: WindowRequest,
    gw: GatewayDep,
    client: Annotated[Principal, Depends(require_scope("ops:admin"))],
) -> dict[str, Any]:
    """Schedule a maintenance window (recorded in the exchange log with the client, announced
    to the case systems as an event)."""
    window = await schedule_window(
        gw,
        Proposal(
            scope=body.scope,
            kind=body.kind,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason,
            urgent=body.urgent,
        ),
        actor=client.name,
        source="api",
    )
    return window.as_dict()


@router.get(
    "/v1/maintenance",
    operation_id="ops-maintenance-list",
    response_model=None,
    responses={200: answer(Windows)},
)
async def list_windows(
    gw: GatewayDep, _client: Annotated[Principal, Depends(require_scope("ops:read"))]
) -> dict[str, Any]:
    """The windows in force now and to come."""
    board = gw.maintenance
    board.invalidate()
    active = await board.in_maintenance()
    return {
        "active": [w.as_dict() for w in active.values()],
        "upcoming": [w.as_dict() for w in await board.upcoming()],
    }


@router.post(
    "/v1/maintenance/{window_id}/cancel",
    operation_id="ops-maintenance-cancel",
    response_model=None,
    responses={200: answer(Window, "cancelled")},
)
async def cancel(
    window_id: int,
    body: CancelRequest,
    gw: GatewayDep,
    client: Annotated[Principal, Depends(require_scope("ops:admin"))],
) -> dict[str, Any]:
    window = await cancel_window(gw, window_id, actor=client.name, reason=body.reason)
    return window.as_dict()


@router.get(
    "/v1/status", operation_id="ops-status", response_model=None, responses={200: answer(Status)}
)
async def status(gw: GatewayDep) -> dict[str, Any]:
    """Public, no key needed: whether the gateway and each platform are in maintenance now, and
    the windows announced (seed 003, Điều 9.3: maintenance announced ahead)."""
    board = gw.maintenance
    active = await board.in_maintenance()
    own = active.get(GATEWAY)
    return {
        "status": "maintenance" if own is not None else "operational",
        "gateway": {
            "current": own.as_dict() if own is not None else None,
            "upcoming": [w.as_dict() for w in await board.upcoming(GATEWAY)],
        },
        "platforms": {
            slug: {
                "maintenance": active[slug].as_dict() if slug in active else None,
                "upcoming": [w.as_dict() for w in await board.upcoming(slug)],
            }
            for slug in gw.specs
        },
    }
