"""What the payment platform and the national portal send the gateway (no API key: the
checksum is their authenticity, verified in constant time before anything is read).

* ``POST /callbacks/payment/dvcqg``: a payment's outcome (:func:`connectors.payment.payments.
  apply_callback`). A callback taken (applied, or a duplicate) is answered as OpenCPS answers
  it: ``{"MaLoi": "00", "MoTaLoi": "Thành công", "MaDoiTac", "MaThamChieu", "ThoiGianGD",
  "MaXacThuc"}`` (the callback's checksum echoed).
* ``POST /callbacks/payment/dvcqg/bill``: the portal asks what a dossier (``MaHoSo``) owes;
  answered in the platform's form with the dossier's unpaid bills (service, procedure,
  beneficiary account and bank, fee lines) or "nothing to pay", signed
  (:class:`~connectors.payment.inbound.InboundPackets`), and logged as a ``callback`` entry.

A packet that is late or replayed (its ``ThoiGianGD`` beyond ``callback_tolerance_seconds``)
is refused like a forged one (401, ``payment-callback-stale``); the poller settles what such a
callback would have said. Every refusal is problem+json and a ``refusal`` entry in the exchange
log, with nothing changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from connectors.payment import payments
from connectors.payment.config import Beneficiary
from connectors.payment.errors import CallbackRejected
from connectors.payment.routes import connector_of
from gateway.core.errors import ConfigurationError, FieldError, GatewayError
from gateway.core.log.exchange_log import Crossing
from gateway.core.web.deps import GatewayDep
from gateway.core.web.errors import record_refusal
from schemas import payment as wire

router = APIRouter(tags=["payments"])

CALLBACK_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "the checksum (MaXacThuc) does not verify, the packet is too old, or "
        "it is no callback"
    },
    404: {"description": "no payment has this MaThamChieu"},
    409: {"description": "amount, currency or partner mismatch, or an impossible transition"},
    413: {"description": "the body is larger than the gateway accepts"},
    422: {"description": "the body is no UTF-8 JSON, or nested too deep (refused unread)"},
}
BILL_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "the checksum (MaXacThuc) does not verify, the look-up is too old, "
        "or it names another partner"
    },
    413: {"description": "the body is larger than the gateway accepts"},
    422: {"description": "the body is no UTF-8 JSON, or nested too deep (refused unread)"},
}


def _packet_body(model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    """The packet as ``openapi_extra``: the route reads it raw (its checksum is verified over
    what was sent before it is parsed with ``model``), so FastAPI would not show it."""
    schema = model.model_json_schema()
    amount = schema["properties"].get("SoTien")
    if amount is not None:  # read tolerantly: a JSON integer or a string of digits
        schema["properties"]["SoTien"] = {
            "title": amount.get("title", "SoTien"),
            "description": "VND: a JSON integer or a string of digits (the checksum covers it "
            "as sent)",
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": 10**15},
                {"type": "string", "pattern": r"^(0|[1-9][0-9]{0,14})$"},
            ],
        }
    return {
        "requestBody": {
            "required": True,
            "description": "the platform's packet, authenticated by its checksum (MaXacThuc)",
            "content": {
                "application/json": {"schema": schema, "examples": {"packet": {"value": example}}}
            },
        }
    }


CALLBACK_EXAMPLE: dict[str, Any] = {
    "LoaiBanTin": "CALLBACK",
    "MaLoi": "00",
    "MaDoiTac": "LGSP-H22",
    "MaThamChieu": "3f0b6d2e-8a51-4c8e-9d7a-0c6a1f2b9e41",
    "SoTien": "50000",
    "MaTienTe": "VND",
    "MaGiaoDich": "GD240105000123",
    "MaNganHang": "970436",
    "ThoiGianGD": "20240105091502",
    "ThongTinGiaoDich": "Thanh toan phi, le phi ho so 000.00.01.H22-240105-0007",
    "MaXacThuc": "9c1f0e5a2b7d4c8e6f3a1b0d9e8c7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e",
}
BILL_REQUEST_EXAMPLE: dict[str, Any] = {
    "LoaiBanTin": "BILL",
    "PhienBan": "1.0.0",
    "MaDoiTac": "LGSP-H22",
    "MaHoSo": "000.00.01.H22-240105-0007",
    "ThoiGianGD": "20240105091502",
    "MaXacThuc": "5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9c1f0e5a2b7d4c8e6f3a1b0d9e8c7f6a",
}


class BillLookupAnswer(BaseModel):
    """The answer to the portal's bill look-up, in the platform's envelope."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error_code": "0",
                    "message": {
                        "LoaiBanTin": "BILL",
                        "MaDoiTac": "LGSP-H22",
                        "MaHoSo": "000.00.01.H22-240105-0007",
                        "SoHoaDon": 0,
                        "TongTien": 0,
                        "ThoiGianGD": "20240105091503",
                        "ThongBao": "Hồ sơ không có khoản phải nộp",
                        "HoaDon": [],
                        "MaXacThuc": "0d1c2b3a4f5e6d7c" * 4,
                    },
                }
            ]
        }
    )

    error_code: Literal["0"] = Field(description='"0": answered')
    message: wire.BillAnswer = Field(
        description="the dossier's unpaid bills (none: nothing to pay), signed (MaXacThuc)"
    )


