"""National Population Database: officer-bound citizen look-ups (seed 004, Điều 8).

Every call names a registered, active officer (``X-Officer-Id``: their gateway login) and its
purpose (procedure and dossier codes). Anything less is refused with 403 before the platform is
called, and the refusal is logged with the officer it named. Each look-up that passes is
counted for the officer (usage review and spike detection), then made through the circuit
breaker and logged as one exchange with its attempts; the citizen's data is returned to the
caller and kept nowhere but in the encrypted exchange log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel

from connectors.dancu import governance, officers
from connectors.dancu.connector import DancuConnector
from connectors.dancu.models import CongDan, KetQuaXacThuc, YeuCauCongDan, check_consistency
from connectors.dancu.profile import OfficerCredential
from gateway.core.clients import Principal
from gateway.core.delivery.intake import call_through
from gateway.core.errors import FieldError, Forbidden, InvalidInput
from gateway.core.runtime import Gateway
from gateway.core.web.deps import GatewayDep, require_scope

router = APIRouter(prefix="/v1/dancu", tags=["dancu"])

SLUG = "dancu"
Looker = Annotated[Principal, Depends(require_scope("dancu:lookup"))]
OfficerId = Annotated[
    str | None,
    Header(
        alias="X-Officer-Id",
        description="gateway login of the registered officer asking (required)",
        examples=["canbo.nguyenvana"],
    ),
]
R = TypeVar("R", bound=BaseModel)

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "no registered active officer, no purpose, or the platform refused"},
    404: {"description": "no citizen matches the number, name and birth date (look-up)"},
    422: {"description": "a field is invalid (problem+json naming each field)"},
}


class TraCuuAnswer(BaseModel):
    exchange_id: str
    cong_dan: CongDan


class XacThucAnswer(BaseModel):
    exchange_id: str
    ket_qua: KetQuaXacThuc


def _connector(gw: Gateway) -> DancuConnector:
    connector = gw.connector(SLUG)
    assert isinstance(connector, DancuConnector)
    return connector


async def _governed(
    gw: Gateway, officer_id: str | None, body: YeuCauCongDan
) -> officers.ActiveOfficer:
    """The officer and the purpose are checked first, then the data: nothing reaches the
    platform, and nothing is counted, for a call that may not be made."""
    officer = await officers.authorize(gw.db, gw.cipher, tai_khoan=officer_id)
    missing = [
        FieldError(name, "required: the look-up must state the case it serves (seed 004, Điều 8)")
        for name in ("ma_tthc", "ma_ho_so")
        if not getattr(body, name)
    ]
    if missing:
        raise Forbidden("a look-up without a stated purpose is not allowed", errors=missing)
    errors = check_consistency(body)
    if errors:
        raise InvalidInput(f"{errors[0].loc}: {errors[0].msg}", errors=errors)
    await governance.note_lookup(gw, officer)
    return officer


async def _through(
    gw: Gateway,
    request: Request,
    *,
    operation: str,
    client: Principal,
    officer: officers.ActiveOfficer,
    body: YeuCauCongDan,
    call: Callable[[OfficerCredential], Awaitable[R]],
) -> tuple[str, R]:
    credential = OfficerCredential(
        ma_can_bo=officer.ma_can_bo,
        username=officer.platform_username,
        password=officer.platform_password,
        tai_khoan=officer.tai_khoan,
        don_vi=officer.don_vi,
    )
    return await call_through(
        gw,
        connector=SLUG,
        operation=operation,
        client=client.name,
        call=lambda: call(credential),
        render=lambda result: result.model_dump_json().encode(),
        request_body=getattr(request.state, "raw_body", b""),
        ma_ho_so=body.ma_ho_so,
        officer_id=officer.tai_khoan,
        purpose=body.purpose,
    )


@router.post("/citizens/lookup", responses=REFUSALS, operation_id="dancu-lookup-citizen")
async def lookup_citizen(
    body: YeuCauCongDan,
    request: Request,
    gw: GatewayDep,
    client: Looker,
    officer_id: OfficerId = None,
) -> TraCuuAnswer:
    """The citizen's record (TraCuuThongTinCongDan), when number, name and birth date match."""
    officer = await _governed(gw, officer_id, body)
    connector = _connector(gw)
    exchange_id, citizen = await _through(
        gw,
        request,
        operation="lookup_citizen",
        client=client,
        officer=officer,
        body=body,
        call=lambda credential: connector.lookup(body, credential),
    )
    return TraCuuAnswer(exchange_id=exchange_id, cong_dan=citizen)


@router.post("/citizens/verify", responses=REFUSALS, operation_id="dancu-verify-citizen")
async def verify_citizen(
    body: YeuCauCongDan,
    request: Request,
    gw: GatewayDep,
    client: Looker,
    officer_id: OfficerId = None,
) -> XacThucAnswer:
    """Whether the stated number, name and birth date match (XacThucThongTinCongDan)."""
    officer = await _governed(gw, officer_id, body)
    connector = _connector(gw)
    exchange_id, result = await _through(
        gw,
        request,
        operation="verify_citizen",
        client=client,
        officer=officer,
        body=body,
        call=lambda credential: connector.verify(body, credential),
    )
    return XacThucAnswer(exchange_id=exchange_id, ket_qua=result)
