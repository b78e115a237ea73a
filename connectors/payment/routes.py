"""Fee payments through the DVCQG online payment platform (see :mod:`connectors.payment.payments`).

* ``POST /v1/payments`` (scope ``payment:create``): the payment of a dossier's fee lines,
  created on the platform (INIT) and answered with its payment URL (201), or the one created
  before for the same dossier, agency, procedure and fee lines (200). Amounts are integer VND:
  a float, even ``1.0``, or a string is refused. The agency (``ma_dvc``) must have a
  configured beneficiary account.
* ``GET /v1/payments/reconciliation?date=YYYY-MM-DD[&format=csv]`` (scope ``payment:read``):
  the platform's statement of the day against our settled payments
  (:mod:`connectors.payment.reconciliation`), as JSON (findings, totals, ok) or CSV.
* ``GET /v1/payments/{payment_id}`` (scope ``payment:read``): the payment, its history and
  its refunds.
* ``POST /v1/payments/{payment_id}/refunds`` (scope ``payment:create``, ``Idempotency-Key``
  honoured): a refund request ``{amount, reason}`` of a paid payment, capped at what was paid
  (:mod:`connectors.payment.refunds`); ``GET`` (scope ``payment:read``) lists them with the
  refundable remainder. ``POST .../refunds/{refund_id}/complete {reference}`` and
  ``.../reject {note}`` (scope ``payment:create``) decide a requested refund (else 409).

What the platform sends the gateway (callbacks, the portal's bill look-ups) is in
:mod:`connectors.payment.routes_portal`.
"""

from __future__ import annotations

import ipaddress
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from connectors.payment import payments, reconciliation
from connectors.payment import refunds as payments_refunds
from connectors.payment.config import Beneficiary
from connectors.payment.connector import PaymentConnector
from gateway.core.clients import Principal
from gateway.core.errors import FieldError, InvalidInput
from gateway.core.local_time import FIRST_DAY, LAST_DAY
from gateway.core.reconcile import FindingCounts, Kind, Totals, report_example
from gateway.core.runtime import Gateway
from gateway.core.store import idempotency
from gateway.core.store.db import utcnow
from gateway.core.web.deps import GatewayDep, require_scope
from gateway.core.web.intake import reserve_key
from gateway.core.web.responses import csv_attachment
from schemas import payment as wire
from schemas.cccd import SoDinhDanh

router = APIRouter(tags=["payments"])

SLUG = "payment"
Creator = Annotated[Principal, Depends(require_scope("payment:create"))]
Reader = Annotated[Principal, Depends(require_scope("payment:read"))]
PaymentId = Annotated[str, Path(max_length=36, description="the gateway's payment id (UUID)")]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^|\s]+$")]

REFUSALS: dict[int | str, dict[str, Any]] = {
    422: {"description": "a field is invalid, or the agency has no beneficiary account"},
    502: {"description": "the payment platform refused or failed"},
}


class FeeLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    noi_dung: str = Field(
        min_length=1, max_length=500, pattern=r"^[^|]+$", examples=["Lệ phí đăng ký khai sinh"]
    )
    so_tien: int = Field(strict=True, gt=0, le=10**12, description="VND, integer", examples=[50000])
    loai: Literal["phi", "le_phi"] = Field(
        "le_phi", description="a fee (phí) or a charge (lệ phí): the receipt's LoaiPhiLePhi"
    )
    ma: Code | None = Field(
        None,
        description="the fee's code (MaPhiLePhi); the public service's code when absent, as "
        "PASETO sends it",
    )


class Payer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ho_va_ten: str = Field(
        min_length=1, max_length=128, pattern=r"^[^|]+$", examples=["Nguyễn Văn An"]
    )
    so_dinh_danh: SoDinhDanh | None = None
    dia_chi: str | None = Field(
        None, max_length=500, pattern=r"^[^|]*$", description="printed on the receipt"
    )


