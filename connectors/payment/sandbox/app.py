"""A simulator of the DVCQG online payment platform: an ASGI app modelled on the public record.

It plays the platform in tests, demos and benchmarks (what the public callers send and read is
in ``tests/golden/payment/SOURCES.md``; this module's own vocabulary is :mod:`.wire`). Paths
are relative; the app is meant to be mounted (e.g. under ``/payment``) and the mount is kept in
the URLs it hands out.

* ``POST /init`` takes an INIT packet (version 1.0.6) as PASETO or OpenCPS sends it (``SoTien``
  a string of digits or an integer; ``ThongTinBienLai.MaDichVu`` 2 or "2"; fields it does not
  know ignored) and answers, in the ``message_string`` style (default), ``{"error_code": "0",
  "message": "<JSON text {UrlThanhToan, MaThamChieu}>"}`` as PASETO reads it, or in the
  ``flat`` style ``{"MaLoi": "00", "MoTaLoi", "UrlThanhToan", "MaThamChieu"}`` as OpenCPS
  reads it (``PUT /_sandbox/profile {"init_answer": ...}``). A packet is checked in this
  order: not a JSON object, MaDoiTac not a string -> ``04``; MaDoiTac not the configured
  partner -> ``02``; a signed field missing or of the wrong type -> ``04``; MaXacThuc wrong ->
  ``01`` (compared in constant time, over the values as sent); LoaiBanTin/PhienBan/
  LoaiHinhThanhToan/MaTienTe not INIT/1.0.6/PAY/VND, ThoiGianGD not yyyyMMddHHmmss,
  ThongTinBienLai without MaDichVu 2 or a mandatory field (MaDVC, MaTTHC, MaHoSo, TKThuHuong,
  MaNHThuHuong, TenTKThuHuong), its DSKhoanNop amounts not adding up to SoTien -> ``04``;
  MaThamChieu already used with different content -> ``03``. The same content again
  (MaXacThuc, ThoiGianGD, Ip and MaThietBi aside) answers the same URL.
* ``GET /pay/{token}`` is the payment page (HTML) with buttons to pay, fail or cancel
  (``POST /pay/{token}`` with the form field ``action``).
* ``POST /query`` takes a QUERY packet and answers flat, as PASETO's
  ``ConfirmDvcPaymentResponse`` reads it: ``{"MaLoi": "00", "MoTaLoi", "MaDoiTac",
  "MaThamChieu", "SoTien", "MaTienTe", "MaGiaoDich", "MaNganHang", "ThoiGianGD",
  "ThongTinGiaoDich", "TrangThaiGD", "LoaiBanTin"}`` (TrangThaiGD "1" paid, "3" pending, "4"
  failed, cancelled or expired); refusals ``{"MaLoi": code, "MoTaLoi": text}``: ``02``/``04``/
  ``01`` as above, ``14`` for an unknown MaThamChieu.
* ``GET /statement?Ngay=yyyyMMdd&MaDoiTac=..&MaXacThuc=..`` (checksum over Ngay|MaDoiTac)
  answers ``{"Ngay", "GiaoDich": [...]}``: the payments paid, failed or cancelled that day,
  with the discrepancies planted by ``FaultConfig.statement``; refusals answer
  ``{"error_code", "message"}``.

Refusals are HTTP 200 with ``{"error_code": code, "message": text}`` (INIT in the
``message_string`` style, the statement) or flat (above); bodies above
:data:`MAX_REQUEST_BYTES` are HTTP 413. Checksums: ``sha256`` hashes the fields joined by
``|`` with the secret last; ``hmac2`` is HMAC-SHA256 over the fields alone, keyed with
``send_key`` for what the partner sends and ``verify_key`` for the callbacks the platform
signs.

Not part of the platform, under ``/_sandbox``: ``POST /_sandbox/payments/{ref}/pay|fail|
cancel|expire`` moves a pending payment and answers the callback JSON the platform would POST
to the partner (the simulator delivers nothing itself), with the body options
``wrong_signature`` and ``altered_amount`` (a forged callback: the state does not change),
``replay_of`` (the callback numbered so in ``GET /_sandbox/callbacks``, verbatim) and ``at``
(the transaction time, to place it on another statement day, or to make a late callback);
``POST /_sandbox/bill-requests {MaHoSo, wrong_signature?, at?}`` answers the signed look-up
the portal would POST to ask what a dossier owes, and ``POST /_sandbox/bill-answers/{MaHoSo}``
checks the partner's answer as the portal would (``{valid, problems}``: checksum, totals, and
each bill against the payments created here); ``GET /_sandbox/callbacks``,
``GET /_sandbox/payments``, ``GET|PUT /_sandbox/faults``, ``POST /_sandbox/reset``,
``GET /_sandbox/stats``. All state lives in one :class:`PaymentSimulator` at
``app.state.sim``; handlers never await between reading and writing it.
"""

