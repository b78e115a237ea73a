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
from typing import Any

from fastapi import APIRouter, Request

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
}
BILL_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "the checksum (MaXacThuc) does not verify, the look-up is too old, "
        "or it names another partner"
    },
}


async def _refused(request: Request, exc: GatewayError) -> None:
    if exc.exchange_id is None:
        summary = exc.detail + "".join(f"; {e.loc}: {e.msg}" for e in exc.errors)
        exc.exchange_id = await record_refusal(request, exc.status, exc.type_slug, summary)


@router.post(
    "/callbacks/payment/dvcqg", responses=CALLBACK_REFUSALS, operation_id="payments-callback"
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


@router.post("/callbacks/payment/dvcqg/bill", responses=BILL_REFUSALS, operation_id="payments-bill")
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
