"""The payment-platform simulator's state and protocol logic, without HTTP.

:class:`PaymentSimulator` holds the partner it knows, the checksum variant and keys, the
payments created by INIT, every callback it produced, the fault configuration (statement
discrepancies included) and counters. It decides each packet's ``error_code`` in the order
documented in :mod:`connectors.payment.sandbox`, which serves it over HTTP.

The wire vocabulary (field orders, codes, checksum) is :mod:`connectors.payment.sandbox.wire`.
Money is ``int`` VND everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.payment.sandbox.wire import (
    BILL_ANSWER_FIELDS,
    BILL_FIELDS,
    BILL_LINE_FIELDS,
    CALLBACK_FIELDS,
    INIT_FIELDS,
    QUERY_FIELDS,
    RECEIPT_FIELDS,
    RECEIPT_PRESENT,
    STATUS_CODE,
    TRANG_THAI_GD,
    VOLATILE,
    MaLoi,
    Refusal,
    Status,
    Variant,
    amount_sent,
    checksum,
    now_text,
    text_field,
    timestamp_field,
)
from gateway.core.http.simulators import FaultDraws, count

#: how INIT is answered: ``message_string`` ``{"error_code": "0", "message": "<JSON text>"}``
#: (PASETO parses ``message`` again), or ``flat`` ``{"MaLoi": "00", "MoTaLoi", "UrlThanhToan",
#: ...}`` (OpenCPS reads a top-level MaLoi)
InitAnswerStyle = Literal["message_string", "flat"]

__all__ = [
    "FaultConfig",
    "InitAnswerStyle",
    "Payment",
    "PaymentSimulator",
    "SimStats",
    "StatementDiscrepancies",
]


class StatementDiscrepancies(BaseModel):
    """Differences planted in ``GET /statement`` (keys are MaThamChieu of that day's
    transactions; a key not in the statement is ignored): ``omit`` leaves transactions out;
    ``extra`` adds that many transactions the partner never created (MaThamChieu
    ``SBX-EXTRA-<Ngay>-<n>``); ``amount_delta`` adds an int (VND, may be negative) to a
    transaction's SoTien; ``duplicate`` lists a transaction twice; ``status`` reports a
    different MaLoi."""

    model_config = ConfigDict(extra="forbid")

    omit: list[str] = Field(default_factory=list, max_length=1000)
    extra: int = Field(default=0, ge=0, le=1000)
    amount_delta: dict[str, int] = Field(default_factory=dict)
    duplicate: list[str] = Field(default_factory=list, max_length=1000)
    status: dict[str, MaLoi] = Field(default_factory=dict)


class FaultConfig(BaseModel):
    """Faults for ``POST /init``, ``POST /query`` and ``GET /statement``; rates are
    per-request probabilities in 0..1 drawn from a seeded generator (``seed`` re-seeds it).
    ``latency_ms`` delays every such request; ``error_rate`` answers HTTP 503 (plain text,
    ``Retry-After: 1``); ``system_error_rate`` answers ``error_code`` "99" (nothing stored).
    ``statement`` plants reconciliation differences (:class:`StatementDiscrepancies`)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0, le=60_000)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    system_error_rate: float = Field(default=0.0, ge=0, le=1)
    statement: StatementDiscrepancies = Field(default_factory=StatementDiscrepancies)
    seed: int | None = None


@dataclass
class SimStats:
    """Counters: ``received`` by endpoint (init, query, statement); ``by_code`` the answers
    by error_code; ``faults_injected`` the 503s and 99s; ``callbacks`` by kind; ``too_large``
    the 413s."""

    received: dict[str, int] = field(default_factory=dict)
    by_code: dict[str, int] = field(default_factory=dict)
    callbacks: dict[str, int] = field(default_factory=dict)
    faults_injected: int = 0
    too_large: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": dict(self.received),
            "by_code": dict(self.by_code),
            "callbacks": dict(self.callbacks),
            "faults_injected": self.faults_injected,
            "too_large": self.too_large,
        }


