"""The officer registry and the usage governance of the population database (seed 004, Điều 8).

Administrators (scope ``officers:admin``) register officers, change their details and platform
credential, lock and unlock them, and acknowledge alerts; reviewers (``governance:read``) read
the usage report, the idle officers and the alerts. No answer carries an officer's ID number in
clear (only its masked copy) nor any part of their platform credential.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.dancu import governance, officers
from gateway.core.clients import Principal
from gateway.core.errors import FieldError, InvalidInput
from gateway.core.local_time import local_day
from gateway.core.store.db import utcnow
from gateway.core.web.deps import GatewayDep, require_scope
from gateway.core.web.redaction import redacting_route
from gateway.core.web.responses import csv_attachment

router = APIRouter()

Admin = Annotated[Principal, Depends(require_scope("officers:admin"))]
Reviewer = Annotated[Principal, Depends(require_scope("governance:read"))]
Login = Annotated[str, Path(max_length=64, description="the officer's gateway login")]
Month = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
        description="YYYY-MM, local time (Asia/Ho_Chi_Minh); the current month when absent",
        examples=["2026-03"],
    ),
]
Quarter = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{4}-Q[1-4]$",
        description="YYYY-Qn, local time: the quarterly report (seed 004, Điều 29.8.b), "
        "instead of a month",
        examples=["2026-Q4"],
    ),
]
Format = Annotated[Literal["json", "csv"], Query(alias="format")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv"}
}


# documented placeholders only: no real-looking credential in the OpenAPI document
def _password() -> Any:
    return Field(
        description="the officer's password on the platform; stored encrypted, never returned",
        examples=["<platform password>"],
    )


class RegisterOfficer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tai_khoan: str = Field(
        max_length=64,
        description="gateway login: the X-Officer-Id of their look-ups (a-z 0-9 . _ - @)",
        examples=["canbo.nguyenvana"],
    )
    ma_can_bo: str = Field(
        max_length=64, description="officer code on the platform (MaCanBo)", examples=["CB0001"]
    )
    ho_ten: str = Field(max_length=128, examples=["Nguyễn Văn An"])
    so_dinh_danh: str = Field(
        max_length=12,
        description="12-digit ID number; stored encrypted, only shown masked",
        examples=["001090012345"],
    )
    don_vi: str = Field(max_length=255, description="unit", examples=["UBND xã Tân Lập"])
    muc_dich: str = Field(
        max_length=500,
        description="why the officer needs to query",
        examples=["Xác minh nhân thân người nộp hồ sơ hộ tịch"],
    )
    platform_username: str = Field(
        max_length=128, description="user name on the platform", examples=["canbo.nguyenvana"]
    )
    platform_password: SecretStr = _password()
    reason: str | None = Field(None, max_length=500, examples=["Quyết định phân công số 12"])


class UpdateOfficer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ma_can_bo: str | None = Field(None, max_length=64)
    ho_ten: str | None = Field(None, max_length=128)
    so_dinh_danh: str | None = Field(None, max_length=12)
    don_vi: str | None = Field(None, max_length=255)
    muc_dich: str | None = Field(None, max_length=500)
    reason: str = Field(max_length=500, examples=["Điều chuyển công tác"])


class SetCredential(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform_username: str = Field(max_length=128, examples=["canbo.nguyenvana"])
    platform_password: SecretStr = _password()
    reason: str | None = Field(None, max_length=500, examples=["Đổi mật khẩu định kỳ"])


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=500, examples=["Chuyển công tác, thôi nhiệm vụ tra cứu"])


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=500, examples=["Đã xác minh: đợt cấp đổi CCCD"])


credentials = APIRouter(route_class=redacting_route("platform_password"))


def _actor(client: Principal) -> str:
    return f"api:{client.name}"


# --- the registry -----------------------------------------------------------------------------


@credentials.post(
    "/v1/officers", status_code=201, tags=["officers"], operation_id="officers-register"
)
async def register(body: RegisterOfficer, gw: GatewayDep, client: Admin) -> dict[str, Any]:
    """Register an officer allowed to query the population database."""
    view = await officers.register(
        db=gw.db,
        cipher=gw.cipher,
        tai_khoan=body.tai_khoan,
        ma_can_bo=body.ma_can_bo,
        ho_ten=body.ho_ten,
        so_dinh_danh=body.so_dinh_danh,
        don_vi=body.don_vi,
        muc_dich=body.muc_dich,
        platform_username=body.platform_username,
        platform_password=body.platform_password,
        actor=_actor(client),
        reason=body.reason,
    )
    return view.as_dict(history=True)


@router.get("/v1/officers", tags=["officers"], operation_id="officers-list")
async def list_officers(
    gw: GatewayDep,
    _client: Admin,
    status: Annotated[Literal["active", "locked"] | None, Query()] = None,
    unit: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    """Registered officers, by unit then login."""
    views = await officers.list_officers(db=gw.db, status=status, unit=unit)
    return {"items": [v.as_dict() for v in views]}


@router.get("/v1/officers/{tai_khoan}", tags=["officers"], operation_id="officers-get")
async def get_officer(tai_khoan: Login, gw: GatewayDep, _client: Admin) -> dict[str, Any]:
    """One officer with their history (who changed what, when and why)."""
    return (await officers.get(db=gw.db, tai_khoan=tai_khoan)).as_dict(history=True)


@router.patch("/v1/officers/{tai_khoan}", tags=["officers"], operation_id="officers-update")
async def update_officer(
    tai_khoan: Login, body: UpdateOfficer, gw: GatewayDep, client: Admin
) -> dict[str, Any]:
    """Change an officer's details (only the fields given), with a reason."""
    view = await officers.update(
        db=gw.db,
        cipher=gw.cipher,
        tai_khoan=tai_khoan,
        actor=_actor(client),
        reason=body.reason,
        ma_can_bo=body.ma_can_bo,
        ho_ten=body.ho_ten,
        so_dinh_danh=body.so_dinh_danh,
        don_vi=body.don_vi,
        muc_dich=body.muc_dich,
    )
    return view.as_dict(history=True)


