"""National Business Registration Database: enterprise look-ups for a stated case.

Every call names the officer asking (``X-Officer-Id``: their gateway login) and its purpose
(procedure and dossier codes), as look-ups of the population database do; no public source asks
for them on this platform, it is this gateway's governance. Anything less is refused with 403
before the register is called (the refusal is logged with the officer it named). A look-up that
passes is made through the circuit breaker and logged as one exchange with its attempts, the
officer and the purpose on the entry.

"Not found" and an enterprise that no longer operates are 200 answers (``ket_qua``,
``doanh_nghiep.tinh_trang``); an answer outside the register's schema is 502 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from connectors.dkdn.connector import DkdnConnector
from connectors.dkdn.models import DoanhNghiep, KetQua, YeuCauDoanhNghiep
from gateway.core.clients import Principal
from gateway.core.delivery.intake import call_through
from gateway.core.errors import FieldError, Forbidden
from gateway.core.log.exchange_log import is_officer_login
from gateway.core.runtime import Gateway
from gateway.core.web.deps import GatewayDep, require_scope

router = APIRouter(prefix="/v1/dkdn", tags=["dkdn"])

SLUG = "dkdn"
Looker = Annotated[Principal, Depends(require_scope("dkdn:lookup"))]
OfficerId = Annotated[
    str | None,
    Header(
        alias="X-Officer-Id",
        description="gateway login of the officer asking (required)",
        examples=["canbo.tiepnhan"],
    ),
]

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "no officer named, no purpose, or the register refused the gateway"},
    422: {"description": "a field is invalid (problem+json naming each field)"},
    502: {"description": "the register answered outside its schema (the field is named)"},
    503: {"description": "the register is unavailable, or its circuit breaker is open"},
}


class TraCuuDoanhNghiepAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"exchange_id": "5b0c…", "ket_qua": "not_found", "doanh_nghiep": None},
            ]
        }
    )

    exchange_id: str
    ket_qua: KetQua = Field(description="found, or not_found (an answer, not an error)")
    doanh_nghiep: DoanhNghiep | None = Field(
        None, description="the enterprise when found; see tinh_trang for whether it operates"
    )


def _connector(gw: Gateway) -> DkdnConnector:
    connector = gw.connector(SLUG)
    assert isinstance(connector, DkdnConnector)
    return connector


def _governed(officer_id: str | None, body: YeuCauDoanhNghiep) -> str:
    """The officer and the purpose are checked first: nothing reaches the platform for a
    look-up that may not be made."""
    login = (officer_id or "").strip()
    if not is_officer_login(login):
        raise Forbidden(
            "a look-up must name the officer asking",
            errors=[FieldError("X-Officer-Id", "required: the officer's gateway login")],
        )
    missing = [
        FieldError(name, "required: the look-up must state the case it serves")
        for name in ("ma_tthc", "ma_ho_so")
        if not getattr(body, name)
    ]
    if missing:
        raise Forbidden("a look-up without a stated purpose is not allowed", errors=missing)
    return login


@router.post("/enterprises/lookup", responses=REFUSALS, operation_id="dkdn-lookup-enterprise")
async def lookup_enterprise(
    body: YeuCauDoanhNghiep,
    request: Request,
    gw: GatewayDep,
    client: Looker,
    officer_id: OfficerId = None,
) -> TraCuuDoanhNghiepAnswer:
    """The enterprise (or branch) registered under the code: names, type, legal status, head
    office, legal representatives, lines of business (chiTietDoanhNghiep)."""
    officer = _governed(officer_id, body)
    connector = _connector(gw)
    exchange_id, found = await call_through(
        gw,
        connector=SLUG,
        operation="lookup_enterprise",
        client=client.name,
        call=lambda: connector.lookup(body.ma_so_doanh_nghiep),
        render=lambda result: (
            result.model_dump_json().encode() if result is not None else b'{"ket_qua":"not_found"}'
        ),
        request_body=getattr(request.state, "raw_body", b""),
        ma_ho_so=body.ma_ho_so,
        officer_id=officer,
        purpose=body.purpose,
    )
    return TraCuuDoanhNghiepAnswer(
        exchange_id=exchange_id,
        ket_qua="found" if found is not None else "not_found",
        doanh_nghiep=found,
    )