class CreatePayment(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ma_ho_so": "000.00.01.H22-240105-0001",
                    "ma_tthc": "1.001776",
                    "ma_dvc": "000.00.01.H22",
                    "payer": {"ho_va_ten": "Nguyễn Thị Lan"},
                    "fee_lines": [
                        {"noi_dung": "Lệ phí giải quyết thủ tục hành chính", "so_tien": 50000}
                    ],
                    "return_url": "https://motcua.example/ho-so/1",
                }
            ]
        },
    )

    ma_ho_so: Code = Field(examples=["000.00.01.H22-240105-0007"])
    ma_tthc: Code = Field(examples=["1.001776"])
    ten_tthc: str | None = Field(
        None,
        max_length=500,
        pattern=r"^[^|]*$",
        description="the procedure's name (TenTTHC, TenDVC on the receipt)",
        examples=["Đăng ký khai sinh"],
    )
    ma_dich_vu_cong: Code | None = Field(
        None,
        description="the public service's code on the national portal (MaDVC on the "
        'receipt); "{ma_tthc}.01" when absent, as PASETO builds it',
    )
    ma_dvc: Code = Field(
        description="the agency's code (MaDonVi on the receipt); it must have a configured "
        "beneficiary account",
        examples=["000.00.01.H22"],
    )
    ten_don_vi: str | None = Field(
        None, max_length=500, pattern=r"^[^|]*$", description="the agency's name (TenDonVi)"
    )
    fee_lines: list[FeeLineIn] = Field(min_length=1, max_length=50)
    payer: Payer
    return_url: str = Field(
        max_length=2048, pattern=r"^https?://\S+$", examples=["https://motcua.example/ho-so/7"]
    )


class PaymentCreated(BaseModel):
    payment_id: str
    status: str
    amount: int
    payment_url: str | None


PaymentStatus = Literal[
    "pending", "paid", "failed", "cancelled", "expired", "refund_requested", "refunded"
]
"""A payment's status (:data:`connectors.payment.status.STATUSES`)."""
RefundStatus = Literal["requested", "completed", "rejected"]
Instant = Annotated[
    str, Field(description="ISO 8601, UTC", examples=["2024-01-05T02:15:02.123456Z"])
]


class FeeLineView(BaseModel):
    noi_dung: str = Field(examples=["Lệ phí đăng ký khai sinh"])
    so_tien: int = Field(description="VND", examples=[50000])


class TransitionView(BaseModel):
    from_status: PaymentStatus | None = Field(description="None: the creation")
    to_status: PaymentStatus
    source: str = Field(
        description="what moved it: api, callback, poller (the platform's QUERY), or a "
        "refund's decision",
        examples=["callback"],
    )
    ma_giao_dich: str | None = Field(description="the platform's transaction id, if it said")
    detail: str | None
    at: Instant


class RefundView(BaseModel):
    """A refund of (part of) a payment."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "refund_id": "b2c4e1f0-5d3a-4c7b-9e8f-1a2b3c4d5e6f",
                    "payment_id": "3f0b6d2e-8a51-4c8e-9d7a-0c6a1f2b9e41",
                    "amount": 8000,
                    "reason": "Nộp thừa phí cấp bản sao",
                    "status": "requested",
                    "requested_by": "motcua",
                    "requested_at": "2024-01-06T03:00:00Z",
                    "reference": None,
                    "decided_at": None,
                    "decided_by": None,
                    "note": None,
                }
            ]
        }
    )

    refund_id: str = Field(description="the refund's id (UUID)")
    payment_id: str = Field(description="the payment's id (UUID)")
    amount: int = Field(description="VND")
    reason: str
    status: RefundStatus
    requested_by: str = Field(description="the API client that asked for it")
    requested_at: Instant
    reference: str | None = Field(description="the bank or treasury reference, once completed")
    decided_at: str | None = Field(description="ISO 8601, UTC; None until decided")
    decided_by: str | None = Field(description="the API client that decided it")
    note: str | None = Field(description="why it was rejected")


class RefundListing(BaseModel):
    """A payment's refunds, oldest first, and its refund figures (VND)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "3f0b6d2e-8a51-4c8e-9d7a-0c6a1f2b9e41",
                    "payment_status": "paid",
                    "paid": 58000,
                    "refunded": 0,
                    "pending": 0,
                    "refundable": 58000,
                    "refunds": [],
                }
            ]
        }
    )

    payment_id: str
    payment_status: PaymentStatus
    paid: int = Field(description="what was paid (0 until paid)")
    refunded: int = Field(description="what the completed refunds returned")
    pending: int = Field(description="what the requested refunds ask for")
    refundable: int = Field(description="what may still be requested (0 unless paid)")
    refunds: list[RefundView]