@dataclass
class Payment:
    """A payment the platform created from an INIT packet."""

    ma_tham_chieu: str
    token: str
    so_tien: int
    packet: dict[str, Any]
    content: str
    created: str
    status: Status = "pending"
    ma_giao_dich: str = ""
    thoi_gian_gd: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "MaThamChieu": self.ma_tham_chieu,
            "token": self.token,
            "status": self.status,
            "MaLoi": STATUS_CODE[self.status],
            "SoTien": self.so_tien,
            "MaGiaoDich": self.ma_giao_dich,
            "ThoiGianGD": self.thoi_gian_gd,
            "created": self.created,
            "MaHoSo": self.packet["ThongTinBienLai"]["MaHoSo"],
        }


class PaymentSimulator(FaultDraws):
    """The simulated payment platform's state and protocol logic, independent of HTTP."""

    def __init__(
        self,
        *,
        partner: str = "LGSP-SANDBOX",
        variant: Variant = "sha256",
        secret: str = "sandbox-payment-secret",  # noqa: S107 - the sandbox placeholder
        send_key: str = "sandbox-payment-send",
        verify_key: str = "sandbox-payment-verify",
        seed: int = 2024,
        init_answer: InitAnswerStyle = "message_string",
    ) -> None:
        if variant not in ("sha256", "hmac2"):
            raise ValueError(f"unknown checksum variant {variant!r}")
        self.init_answer: InitAnswerStyle = init_answer
        self.partner = partner
        self.variant: Variant = variant
        self.secret = secret
        self.send_key = send_key
        self.verify_key = verify_key
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        """No payments, callbacks, counters or faults; the generator re-seeded."""
        self.payments: dict[str, Payment] = {}
        self.tokens: dict[str, str] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.transactions = 0
        self.stats = SimStats()
        self.faults = FaultConfig()
        self.rng = random.Random(self.seed)  # noqa: S311 - fault draws, not security

    def set_faults(self, config: FaultConfig) -> FaultConfig:
        if config.seed is not None:
            self.rng = random.Random(config.seed)  # noqa: S311 - fault draws, not security
        self.faults = config
        return config

    # --- checksums --------------------------------------------------------------------------

    def sign_inbound(self, values: list[str]) -> str:
        """MaXacThuc the partner must put on what it sends (INIT, QUERY, statement)."""
        return checksum(values, self.variant, secret=self.secret, key=self.send_key)

    def sign_outbound(self, values: list[str]) -> str:
        """MaXacThuc the platform puts on callbacks (hmac2: keyed with ``verify_key``)."""
        return checksum(values, self.variant, secret=self.secret, key=self.verify_key)

    def _verify(self, values: list[str], given: Any) -> None:
        expected = self.sign_inbound(values)
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Refusal("01", "MaXacThuc does not match")

    def _partner(self, value: Any) -> None:
        if not isinstance(value, str):
            raise Refusal("04", "MaDoiTac must be a string")
        if value != self.partner:
            raise Refusal("02", "MaDoiTac is not a known partner")

    # --- the protocol -----------------------------------------------------------------------

    def init(self, packet: Any) -> Payment:
        """Create (or, for the same content, find again) the payment an INIT asks for."""
        if not isinstance(packet, dict):
            raise Refusal("04", "the packet must be a JSON object")
        self._partner(packet.get("MaDoiTac"))
        so_tien, sent = amount_sent(packet.get("SoTien"), "SoTien")
        values = [sent if name == "SoTien" else text_field(packet, name) for name in INIT_FIELDS]
        self._verify(values, packet.get("MaXacThuc"))
        self._check_init(packet, so_tien)
        ref = packet["MaThamChieu"]
        content = json.dumps({k: v for k, v in packet.items() if k not in VOLATILE}, sort_keys=True)
        existing = self.payments.get(ref)
        if existing is not None:
            if not hmac.compare_digest(existing.content.encode(), content.encode()):
                raise Refusal("03", "MaThamChieu was already used for a different payment")
            return existing
        token = hashlib.sha256(f"{self.seed}|{self.partner}|{ref}".encode()).hexdigest()[:32]
        payment = Payment(ref, token, so_tien, packet, content, now_text())
        self.payments[ref] = payment
        self.tokens[token] = ref
        return payment

    def _check_init(self, packet: dict[str, Any], so_tien: int) -> None:
        expected = {"LoaiBanTin": "INIT", "PhienBan": "1.0.6", "LoaiHinhThanhToan": "PAY"}
        expected["MaTienTe"] = "VND"
        for name, value in expected.items():
            if packet[name] != value:
                raise Refusal("04", f"{name} must be {value}")
        ref = packet["MaThamChieu"]
        if not 0 < len(ref) <= 64:
            raise Refusal("04", "MaThamChieu must be 1 to 64 characters")
        timestamp_field(packet["ThoiGianGD"], "ThoiGianGD")
        receipt = packet.get("ThongTinBienLai")
        if not isinstance(receipt, dict):
            raise Refusal("04", "ThongTinBienLai must be an object")
        service = receipt.get("MaDichVu")
        # OpenCPS sends the number 2, PASETO the string "2": the service "fees" (phí, lệ phí)
        if str(service) != "2" or isinstance(service, bool):
            raise Refusal("04", "ThongTinBienLai.MaDichVu must be 2 (phí, lệ phí)")
        for name in RECEIPT_FIELDS:
            if not text_field(receipt, name):
                raise Refusal("04", f"ThongTinBienLai.{name} must not be empty")
        for name in RECEIPT_PRESENT:
            text_field(receipt, name, max_length=500)
        for name, value in receipt.items():
            if value is not None and not isinstance(value, str | int | list):
                raise Refusal("04", f"ThongTinBienLai.{name} must be a string")
        total = 0
        for line in self._lines(receipt, "DSKhoanNop", required=True):
            text_field(line, "NoiDung", max_length=500)
            total += amount_sent(line.get("SoTien"), "DSKhoanNop.SoTien")[0]
        if total != so_tien:
            raise Refusal("04", "the DSKhoanNop amounts do not add up to SoTien")
        for line in self._lines(receipt, "PhiLePhi", required=False):
            for name in ("LoaiPhiLePhi", "MaPhiLePhi", "TenPhiLePhi"):
                text_field(line, name, max_length=500)
            amount_sent(line.get("SoTien"), "PhiLePhi.SoTien")

    @staticmethod
    def _lines(receipt: dict[str, Any], name: str, *, required: bool) -> list[dict[str, Any]]:
        lines = receipt.get(name)
        if lines is None and not required:
            return []
        if not isinstance(lines, list) or (required and not lines) or len(lines) > 50:
            raise Refusal("04", f"ThongTinBienLai.{name} must be a list of 1 to 50 lines")
        if not all(isinstance(line, dict) for line in lines):
            raise Refusal("04", f"ThongTinBienLai.{name} lines must be objects")
        return lines

    def query(self, packet: Any) -> dict[str, Any]:
        """The flat QUERY answer for a payment (``MaLoi`` "00": answered; ``TrangThaiGD`` its
        state)."""
        if not isinstance(packet, dict):
            raise Refusal("04", "the packet must be a JSON object")
        self._partner(packet.get("MaDoiTac"))
        values = [text_field(packet, name) for name in QUERY_FIELDS]
        self._verify(values, packet.get("MaXacThuc"))
        if packet["LoaiBanTin"] != "QUERY":
            raise Refusal("04", "LoaiBanTin must be QUERY")
        payment = self.payments.get(packet["MaThamChieu"])
        if payment is None:
            raise Refusal("14", "no payment with this MaThamChieu")
        return {
            "LoaiBanTin": "QUERY",
            "MaLoi": "00",
            "MoTaLoi": "Thành công",
            "MaDoiTac": self.partner,
            "MaThamChieu": payment.ma_tham_chieu,
            "SoTien": payment.so_tien,
            "MaTienTe": "VND",
            "MaGiaoDich": payment.ma_giao_dich,
            "MaNganHang": self._bank(payment),
            "ThoiGianGD": payment.thoi_gian_gd,
            "ThongTinGiaoDich": payment.packet["ThongTinGiaoDich"],
            "TrangThaiGD": TRANG_THAI_GD[payment.status],
        }

    def statement(self, ngay: str | None, ma_doi_tac: str | None, given: str | None) -> Any:
        """The day's transactions (``{Ngay, GiaoDich}``), discrepancies planted."""
        if ngay is None or ma_doi_tac is None or given is None:
            raise Refusal("04", "Ngay, MaDoiTac and MaXacThuc are required")
        self._partner(ma_doi_tac)
        self._verify([ngay, ma_doi_tac], given)
        timestamp_field(ngay, "Ngay", "%Y%m%d")
        planted = self.faults.statement
        rows: list[dict[str, Any]] = []
        for payment in self.payments.values():
            if not payment.ma_giao_dich or payment.thoi_gian_gd[:8] != ngay:
                continue
            ref = payment.ma_tham_chieu
            if ref in planted.omit:
                continue
            row = {
                "MaGiaoDich": payment.ma_giao_dich,
                "MaThamChieu": ref,
                "SoTien": payment.so_tien + planted.amount_delta.get(ref, 0),
                "MaTienTe": "VND",
                "MaLoi": planted.status.get(ref, STATUS_CODE[payment.status]),
                "ThoiGianGD": payment.thoi_gian_gd,
            }
            rows.append(row)
            if ref in planted.duplicate:
                rows.append(dict(row))
        for n in range(1, planted.extra + 1):
            rows.append(
                {
                    "MaGiaoDich": f"SBXX{ngay}{n:06d}",
                    "MaThamChieu": f"SBX-EXTRA-{ngay}-{n}",
                    "SoTien": 10_000 * n,
                    "MaTienTe": "VND",
                    "MaLoi": "00",
                    "ThoiGianGD": f"{ngay}120000",
                }
            )
        return {"Ngay": ngay, "GiaoDich": rows}

    # --- callbacks --------------------------------------------------------------------------

    def _bank(self, payment: Payment) -> str:
        return str(payment.packet.get("MaNganHang") or "SBXBANK")

    def settle(self, ref: str, status: Status, at: str | None = None) -> Payment:
        """Move a pending payment to ``status`` (ValueError when it is not pending)."""
        payment = self.payments[ref]
        if payment.status != "pending":
            raise ValueError(f"the payment is {payment.status}, not pending")
        payment.status = status
        payment.thoi_gian_gd = at or now_text()
        if status != "expired":
            payment.ma_giao_dich = self._new_transaction()
        return payment

    def _new_transaction(self) -> str:
        self.transactions += 1
        return f"SBX{self.transactions:012d}"

    def callback(
        self,
        payment: Payment,
        *,
        status: Status | None = None,
        wrong_signature: bool = False,
        altered_amount: int | None = None,
        kind: str = "signed",
    ) -> dict[str, Any]:
        """The callback the platform sends for ``payment`` (``status`` overrides its own
        state, for forged ones), logged in :attr:`callbacks`."""
        body: dict[str, Any] = {
            "LoaiBanTin": "PAYMENT",
            "MaLoi": STATUS_CODE[status or payment.status],
            "MaDoiTac": self.partner,
            "MaThamChieu": payment.ma_tham_chieu,
            "SoTien": altered_amount if altered_amount is not None else payment.so_tien,
            "MaTienTe": "VND",
            "MaGiaoDich": payment.ma_giao_dich or self._new_transaction(),
            "MaNganHang": self._bank(payment),
            "ThoiGianGD": payment.thoi_gian_gd or now_text(),
            "ThongTinGiaoDich": payment.packet["ThongTinGiaoDich"],
        }
        signature = self.sign_outbound([str(body[name]) for name in CALLBACK_FIELDS])
        if wrong_signature:
            # same length and alphabet, different value: a forger without the key
            signature = hashlib.sha256(f"forged|{signature}".encode()).hexdigest()
        body["MaXacThuc"] = signature
        return self.log_callback(body, kind)

    def log_callback(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        self.callbacks.append({"seq": len(self.callbacks), "kind": kind, "callback": body})
        count(self.stats.callbacks, kind)
        return body

    # --- the portal's reverse look-up (what does a dossier owe?) ------------------------------

    def bill_request(
        self, ma_ho_so: str, *, wrong_signature: bool = False, at: str | None = None
    ) -> dict[str, Any]:
        """The signed look-up the portal POSTs to the partner for ``ma_ho_so``."""
        body: dict[str, Any] = {
            "LoaiBanTin": "BILL",
            "PhienBan": "1.0.6",
            "MaDoiTac": self.partner,
            "MaHoSo": ma_ho_so,
            "ThoiGianGD": at or now_text(),
        }
        signature = self.sign_outbound([str(body[name]) for name in BILL_FIELDS])
        if wrong_signature:
            signature = hashlib.sha256(f"forged|{signature}".encode()).hexdigest()
        body["MaXacThuc"] = signature
        count(self.stats.callbacks, "bill_request")
        return body

    def check_bill_answer(self, answer: Any, ma_ho_so: str) -> list[str]:
        """What is wrong with the partner's answer to a look-up of ``ma_ho_so`` (nothing: [])
        — its form, its checksum, its totals, and each bill against the payments created
        here: known, of this dossier, pending, and of the same amount."""
        if not isinstance(answer, dict) or answer.get("error_code") != "0":
            return ['error_code must be "0"']
        message = answer.get("message")
        if not isinstance(message, dict):
            return ["message must be an object"]
        problems: list[str] = []
        try:
            values = [str(message[name]) for name in BILL_ANSWER_FIELDS]
        except KeyError as exc:
            return [f"message.{exc.args[0]} is missing"]
        given = message.get("MaXacThuc")
        if not isinstance(given, str) or not hmac.compare_digest(
            given.encode(), self.sign_inbound(values).encode()
        ):
            problems.append("MaXacThuc does not match")
        if message.get("MaHoSo") != ma_ho_so or message.get("MaDoiTac") != self.partner:
            problems.append("MaHoSo or MaDoiTac is not the one asked about")
        bills = message.get("HoaDon")
        if not isinstance(bills, list) or message.get("SoHoaDon") != len(bills):
            return [*problems, "SoHoaDon must count HoaDon"]
        total = 0
        for index, bill in enumerate(bills):
            problems.extend(self._check_bill(index, bill, ma_ho_so))
            if isinstance(bill, dict) and type(bill.get("SoTien")) is int:
                total += bill["SoTien"]
        if message.get("TongTien") != total:
            problems.append("TongTien is not the sum of the bills")
        return problems

    def _check_bill(self, index: int, bill: Any, ma_ho_so: str) -> list[str]:
        where = f"HoaDon[{index}]"
        if not isinstance(bill, dict) or any(name not in bill for name in BILL_LINE_FIELDS):
            return [f"{where} lacks one of {', '.join(BILL_LINE_FIELDS)}"]
        payment = self.payments.get(str(bill["MaThamChieu"]))
        if payment is None:
            return [f"{where}: no payment has this MaThamChieu"]
        receipt = payment.packet["ThongTinBienLai"]
        problems = []
        if receipt["MaHoSo"] != ma_ho_so:
            problems.append(f"{where} is another dossier's payment")
        if payment.status != "pending":
            problems.append(f"{where} is {payment.status}, not owed")
        if bill["SoTien"] != payment.so_tien:
            problems.append(f"{where}.SoTien is not the amount of the payment")
        if bill["TKThuHuong"] != receipt["TKThuHuong"]:
            problems.append(f"{where}.TKThuHuong is not the payment's beneficiary account")
        return problems
