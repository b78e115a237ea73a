"""Results to the citizen's electronic data store on the national portal (Kho quản lý dữ liệu
điện tử; seed 002 Điều 4.3, seed 004 Điều 14.2.c).

``POST /v1/dvcqg/results`` (scope ``dvcqg:sync``, ``Idempotency-Key`` honoured): the case
system returns a result (the document, base64, and its metadata); it is signed first when a
signing connector is configured (``sign_results``, :class:`~gateway.core.connector.
DocumentSigner`), digested (SHA-256), and accepted into the outbox (202) behind the dossier's
own synchronisations (same ordering key), to be sent with ``DongBoKetQuaKho``. The store keeps
one document per ``ma_giay_to``, so a redelivery is harmless.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from connectors.dvcqg.connector import SIGN_AT_DELIVERY
from connectors.dvcqg.routes import ACCEPTED, SLUG, Syncer, dossier_ordering_key, dvcqg_connector
from gateway.core.connector import DocumentSigner
from gateway.core.errors import FieldError, InvalidInput
from gateway.core.web.deps import GatewayDep
from gateway.core.web.intake import accept
from gateway.core.workdays import VN
from schemas.cccd import SoDinhDanh
from schemas.dvcqg import MA_HO_SO_PATTERN, WIRE_DATETIME_FORMAT
from schemas.wire_time import wire_format

router = APIRouter(prefix="/v1/dvcqg", tags=["dvcqg"])


class Owner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    so_dinh_danh: SoDinhDanh
    ho_va_ten: str = Field(min_length=1, max_length=200, examples=["Nguyễn Văn An"])


class ResultFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ten: str = Field(min_length=1, max_length=255, examples=["giay-khai-sinh.pdf"])
    dinh_dang: str = Field(
        pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100, examples=["application/pdf"]
    )
    noi_dung_base64: str = Field(min_length=4, description="the document, base64")


class ResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ma_ho_so: Annotated[str, Field(pattern=MA_HO_SO_PATTERN)] = Field(
        examples=["000.00.01.H22-240105-0007"]
    )
    ma_giay_to: str = Field(
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="the case system's id of this result (one document per id in the store)",
        examples=["KQ-240105-0007-1"],
    )
    chu_so_huu: Owner
    ten_giay_to: str = Field(min_length=1, max_length=500, examples=["Giấy khai sinh"])
    ma_thanh_phan: str | None = Field(None, max_length=64)
    so_ky_hieu: str | None = Field(None, max_length=100, examples=["123/2026/KS"])
    ngay_cap: AwareDatetime
    co_quan_cap: str = Field(min_length=1, max_length=500, examples=["UBND xã Tân Lập"])
    hieu_luc_den: AwareDatetime | None = None
    tep: ResultFile


def _wire_time(moment: datetime) -> str:
    return wire_format(moment.astimezone(VN), WIRE_DATETIME_FORMAT)


@router.post("/results", status_code=202, responses=ACCEPTED, operation_id="dvcqg-store-result")
async def store_result(
    body: ResultIn, request: Request, gw: GatewayDep, client: Syncer
) -> JSONResponse:
    """Send a result document to the citizen's data store on the portal (signed when an
    eSign connector is configured), delivered asynchronously."""
    try:
        content = base64.b64decode(body.tep.noi_dung_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "the document is not base64",
            errors=[FieldError("tep.noi_dung_base64", "not valid base64")],
        ) from None
    if not content:
        raise InvalidInput(
            "the document is empty", errors=[FieldError("tep.noi_dung_base64", "empty")]
        )
    # signed when delivered (a signing service or TSA down delays the delivery, never the
    # answer): the hash and the mark are set then
    sign = dvcqg_connector(gw).config.sign_results and any(
        isinstance(c, DocumentSigner) for c in gw.connectors.values()
    )
    payload: dict[str, Any] = {
        "MaHoSo": body.ma_ho_so,
        "MaGiayTo": body.ma_giay_to,
        "SoDinhDanhChuSoHuu": body.chu_so_huu.so_dinh_danh,
        "HoTenChuSoHuu": body.chu_so_huu.ho_va_ten,
        "TenGiayTo": body.ten_giay_to,
        "MaThanhPhanHoSo": body.ma_thanh_phan,
        "SoKyHieu": body.so_ky_hieu,
        "NgayCap": _wire_time(body.ngay_cap),
        "CoQuanCap": body.co_quan_cap,
        "HieuLucDen": _wire_time(body.hieu_luc_den) if body.hieu_luc_den else None,
        "TenTep": body.tep.ten,
        "DinhDang": body.tep.dinh_dang,
        "MaBam": hashlib.sha256(content).hexdigest(),
        "DaKySo": 0,
        "NoiDungTep": base64.b64encode(content).decode(),
        SIGN_AT_DELIVERY: sign,
    }
    return await accept(
        request,
        gw,
        client,
        connector=SLUG,
        operation="store_result",
        ordering_key=dossier_ordering_key(body.ma_ho_so),
        payload={k: v for k, v in payload.items() if v is not None},
        ma_ho_so=body.ma_ho_so,
    )