class PaymentView(BaseModel):
    """A payment, its status transitions and its refunds, oldest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "3f0b6d2e-8a51-4c8e-9d7a-0c6a1f2b9e41",
                    "ma_tham_chieu": "3f0b6d2e8a514c8e9d7a0c6a1f2b9e41",
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                    "ma_tthc": "1.001776",
                    "ma_dvc": "000.00.01.H22",
                    "fee_lines": [{"noi_dung": "Lệ phí đăng ký khai sinh", "so_tien": 50000}],
                    "amount": 50000,
                    "currency": "VND",
                    "status": "paid",
                    "payment_url": "https://thanhtoan.dichvucong.gov.vn/pay/3f0b6d2e",
                    "return_url": "https://motcua.example/ho-so/7",
                    "ma_giao_dich": "GD240105000123",
                    "created_at": "2024-01-05T02:10:00Z",
                    "updated_at": "2024-01-05T02:15:02Z",
                    "paid_at": "2024-01-05T02:15:02Z",
                    "transitions": [
                        {
                            "from_status": None,
                            "to_status": "pending",
                            "source": "api",
                            "ma_giao_dich": None,
                            "detail": None,
                            "at": "2024-01-05T02:10:00Z",
                        },
                        {
                            "from_status": "pending",
                            "to_status": "paid",
                            "source": "callback",
                            "ma_giao_dich": "GD240105000123",
                            "detail": None,
                            "at": "2024-01-05T02:15:02Z",
                        },
                    ],
                    "refunds": [],
                    "refundable": 50000,
                }
            ]
        }
    )

    payment_id: str = Field(description="the gateway's payment id (UUID)")
    ma_tham_chieu: str = Field(description="the reference sent to the platform (MaThamChieu)")
    ma_ho_so: str
    ma_tthc: str
    ma_dvc: str = Field(description="the agency's code")
    fee_lines: list[FeeLineView]
    amount: int = Field(description="VND, the fee lines' sum")
    currency: str = Field(examples=["VND"])
    status: PaymentStatus
    payment_url: str | None = Field(description="where the citizen pays, while it may be paid")
    return_url: str
    ma_giao_dich: str | None = Field(description="the platform's transaction id, once paid")
    created_at: Instant
    updated_at: Instant
    paid_at: str | None = Field(description="ISO 8601, UTC; None until paid")
    transitions: list[TransitionView]
    refunds: list[RefundView]
    refundable: int = Field(description="VND that may still be refunded")


class PaymentFinding(BaseModel):
    kind: Kind
    ma_tham_chieu: str = Field(description="the reference (MaThamChieu)")
    ma_giao_dich: str = Field(description="the platform's transaction id (MaGiaoDich)")
    payment_id: str | None = Field(description="the payment's id here, if any")
    our_amount: int | None
    their_amount: int | None
    our_status: str | None
    their_status: str | None
    detail: str


class PaymentReconciliation(BaseModel):
    """A day's reconciliation: ``ok`` only when nothing differs."""

    model_config = ConfigDict(json_schema_extra={"examples": [report_example(our_status="paid")]})

    date: str = Field(description="the day (YYYY-MM-DD, Việt Nam time)")
    ok: bool = Field(description="nothing differs")
    matched: int = Field(description="how many matched on both sides")
    totals: Totals
    counts: FindingCounts = Field(description="findings per kind")
    findings: list[PaymentFinding]


