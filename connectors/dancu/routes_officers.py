"""The officer registry and the usage governance of the population database (seed 004, Điều 8).

Administrators (scope ``officers:admin``) register officers, change their details and platform
credential, lock and unlock them, and acknowledge alerts; reviewers (``governance:read``) read
the usage report, the idle officers and the alerts. No answer carries an officer's ID number in
clear (only its masked copy) nor any part of their platform credential.
"""

from __future__ import annotations

from datetime import date, datetime
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


# --- the answers (what ``as_dict`` of the registry and governance views returns) ---------------

_AT = "2026-03-02T01:15:00+00:00"
_OFFICER: dict[str, Any] = {
    "tai_khoan": "canbo.nguyenvana",
    "ma_can_bo": "CB0001",
    "ho_ten": "Nguyễn Văn An",
    "so_dinh_danh": "00109****345",
    "don_vi": "UBND xã Tân Lập",
    "muc_dich": "Xác minh nhân thân người nộp hồ sơ hộ tịch",
    "status": "active",
    "status_reason": None,
    "registered_at": _AT,
    "active_since": _AT,
    "updated_at": _AT,
}


class OfficerEventOut(BaseModel):
    """One change in an officer's history."""

    kind: str = Field(
        description="registered, updated, credential_changed, locked or unlocked",
        examples=["registered"],
    )
    actor: str = Field(description="who made the change", examples=["api:case-system"])
    reason: str | None = Field(description="why (required to update, lock and unlock)")
    changes: list[str] = Field(
        description="the fields changed (an update); empty otherwise", examples=[["don_vi"]]
    )
    at: datetime = Field(description="when (UTC)")


class OfficerOut(BaseModel):
    """A registered officer: the ID number masked, no credential."""

    model_config = ConfigDict(json_schema_extra={"examples": [_OFFICER]})

    tai_khoan: str = Field(description="gateway login (X-Officer-Id)")
    ma_can_bo: str = Field(description="officer code on the platform (MaCanBo)")
    ho_ten: str
    so_dinh_danh: str = Field(description="the ID number, masked")
    don_vi: str = Field(description="unit")
    muc_dich: str = Field(description="why the officer needs to query")
    status: Literal["active", "locked"]
    status_reason: str | None = Field(description="why the officer is locked; null when active")
    registered_at: datetime
    active_since: datetime = Field(description="registration, or the last unlock")
    updated_at: datetime


class OfficerWithHistory(OfficerOut):
    """A registered officer with their history, oldest change first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_OFFICER,
                    "history": [
                        {
                            "kind": "registered",
                            "actor": "api:case-system",
                            "reason": "Quyết định phân công số 12",
                            "changes": [],
                            "at": _AT,
                        }
                    ],
                }
            ]
        }
    )

    history: list[OfficerEventOut] = Field(description="who changed what, when and why")


class OfficerList(BaseModel):
    """Registered officers, by unit then login."""

    items: list[OfficerOut]


class UsageCounts(BaseModel):
    """Look-ups counted from the exchange log."""

    answered: int = Field(description="look-ups the platform answered")
    failed: int = Field(description="look-ups that failed (not found, refused or down)")
    refused: int = Field(description="calls refused by the gateway (officer or purpose)")
    total: int


class UsageOfficerRow(UsageCounts):
    """One officer's look-ups."""

    don_vi: str = Field(description="the officer's current unit, or (unregistered)")
    tai_khoan: str = Field(description="login (masked when not registered)")
    ma_can_bo: str = Field(description="empty when not registered")
    ho_ten: str = Field(description="empty when not registered")
    status: str = Field(description="active or locked; empty when not registered")


class UsageUnit(UsageCounts):
    """One unit's subtotal and its officers."""

    don_vi: str
    officers: int = Field(description="officers listed under the unit")
    rows: list[UsageOfficerRow]


class UsageTotals(UsageCounts):
    """The grand total."""

    officers: int