@credentials.put(
    "/v1/officers/{tai_khoan}/credential",
    tags=["officers"],
    operation_id="officers-set-credential",
)
async def set_credential(
    tai_khoan: Login, body: SetCredential, gw: GatewayDep, client: Admin
) -> dict[str, Any]:
    """Replace the officer's platform credential (never returned)."""
    view = await officers.update_credential(
        db=gw.db,
        cipher=gw.cipher,
        tai_khoan=tai_khoan,
        platform_username=body.platform_username,
        platform_password=body.platform_password,
        actor=_actor(client),
        reason=body.reason,
    )
    return view.as_dict(history=True)


@router.post("/v1/officers/{tai_khoan}/lock", tags=["officers"], operation_id="officers-lock")
async def lock(tai_khoan: Login, body: Reason, gw: GatewayDep, client: Admin) -> dict[str, Any]:
    """Withdraw the officer's access (their look-ups are refused from now on)."""
    view = await officers.lock(
        db=gw.db, tai_khoan=tai_khoan, reason=body.reason, actor=_actor(client), cipher=gw.cipher
    )
    return view.as_dict(history=True)


@router.post("/v1/officers/{tai_khoan}/unlock", tags=["officers"], operation_id="officers-unlock")
async def unlock(tai_khoan: Login, body: Reason, gw: GatewayDep, client: Admin) -> dict[str, Any]:
    """Give the officer's access back."""
    view = await officers.unlock(
        db=gw.db, tai_khoan=tai_khoan, reason=body.reason, actor=_actor(client), cipher=gw.cipher
    )
    return view.as_dict(history=True)


router.include_router(credentials)


# --- governance -------------------------------------------------------------------------------


async def _usage(gw: GatewayDep, month: str | None, quarter: str | None, fmt: str) -> Any:
    if month and quarter:
        raise InvalidInput(
            "a month or a quarter, not both", errors=[FieldError("quarter", "not with month")]
        )
    period = quarter or month or local_day(utcnow()).strftime("%Y-%m")
    report = await governance.usage(gw.db, month=period)
    if fmt == "csv":
        return csv_attachment(governance.usage_csv(report), f"dancu-usage-{period}.csv")
    return report.as_dict()


@router.get(
    "/v1/governance/usage",
    tags=["governance"],
    operation_id="governance-usage",
    responses=CSV_RESPONSE,
)
async def usage(
    gw: GatewayDep,
    _client: Reviewer,
    month: Month = None,
    quarter: Quarter = None,
    fmt: Format = "json",
) -> Any:
    """Population-database look-ups of a month (or a quarter) per unit and officer (answered,
    failed, refused), with unit subtotals and a grand total, counted from the exchange log."""
    return await _usage(gw, month, quarter, fmt)


@router.get("/v1/dancu/usage", tags=["dancu"], operation_id="dancu-usage", responses=CSV_RESPONSE)
async def dancu_usage(
    gw: GatewayDep,
    _client: Reviewer,
    month: Month = None,
    quarter: Quarter = None,
    fmt: Format = "json",
) -> Any:
    """The usage report of ``GET /v1/governance/usage``, under the connector's path."""
    return await _usage(gw, month, quarter, fmt)


@router.get("/v1/governance/idle", tags=["governance"], operation_id="governance-idle")
async def idle(
    gw: GatewayDep,
    _client: Reviewer,
    days: Annotated[int | None, Query(ge=1, le=3660, description="default: configured")] = None,
) -> dict[str, Any]:
    """Active officers with no look-up for ``days`` days (365 by default): to be locked."""
    idle_days = days or gw.settings.governance.idle_days
    found = await governance.idle_officers(gw.db, now=utcnow(), idle_days=idle_days)
    return {"idle_days": idle_days, "items": [i.as_dict() for i in found]}


@router.get("/v1/governance/alerts", tags=["governance"], operation_id="governance-alerts")
async def alerts(
    gw: GatewayDep,
    _client: Reviewer,
    open_only: Annotated[bool, Query(alias="open", description="only unacknowledged")] = False,
    officer: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Spike alerts, newest first."""
    found = await governance.list_alerts(gw.db, open_only=open_only, officer=officer, limit=limit)
    return {"items": [a.as_dict() for a in found]}


@router.post(
    "/v1/governance/alerts/{alert_id}/ack",
    tags=["governance"],
    operation_id="governance-ack-alert",
)
async def ack_alert(
    alert_id: int, gw: GatewayDep, client: Admin, body: Acknowledge | None = None
) -> dict[str, Any]:
    """Mark an alert as reviewed, with an optional note."""
    view = await governance.acknowledge_alert(
        gw.db, alert_id=alert_id, actor=_actor(client), note=body.note if body else None
    )
    return view.as_dict()
