"""DVCQG (National Public Service Portal): dossier synchronisation and the procedure catalogue."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connectors.dvcqg.connector import DvcqgConnector
from connectors.dvcqg.models import CapNhatTienDo, HoSo, ThuTucChiTiet
from connectors.dvcqg.portal_view import BuocTrenCong, HoSoTrenCong
from gateway.core.clients import Principal
from gateway.core.delivery.intake import call_through
from gateway.core.errors import NotFound
from gateway.core.runtime import Gateway
from gateway.core.web.deps import GatewayDep, gateway_of, require_scope
from gateway.core.web.intake import ACCEPTED_ANSWER, accept
from schemas.dvcqg import MA_HO_SO_PATTERN, MA_TTHC_PATTERN

router = APIRouter(prefix="/v1/dvcqg", tags=["dvcqg"])

SLUG = "dvcqg"
MaHoSo = Annotated[str, Path(pattern=MA_HO_SO_PATTERN, examples=["000.00.01.H22-240105-0007"])]
MaTTHC = Annotated[str, Path(pattern=MA_TTHC_PATTERN, examples=["1.001776"])]
Syncer = Annotated[Principal, Depends(require_scope("dvcqg:sync"))]
Reader = Annotated[Principal, Depends(require_scope("dvcqg:read"))]

ACCEPTED: dict[int | str, dict[str, Any]] = {
    **ACCEPTED_ANSWER,
    422: {"description": "a field is invalid (problem+json naming each field)"},
}


class DossierOnPortal(BaseModel):
    """``GET /v1/dvcqg/dossiers/{ma_ho_so}``: the dossier and its steps as the portal holds
    them (read tolerantly: a field the portal left blank, or a code it does not map, is null)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "exchange_id": "0b8f3c1e-5d2a-4f7e-9a61-3c2d1e0f4a5b",
                    "dossier": {
                        "ma_ho_so": "000.00.01.H22-240105-0007",
                        "ma_tthc": "1.001776",
                        "chu_ho_so": "Nguyễn Văn An",
                        "trang_thai": "da_tiep_nhan",
                        "ngay_tiep_nhan": "2024-01-05T08:30:00+07:00",
                    },
                    "steps": [
                        {
                            "nguoi_xu_ly": "Trần Thị Bình",
                            "noi_dung_xu_ly": "Tiếp nhận hồ sơ",
                            "thoi_diem_xu_ly": "2024-01-05T08:30:00+07:00",
                        }
                    ],
                }
            ]
        }
    )

    exchange_id: str = Field(description="the exchange-log entry of this look-up")
    dossier: HoSoTrenCong = Field(description="the dossier as the portal holds it (TraCuuHoSo)")
    steps: list[BuocTrenCong] = Field(description="its processing steps, as the portal holds them")


class ProcedureAnswer(BaseModel):
    """``GET /v1/dvcqg/procedures/{ma_tthc}``: one procedure of the national catalogue."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "exchange_id": "0b8f3c1e-5d2a-4f7e-9a61-3c2d1e0f4a5b",
                    "procedure": {
                        "ma_tthc": "1.001776",
                        "ten_tthc": "Đăng ký khai sinh",
                        "linh_vuc": [{"ma": "G09-TP01", "ten": "Hộ tịch"}],
                    },
                }
            ]
        }
    )

    exchange_id: str = Field(description="the exchange-log entry of this look-up")
    procedure: ThuTucChiTiet = Field(description="the procedure in full (LayThuTuc)")


def dvcqg_connector(gw: Gateway) -> DvcqgConnector:
    connector = gw.connector(SLUG)
    assert isinstance(connector, DvcqgConnector)
    return connector


def dossier_ordering_key(ma_ho_so: str) -> str:
    # one queue per dossier: its syncs and steps reach the portal in the order accepted
    return f"{SLUG}:{ma_ho_so}"


@router.post("/dossiers", status_code=202, responses=ACCEPTED, operation_id="dvcqg-sync-dossier")
async def sync_dossier(dossier: HoSo, request: Request, client: Syncer) -> JSONResponse:
    """Create or update a dossier on the portal (DongBoHoSoMC), delivered asynchronously."""
    gw = gateway_of(request)
    connector = dvcqg_connector(gw)
    await connector.catalogue.ensure_known(dossier.ma_tthc)
    connector.check_dossier(dossier)
    return await accept(
        request,
        gw,
        client,
        connector=SLUG,
        operation="sync_dossier",
        ordering_key=dossier_ordering_key(dossier.ma_ho_so),
        payload=dossier.model_dump(mode="json"),
        ma_ho_so=dossier.ma_ho_so,
    )


@router.post(
    "/dossiers/{ma_ho_so}/steps",
    status_code=202,
    responses=ACCEPTED,
    operation_id="dvcqg-update-steps",
)
async def update_steps(
    ma_ho_so: MaHoSo, body: CapNhatTienDo, request: Request, client: Syncer
) -> JSONResponse:
    """Report processing steps (CapNhatTienDoHoSoMC), sent in chunks, after the dossier."""
    gw = gateway_of(request)
    dvcqg_connector(gw).check_steps(ma_ho_so, body.steps)
    return await accept(
        request,
        gw,
        client,
        connector=SLUG,
        operation="update_steps",
        ordering_key=dossier_ordering_key(ma_ho_so),
        payload={"ma_ho_so": ma_ho_so, **body.model_dump(mode="json")},
        ma_ho_so=ma_ho_so,
    )


@router.get(
    "/dossiers/{ma_ho_so}",
    operation_id="dvcqg-get-dossier",
    response_model=None,
    responses={200: {"model": DossierOnPortal, "description": "the dossier and its steps"}},
)
async def get_dossier(ma_ho_so: MaHoSo, gw: GatewayDep, client: Reader) -> dict[str, Any]:
    """What the portal holds for this dossier (TraCuuHoSo), with its processing steps."""
    connector = dvcqg_connector(gw)
    exchange_id, found = await call_through(
        gw,
        connector=SLUG,
        operation="get_dossier",
        client=client.name,
        call=lambda: connector.lookup_dossier(ma_ho_so),
        render=lambda r: b"null" if r is None else r[0].model_dump_json().encode(),
        ma_ho_so=ma_ho_so,
    )
    if found is None:
        raise NotFound(f"the portal holds no dossier {ma_ho_so}")
    dossier, steps = found
    return {
        "exchange_id": exchange_id,
        "dossier": dossier.model_dump(mode="json"),
        "steps": [s.model_dump(mode="json") for s in steps],
    }


@router.get(
    "/procedures/{ma_tthc}",
    operation_id="dvcqg-get-procedure",
    response_model=None,
    responses={200: {"model": ProcedureAnswer, "description": "the procedure"}},
)
async def get_procedure(ma_tthc: MaTTHC, gw: GatewayDep, client: Reader) -> dict[str, Any]:
    """One procedure from the national catalogue (LayThuTuc)."""
    connector = dvcqg_connector(gw)
    exchange_id, found = await call_through(
        gw,
        connector=SLUG,
        operation="get_procedure",
        client=client.name,
        call=lambda: connector.procedure(ma_tthc),
        render=lambda r: json.dumps(None if r is None else r.model_dump(mode="json")).encode(),
    )
    if found is None:
        raise NotFound(f"the national catalogue has no procedure {ma_tthc}")
    return {"exchange_id": exchange_id, "procedure": found.model_dump(mode="json")}