class UsageReportOut(BaseModel):
    """The usage report of a month (``month``) or of a quarter (``quarter``): one of the two."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "month": "2026-03",
                    "timezone": "Asia/Ho_Chi_Minh",
                    "start": "2026-03-01T00:00:00+07:00",
                    "end": "2026-04-01T00:00:00+07:00",
                    "units": [
                        {
                            "don_vi": "UBND xã Tân Lập",
                            "officers": 1,
                            "answered": 12,
                            "failed": 1,
                            "refused": 0,
                            "total": 13,
                            "rows": [
                                {
                                    "don_vi": "UBND xã Tân Lập",
                                    "tai_khoan": "canbo.nguyenvana",
                                    "ma_can_bo": "CB0001",
                                    "ho_ten": "Nguyễn Văn An",
                                    "status": "active",
                                    "answered": 12,
                                    "failed": 1,
                                    "refused": 0,
                                    "total": 13,
                                }
                            ],
                        }
                    ],
                    "totals": {
                        "officers": 1,
                        "answered": 12,
                        "failed": 1,
                        "refused": 0,
                        "total": 13,
                    },
                }
            ]
        }
    )

    month: str | None = Field(None, description="YYYY-MM; absent for a quarterly report")
    quarter: str | None = Field(None, description="YYYY-Qn; absent for a monthly report")
    timezone: str = Field(description="the zone the period is counted in")
    start: datetime = Field(description="start of the period (inclusive), local time")
    end: datetime = Field(description="end of the period (exclusive), local time")
    units: list[UsageUnit]
    totals: UsageTotals


class IdleOfficerOut(BaseModel):
    """An active officer with no look-up for the period."""

    tai_khoan: str
    ma_can_bo: str
    ho_ten: str
    don_vi: str
    last_lookup_at: datetime | None = Field(description="null when they never looked up")
    idle_since: datetime = Field(
        description="the last look-up, or the registration or last unlock if later"
    )
    idle_days: int = Field(description="whole days idle")


class IdleOfficers(BaseModel):
    """Active officers idle for ``idle_days`` days or more: to be locked."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "idle_days": 365,
                    "items": [
                        {
                            "tai_khoan": "canbo.nguyenvana",
                            "ma_can_bo": "CB0001",
                            "ho_ten": "Nguyễn Văn An",
                            "don_vi": "UBND xã Tân Lập",
                            "last_lookup_at": None,
                            "idle_since": "2025-01-02T01:15:00+00:00",
                            "idle_days": 425,
                        }
                    ],
                }
            ]
        }
    )

    idle_days: int = Field(description="the threshold applied")
    items: list[IdleOfficerOut]