from __future__ import annotations

import asyncio
import html
import json
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from connectors.payment.sandbox.platform import (
    FaultConfig,
    InitAnswerStyle,
    Payment,
    PaymentSimulator,
    SimStats,
    StatementDiscrepancies,
)
from connectors.payment.sandbox.wire import (
    CALLBACK_FIELDS,
    INIT_FIELDS,
    QUERY_FIELDS,
    STATEMENT_FIELDS,
    Refusal,
    Status,
    Variant,
    checksum,
)
from gateway.core.http.simulators import BodyTooLarge, add_control_routes, count, read_body

__all__ = [
    "CALLBACK_FIELDS",
    "INIT_FIELDS",
    "MAX_REQUEST_BYTES",
    "QUERY_FIELDS",
    "STATEMENT_FIELDS",
    "CallbackOptions",
    "FaultConfig",
    "PaymentSimulator",
    "SimStats",
    "StatementDiscrepancies",
    "checksum",
    "create_app",
    "get_simulator",
]

MAX_REQUEST_BYTES = 64 * 1024
"""Request bodies above this are refused with HTTP 413 (an INIT is well under 4 KiB)."""

_ACTIONS: dict[str, Status] = {
    "pay": "paid",
    "fail": "failed",
    "cancel": "cancelled",
    "expire": "expired",
}


class CallbackOptions(BaseModel):
    """Options of ``POST /_sandbox/payments/{ref}/{action}`` (all optional)."""

    model_config = ConfigDict(extra="forbid")

    wrong_signature: bool = False
    altered_amount: int | None = Field(default=None, ge=0)
    replay_of: int | None = Field(default=None, ge=0)
    at: str | None = Field(default=None, pattern=r"^\d{14}$")


class BillRequestOptions(BaseModel):
    """Body of ``POST /_sandbox/bill-requests``."""

    model_config = ConfigDict(extra="forbid")

    MaHoSo: str = Field(min_length=1, max_length=64, pattern=r"^[^|\s]+$")
    wrong_signature: bool = False
    at: str | None = Field(default=None, pattern=r"^\d{14}$")


def get_simulator(app: FastAPI) -> PaymentSimulator:
    """The typed simulator behind an app made by :func:`create_app`."""
    sim = getattr(app.state, "sim", None)
    if not isinstance(sim, PaymentSimulator):
        raise TypeError("app.state.sim is not a PaymentSimulator")
    return sim


def _base_url(request: Request) -> str:
    # root_path holds the mount prefix (/payment); request.base_url would drop it
    path = request.scope.get("root_path", "")
    return str(request.url.replace(path=path, query="")).rstrip("/")


def _refused(sim: PaymentSimulator, refusal: Refusal, *, flat: bool = False) -> JSONResponse:
    """A refusal: ``{"error_code", "message"}``, or flat ``{"MaLoi", "MoTaLoi"}`` (QUERY, and
    INIT in the ``flat`` style)."""
    count(sim.stats.by_code, refusal.code)
    if flat:
        return JSONResponse({"MaLoi": refusal.code, "MoTaLoi": refusal.message})
    return JSONResponse({"error_code": refusal.code, "message": refusal.message})