def init_packet(
    body: CreatePayment, beneficiary: Beneficiary, ma_tham_chieu: str, amount: int, ip: str
) -> wire.InitRequest:
    """The INIT of ``body``'s payment, every receipt field the public senders send filled in
    (PASETO ``DvcPaymentService.InitPayment``: one DSKhoanNop line per fee line; the
    transaction text is also the receipt's NoiDungThanhToan)."""
    what = f"Thanh toan phi, le phi ho so {body.ma_ho_so}"
    service = body.ma_dich_vu_cong or f"{body.ma_tthc}.01"
    name = body.ten_tthc or ""
    payer = body.payer
    return wire.InitRequest(
        MaThamChieu=ma_tham_chieu,
        SoTien=str(amount),
        ThongTinGiaoDich=what,
        ThoiGianGD=wire.wire_time(utcnow()),
        Ip=ip,
        ThongTinBienLai=wire.ThongTinBienLai(
            MaDVC=service,
            TenDVC=name,
            MaTTHC=body.ma_tthc,
            TenTTHC=name,
            MaDonVi=body.ma_dvc,
            TenDonVi=body.ten_don_vi or "",
            MaHoSo=body.ma_ho_so,
            TKThuHuong=beneficiary.account,
            MaNHThuHuong=beneficiary.bank,
            TenTKThuHuong=beneficiary.name,
            NoiDungThanhToan=what,
            HoTenNguoiNop=payer.ho_va_ten,
            SoCMNDNguoiNop=payer.so_dinh_danh or "",
            DiaChiNguoiNop=payer.dia_chi or "",
            PhiLePhi=[
                wire.PhiLePhiLine(
                    LoaiPhiLePhi="1" if line.loai == "phi" else "2",
                    MaPhiLePhi=line.ma or service,
                    TenPhiLePhi=line.noi_dung,
                    SoTien=str(line.so_tien),
                )
                for line in body.fee_lines
            ],
            DSKhoanNop=[
                wire.KhoanNopLine(NoiDung=line.noi_dung, SoTien=str(line.so_tien))
                for line in body.fee_lines
            ],
        ),
    )


def connector_of(gw: Gateway) -> PaymentConnector:
    connector = gw.connector(SLUG)
    assert isinstance(connector, PaymentConnector)
    return connector


def _ip(request: Request) -> str:
    host = request.client.host if request.client is not None else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return "127.0.0.1"


@router.post(
    "/v1/payments",
    status_code=201,
    responses={200: {"model": PaymentCreated, "description": "created before"}, **REFUSALS},
    operation_id="payments-create",
)
async def create_payment(
    body: CreatePayment, request: Request, response: Response, gw: GatewayDep, client: Creator
) -> PaymentCreated:
    """Create the payment of a dossier's fees (idempotent per dossier and fee set)."""
    connector = connector_of(gw)
    beneficiary = connector.config.beneficiaries.get(body.ma_dvc)
    if beneficiary is None:
        raise InvalidInput(
            f"no beneficiary account is configured for the agency {body.ma_dvc}",
            errors=[FieldError("ma_dvc", "no beneficiary account is configured for it")],
        )
    total = sum(line.so_tien for line in body.fee_lines)
    if total > 10**15:
        raise InvalidInput("the total is too large", errors=[FieldError("fee_lines", "total")])
    ip = _ip(request)

    async def init(ma_tham_chieu: str, amount: int) -> str:
        packet = init_packet(body, beneficiary, ma_tham_chieu, amount, ip)
        answer = await connector.client.init(packet)
        return answer.message.UrlThanhToan

    created = await payments.create(
        gw,
        client=client.name,
        ma_ho_so=body.ma_ho_so,
        ma_tthc=body.ma_tthc,
        agency=body.ma_dvc,
        lines=[payments.FeeLine(line.noi_dung, line.so_tien) for line in body.fee_lines],
        return_url=body.return_url,
        init=init,
        request_body=getattr(request.state, "raw_body", b""),
    )
    if not created.created:
        response.status_code = 200
    view = created.payment
    return PaymentCreated(
        payment_id=view["payment_id"],
        status=view["status"],
        amount=view["amount"],
        payment_url=view["payment_url"],
    )