class AlertOut(BaseModel):
    """A spike alert on an officer's look-ups."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "kind": "spike",
                    "officer": "canbo.nguyenvana",
                    "day": "2026-03-02",
                    "rule": "ceiling",
                    "count": 240,
                    "threshold": 200.0,
                    "median": 14.0,
                    "detail": "240 look-ups on 2026-03-02, above the ceiling of 200",
                    "locked": False,
                    "created_at": _AT,
                    "acknowledged_at": None,
                    "acknowledged_by": None,
                    "acknowledged_note": None,
                }
            ]
        }
    )

    id: int
    kind: str = Field(description="spike", examples=["spike"])
    officer: str = Field(description="the officer's login")
    day: date = Field(description="the local day of the look-ups")
    rule: str = Field(description="ceiling or median: the rule the day broke")
    count: int = Field(description="look-ups that day")
    threshold: float = Field(description="the limit the count exceeded")
    median: float | None = Field(description="the officer's trailing median; null if none")
    detail: str
    locked: bool = Field(description="the officer was locked by the alert")
    created_at: datetime
    acknowledged_at: datetime | None = Field(description="null until reviewed")
    acknowledged_by: str | None
    acknowledged_note: str | None


class AlertList(BaseModel):
    """Spike alerts, newest first."""

    items: list[AlertOut]


#: the usage report: JSON (``UsageReportOut``), or CSV with ``?format=csv``
USAGE_ANSWER: dict[str, Any] = {
    "response_model": None,
    "responses": {
        200: {
            "model": UsageReportOut,
            "content": {"text/csv": {}},
            "description": "JSON, or CSV with ?format=csv",
        }
    },
}


def _answer(model: type[BaseModel], description: str, status: int = 200) -> dict[str, Any]:
    """The answer's schema for the OpenAPI document only: the route returns the view's
    ``as_dict()`` unchanged."""
    return {
        "response_model": None,
        "responses": {status: {"model": model, "description": description}},
    }


credentials = APIRouter(route_class=redacting_route("platform_password"))


def _actor(client: Principal) -> str:
    return f"api:{client.name}"


# --- the registry -----------------------------------------------------------------------------


@credentials.post(
    "/v1/officers",
    status_code=201,
    tags=["officers"],
    operation_id="officers-register",
    **_answer(OfficerWithHistory, "the officer registered", 201),
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


@router.get(
    "/v1/officers",
    tags=["officers"],
    operation_id="officers-list",
    **_answer(OfficerList, "the officers"),
)
async def list_officers(
    gw: GatewayDep,
    _client: Admin,
    status: Annotated[Literal["active", "locked"] | None, Query()] = None,
    unit: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    """Registered officers, by unit then login."""
    views = await officers.list_officers(db=gw.db, status=status, unit=unit)
    return {"items": [v.as_dict() for v in views]}


@router.get(
    "/v1/officers/{tai_khoan}",
    tags=["officers"],
    operation_id="officers-get",
    **_answer(OfficerWithHistory, "the officer and their history"),
)
async def get_officer(tai_khoan: Login, gw: GatewayDep, _client: Admin) -> dict[str, Any]:
    """One officer with their history (who changed what, when and why)."""
    return (await officers.get(db=gw.db, tai_khoan=tai_khoan)).as_dict(history=True)


@router.patch(
    "/v1/officers/{tai_khoan}",
    tags=["officers"],
    operation_id="officers-update",
    **_answer(OfficerWithHistory, "the officer as changed"),
)
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
    **_answer(OfficerWithHistory, "the officer (the credential is never returned)"),
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


@router.post(
    "/v1/officers/{tai_khoan}/lock",
    tags=["officers"],
    operation_id="officers-lock",
    **_answer(OfficerWithHistory, "the officer, locked"),
)
async def lock(tai_khoan: Login, body: Reason, gw: GatewayDep, client: Admin) -> dict[str, Any]:
    """Withdraw the officer's access (their look-ups are refused from now on)."""
    view = await officers.lock(
        db=gw.db, tai_khoan=tai_khoan, reason=body.reason, actor=_actor(client), cipher=gw.cipher
    )
    return view.as_dict(history=True)


@router.post(
    "/v1/officers/{tai_khoan}/unlock",
    tags=["officers"],
    operation_id="officers-unlock",
    **_answer(OfficerWithHistory, "the officer, active again"),
)
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
    **USAGE_ANSWER,
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


@router.get("/v1/dancu/usage", tags=["dancu"], operation_id="dancu-usage", **USAGE_ANSWER)
async def dancu_usage(
    gw: GatewayDep,
    _client: Reviewer,
    month: Month = None,
    quarter: Quarter = None,
    fmt: Format = "json",
) -> Any:
    """The usage report of ``GET /v1/governance/usage``, under the connector's path."""
    return await _usage(gw, month, quarter, fmt)


@router.get(
    "/v1/governance/idle",
    tags=["governance"],
    operation_id="governance-idle",
    **_answer(IdleOfficers, "the idle officers"),
)
async def idle(
    gw: GatewayDep,
    _client: Reviewer,
    days: Annotated[int | None, Query(ge=1, le=3660, description="default: configured")] = None,
) -> dict[str, Any]:
    """Active officers with no look-up for ``days`` days (365 by default): to be locked."""
    idle_days = days or gw.settings.governance.idle_days
    found = await governance.idle_officers(gw.db, now=utcnow(), idle_days=idle_days)
    return {"idle_days": idle_days, "items": [i.as_dict() for i in found]}


@router.get(
    "/v1/governance/alerts",
    tags=["governance"],
    operation_id="governance-alerts",
    **_answer(AlertList, "the alerts"),
)
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
    **_answer(AlertOut, "the alert, acknowledged"),
)
async def ack_alert(
    alert_id: int, gw: GatewayDep, client: Admin, body: Acknowledge | None = None
) -> dict[str, Any]:
    """Mark an alert as reviewed, with an optional note."""
    view = await governance.acknowledge_alert(
        gw.db, alert_id=alert_id, actor=_actor(client), note=body.note if body else None
    )
    return view.as_dict()