class Profile(BaseModel):
    """Body of ``PUT /_sandbox/profile``: how the simulated platform answers INIT."""

    model_config = ConfigDict(extra="forbid")

    init_answer: InitAnswerStyle


def create_app(
    *,
    partner: str = "LGSP-SANDBOX",
    variant: Variant = "sha256",
    secret: str = "sandbox-payment-secret",  # noqa: S107 - the sandbox placeholder
    send_key: str = "sandbox-payment-send",
    verify_key: str = "sandbox-payment-verify",
    seed: int = 2024,
    init_answer: InitAnswerStyle = "message_string",
) -> FastAPI:
    """Build the simulator app; its state is ``app.state.sim`` (a :class:`PaymentSimulator`)."""
    sim = PaymentSimulator(
        partner=partner,
        variant=variant,
        secret=secret,
        send_key=send_key,
        verify_key=verify_key,
        seed=seed,
        init_answer=init_answer,
    )
    app = FastAPI(title="Nền tảng thanh toán DVCQG sandbox", docs_url=None, redoc_url=None)
    app.state.sim = sim

    async def faulted(*, flat: bool = False) -> Response | None:
        faults = sim.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sim.roll(faults.error_rate):
            return Response("Service Unavailable", status_code=503, headers={"Retry-After": "1"})
        if sim.roll(faults.system_error_rate):
            return _refused(sim, Refusal("99", "Lỗi hệ thống, vui lòng thử lại"), flat=flat)
        return None

    async def packet(request: Request, endpoint: str) -> Any:
        count(sim.stats.received, endpoint)
        try:
            raw = await read_body(request, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            sim.stats.too_large += 1
            raise HTTPException(413, f"the body is over {MAX_REQUEST_BYTES} bytes") from None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return None  # refused as "04" by the simulator

    @app.post("/init")
    async def init(request: Request) -> Response:
        flat = sim.init_answer == "flat"
        body = await packet(request, "init")
        fault = await faulted(flat=flat)
        if fault is not None:
            return fault
        try:
            payment = sim.init(body)
        except Refusal as refusal:
            return _refused(sim, refusal, flat=flat)
        count(sim.stats.by_code, "0")
        url = f"{_base_url(request)}/pay/{payment.token}"
        message = {"UrlThanhToan": url, "MaThamChieu": payment.ma_tham_chieu}
        if flat:
            return JSONResponse({"MaLoi": "00", "MoTaLoi": "Thành công", **message})
        # PASETO: JsonConvert.DeserializeObject<InitDvcPaymentResponse>(message): a JSON text
        text = json.dumps(message, ensure_ascii=False)
        return JSONResponse({"error_code": "0", "message": text})

    @app.post("/query")
    async def query(request: Request) -> Response:
        body = await packet(request, "query")
        fault = await faulted(flat=True)
        if fault is not None:
            return fault
        try:
            answer = sim.query(body)
        except Refusal as refusal:
            return _refused(sim, refusal, flat=True)
        count(sim.stats.by_code, "0")
        return JSONResponse(answer)

    @app.put("/_sandbox/profile")
    async def set_profile(profile: Profile) -> dict[str, Any]:
        """How INIT is answered from now on (``message_string`` or ``flat``)."""
        sim.init_answer = profile.init_answer
        return {"init_answer": sim.init_answer}

    @app.get("/statement")
    async def statement(request: Request) -> Response:
        count(sim.stats.received, "statement")
        fault = await faulted()
        if fault is not None:
            return fault
        params = request.query_params
        try:
            answer = sim.statement(
                params.get("Ngay"), params.get("MaDoiTac"), params.get("MaXacThuc")
            )
        except Refusal as refusal:
            return _refused(sim, refusal)
        count(sim.stats.by_code, "0")
        return JSONResponse(answer)

    def by_token(token: str) -> Payment:
        ref = sim.tokens.get(token)
        if ref is None:
            raise HTTPException(404, "no such payment")
        return sim.payments[ref]

    @app.get("/pay/{token}")
    async def page(token: str) -> HTMLResponse:
        return HTMLResponse(_page(by_token(token)))

    @app.post("/pay/{token}")
    async def page_action(token: str, request: Request) -> HTMLResponse:
        payment = by_token(token)
        raw = await read_body(request, 4096)
        action = parse_qs(raw.decode("utf-8", "replace")).get("action", [""])[0]
        if action not in ("pay", "fail", "cancel"):
            raise HTTPException(422, "action must be pay, fail or cancel")
        act(payment.ma_tham_chieu, action, CallbackOptions())
        return HTMLResponse(_page(payment))

    def act(ref: str, action: str, options: CallbackOptions) -> dict[str, Any]:
        payment = sim.payments.get(ref)
        if payment is None:
            raise HTTPException(404, "no payment with this MaThamChieu")
        if options.replay_of is not None:
            if options.replay_of >= len(sim.callbacks):
                raise HTTPException(404, "no callback with this number")
            original = sim.callbacks[options.replay_of]["callback"]
            return sim.log_callback(dict(original), "replay")
        status = _ACTIONS[action]
        if options.wrong_signature or options.altered_amount is not None:
            kind = "wrong_signature" if options.wrong_signature else "altered_amount"
            return sim.callback(
                payment,
                status=status,
                wrong_signature=options.wrong_signature,
                altered_amount=options.altered_amount,
                kind=kind,
            )
        try:
            sim.settle(ref, status, options.at)
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc
        return sim.callback(payment)

    @app.post("/_sandbox/payments/{ref}/{action}")
    async def admin_action(
        ref: str,
        action: Literal["pay", "fail", "cancel", "expire"],
        options: CallbackOptions | None = None,
    ) -> dict[str, Any]:
        return act(ref, action, options or CallbackOptions())

    @app.get("/_sandbox/payments")
    async def payments() -> list[dict[str, Any]]:
        return [payment.as_json() for payment in sim.payments.values()]

    @app.get("/_sandbox/callbacks")
    async def callbacks() -> list[dict[str, Any]]:
        """Every callback produced, oldest first: ``{seq, kind, callback}``."""
        return list(sim.callbacks)

    @app.post("/_sandbox/bill-requests")
    async def bill_request(options: BillRequestOptions) -> dict[str, Any]:
        """The signed look-up the portal would POST to the partner's bill endpoint."""
        return sim.bill_request(
            options.MaHoSo, wrong_signature=options.wrong_signature, at=options.at
        )

    @app.post("/_sandbox/bill-answers/{ma_ho_so}")
    async def bill_answer(ma_ho_so: str, request: Request) -> dict[str, Any]:
        """Check the partner's answer to a look-up of ``ma_ho_so`` as the portal would."""
        raw = await read_body(request, MAX_REQUEST_BYTES)
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            answer = None
        problems = sim.check_bill_answer(answer, ma_ho_so)
        return {"valid": not problems, "problems": problems}

    add_control_routes(app, sim, FaultConfig)

    return app


def _page(payment: Payment) -> str:
    ref = html.escape(payment.ma_tham_chieu)
    what = html.escape(str(payment.packet.get("ThongTinGiaoDich", "")))
    buttons = ""
    if payment.status == "pending":
        buttons = "".join(
            f'<button name="action" value="{action}">{label}</button>'
            for action, label in (("pay", "Thanh toán"), ("fail", "Lỗi"), ("cancel", "Hủy"))
        )
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        "<title>Thanh toán trực tuyến (sandbox)</title></head><body>"
        "<h1>Cổng thanh toán DVCQG (sandbox)</h1>"
        f"<p>Mã tham chiếu: <b>{ref}</b></p><p>Nội dung: {what}</p>"
        f"<p>Số tiền: <b>{payment.so_tien:,} VND</b></p>"
        f"<p>Trạng thái: <b>{payment.status}</b></p>"
        f'<form method="post">{buttons}</form></body></html>'
    )