@router.get(
    "/v1/payments/reconciliation",
    responses={
        200: {
            "model": PaymentReconciliation,
            "content": {"text/csv": {}},
            "description": "the report (JSON, or CSV)",
        },
        502: {"description": "the payment platform refused or failed"},
    },
    response_model=None,
    operation_id="payments-reconciliation",
)
async def payment_reconciliation(
    gw: GatewayDep,
    _client: Reader,
    day: Annotated[
        date,
        Query(alias="date", description="YYYY-MM-DD, Việt Nam time", ge=FIRST_DAY, le=LAST_DAY),
    ],
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """The platform's statement of a day against the payments settled here that day:
    findings (missing on either side, amount or status differences, duplicates), totals per
    side, and ``ok`` only when nothing differs."""
    statement = await connector_of(gw).client.statement(day)
    report = await reconciliation.reconcile(gw.db, statement, day=day)
    if format == "csv":
        return csv_attachment(
            reconciliation.report_csv(report), f"reconciliation-{day.isoformat()}.csv"
        )
    return report.as_dict()


@router.get(
    "/v1/payments/{payment_id}",
    response_model=None,
    responses={200: {"model": PaymentView, "description": "the payment"}},
    operation_id="payments-get",
)
async def get_payment(payment_id: PaymentId, gw: GatewayDep, _client: Reader) -> dict[str, Any]:
    """The payment, its status transitions and its refunds, oldest first."""
    view = await payments.get(gw, payment_id)
    refunds = await payments_refunds.listing(gw, payment_id)
    view["refunds"] = refunds["refunds"]
    view["refundable"] = refunds["refundable"]
    return view


# --- refunds (see connectors.payment.refunds) ----------------------------------------------

RefundId = Annotated[str, Path(max_length=36, description="the refund's id (UUID)")]
REFUND_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such payment, or no such refund of it"},
    409: {"description": "the payment is not paid, or the refund was already decided"},
    422: {"description": "a field is invalid, or the amount exceeds what may be refunded"},
}


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(strict=True, gt=0, le=10**15, description="VND, integer", examples=[8000])
    reason: str = Field(min_length=1, max_length=2000, examples=["Nộp thừa phí cấp bản sao"])


class RefundCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(
        min_length=1, max_length=128, description="the bank or treasury reference"
    )


class RefundRejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000)


@router.post(
    "/v1/payments/{payment_id}/refunds",
    status_code=201,
    response_model=None,
    responses={201: {"model": RefundView, "description": "requested"}, **REFUND_REFUSALS},
    operation_id="payments-refund-request",
)
async def request_refund(
    payment_id: PaymentId, body: RefundIn, request: Request, gw: GatewayDep, client: Creator
) -> Any:
    """Request the refund of (part of) a paid payment; the refunds not rejected never total
    more than was paid. Honours ``Idempotency-Key``."""
    key, replay = await reserve_key(request, gw, client)
    if replay is not None:
        return replay
    try:
        return await payments_refunds.request(
            gw,
            payment_id,
            amount=body.amount,
            reason=body.reason,
            client=client.name,
            idempotency_key=key,
        )
    except BaseException:
        if key is not None:
            await idempotency.release(gw.db, client=client.name, key=key)
        raise


@router.get(
    "/v1/payments/{payment_id}/refunds",
    response_model=None,
    responses={
        200: {"model": RefundListing, "description": "the refunds"},
        404: {"description": "no such payment"},
    },
    operation_id="payments-refund-list",
)
async def list_refunds(payment_id: PaymentId, gw: GatewayDep, _client: Reader) -> dict[str, Any]:
    """The payment's refunds, oldest first, with what was refunded, is pending, and may
    still be requested."""
    return await payments_refunds.listing(gw, payment_id)


@router.post(
    "/v1/payments/{payment_id}/refunds/{refund_id}/complete",
    response_model=None,
    responses={200: {"model": RefundView, "description": "completed"}, **REFUND_REFUSALS},
    operation_id="payments-refund-complete",
)
async def complete_refund(
    payment_id: PaymentId,
    refund_id: RefundId,
    body: RefundCompleteIn,
    gw: GatewayDep,
    client: Creator,
) -> dict[str, Any]:
    """Record a requested refund as carried out, with its bank or treasury reference."""
    return await payments_refunds.decide(
        gw,
        payment_id,
        refund_id,
        outcome="completed",
        client=client.name,
        reference=body.reference,
    )


@router.post(
    "/v1/payments/{payment_id}/refunds/{refund_id}/reject",
    response_model=None,
    responses={200: {"model": RefundView, "description": "rejected"}, **REFUND_REFUSALS},
    operation_id="payments-refund-reject",
)
async def reject_refund(
    payment_id: PaymentId,
    refund_id: RefundId,
    body: RefundRejectIn,
    gw: GatewayDep,
    client: Creator,
) -> dict[str, Any]:
    """Record a requested refund as rejected, with a note."""
    return await payments_refunds.decide(
        gw, payment_id, refund_id, outcome="rejected", client=client.name, note=body.note
    )