async def _refused(request: Request, exc: GatewayError) -> None:
    if exc.exchange_id is None:
        summary = exc.detail + "".join(f"; {e.loc}: {e.msg}" for e in exc.errors)
        exc.exchange_id = await record_refusal(request, exc.status, exc.type_slug, summary)


@router.post(
    "/callbacks/payment/dvcqg",
    response_model=None,
    responses={
        200: {
            "model": wire.CallbackAck,
            "description": "taken (applied, or a duplicate): MaLoi 00, the checksum echoed",
        },
        **CALLBACK_REFUSALS,
    },
    operation_id="payments-callback",
    openapi_extra=_packet_body(wire.Callback, CALLBACK_EXAMPLE),
)
async def payment_callback(request: Request, gw: GatewayDep) -> dict[str, str]:
    """The platform's notice of a payment's outcome (authenticated by its checksum)."""
    raw = await request.body()
    connector = connector_of(gw)
    try:
        try:
            callback = connector.client.verify_callback(raw)
        except CallbackRejected:
            payments.CALLBACKS.labels("rejected").inc()
            raise
        ack = connector.client.inbound.callback_ack(callback)
        await payments.apply_callback(
            gw,
            callback,
            ma_doi_tac=connector.config.ma_doi_tac,
            raw=raw,
            answer=json.dumps(ack, ensure_ascii=False).encode(),
        )
    except GatewayError as exc:
        await _refused(request, exc)
        raise
    return ack


@router.post(
    "/callbacks/payment/dvcqg/bill",
    response_model=None,
    responses={
        200: {"model": BillLookupAnswer, "description": "the dossier's unpaid bills"},
        **BILL_REFUSALS,
    },
    operation_id="payments-bill",
    openapi_extra=_packet_body(wire.BillRequest, BILL_REQUEST_EXAMPLE),
)
async def bill_lookup(request: Request, gw: GatewayDep) -> dict[str, Any]:
    """The portal's question: what does this dossier owe? (its unpaid bills, signed)."""
    raw = await request.body()
    connector = connector_of(gw)
    try:
        asked = connector.client.inbound.verify_bill_request(raw)
        bills = [
            _bill(connector.config.beneficiaries, view)
            for view in await payments.unpaid(gw, asked.MaHoSo)
        ]
        message = connector.client.inbound.bill_answer(asked.MaHoSo, bills)
        answer: dict[str, Any] = {"error_code": "0", "message": message}
    except GatewayError as exc:
        await _refused(request, exc)
        raise
    await gw.record(
        Crossing(
            kind="callback",
            connector=payments.CONNECTOR,
            operation="bill",
            outcome="answered",
            ma_ho_so=asked.MaHoSo,
            status_code=200,
            request=raw,
            response=json.dumps(answer, ensure_ascii=False).encode(),
            detail=f"{len(bills)} unpaid bill(s), {message['TongTien']} VND",
        )
    )
    return answer


def _bill(beneficiaries: Mapping[str, Beneficiary], view: dict[str, Any]) -> wire.Bill:
    beneficiary = beneficiaries.get(view["ma_dvc"])
    if beneficiary is None:
        # the agency's account was removed from the configuration after the payment was made
        raise ConfigurationError(
            f"no beneficiary account is configured any more for the agency {view['ma_dvc']}",
            errors=[FieldError("MaDVC", "a bill's agency has no beneficiary account")],
        )
    return wire.Bill(
        MaThamChieu=view["ma_tham_chieu"],
        MaDVC=view["ma_dvc"],
        MaTTHC=view["ma_tthc"],
        TKThuHuong=beneficiary.account,
        MaNHThuHuong=beneficiary.bank,
        TenTKThuHuong=beneficiary.name,
        SoTien=view["amount"],
        UrlThanhToan=view["payment_url"],
        ChiTiet=[
            wire.ChiTietBienLai(NoiDung=line["noi_dung"], SoTien=line["so_tien"])
            for line in view["fee_lines"]
        ],
    )
