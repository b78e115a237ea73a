"""What the platform sends the gateway outside a request of ours: callbacks and bill look-ups.

* :meth:`InboundPackets.verify_callback`: a callback (a payment's outcome), and
  :meth:`InboundPackets.callback_ack`, its acknowledgement in the public form.
* :meth:`InboundPackets.verify_bill_request` and :meth:`InboundPackets.bill_answer`: the
  portal asks what a dossier owes (``MaHoSo``) and is answered with its unpaid bills, signed.
  The request and answer forms are this project's profile (``BILL_FIELDS``,
  ``BILL_ANSWER_FIELDS``): the reference names the look-up and the bill's fields, not its
  envelope.

Contracts for everything inbound: bounded (:data:`MAX_CALLBACK_BYTES`) and refused unread
beyond; a JSON object with no repeated field; the checksum verified in constant time over the
signed fields, read as sent, before the packet is validated as a model; then its
``ThoiGianGD`` no further from now than ``callback_tolerance_seconds`` either way (a late or
replayed packet is :class:`CallbackStale`). Any failure is :class:`CallbackRejected`, whose
detail names no secret and no expected checksum.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from connectors.payment.checksum import (
    BILL_ANSWER_FIELDS,
    BILL_FIELDS,
    CALLBACK_FIELDS,
    Checksum,
)
from connectors.payment.config import PaymentConfig
from connectors.payment.errors import CallbackRejected, CallbackStale
from gateway.core.errors import FieldError
from gateway.core.validation import field_errors
from schemas import payment as wire

__all__ = ["MAX_CALLBACK_BYTES", "NOTHING_TO_PAY", "InboundPackets"]

#: a callback or a bill look-up is a few hundred bytes; anything much larger is refused unread
MAX_CALLBACK_BYTES = 16 * 1024
NOTHING_TO_PAY = "Hồ sơ không có khoản phải nộp"
OWES = "Hồ sơ có khoản phí, lệ phí chưa nộp"

M = TypeVar("M", bound=BaseModel)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class InboundPackets:
    """Checks what the platform sends and signs what the gateway answers it."""

    def __init__(
        self, config: PaymentConfig, checksum: Checksum, clock: Callable[[], datetime]
    ) -> None:
        self._config = config
        self._checksum = checksum
        self._clock = clock

    def verify_callback(self, body: bytes) -> wire.Callback:
        """The callback in ``body``, once its checksum and time are verified."""
        callback = self._verified(body, wire.Callback, CALLBACK_FIELDS, "callback")
        self._check_fresh(callback.ThoiGianGD, "callback")
        return callback

    def callback_ack(self, callback: wire.Callback) -> dict[str, str]:
        """What the gateway answers a callback it has taken (applied, or a duplicate): OpenCPS's
        ``PayGateUtil.createResponseMessage("00", "Thành công", MaDoiTac, MaThamChieu,
        ThoiGianGD, MaXacThuc)``, the callback's own checksum echoed as OpenCPS and PASETO
        echo it."""
        ack = wire.CallbackAck(
            MaLoi="00",
            MoTaLoi="Thành công",
            MaDoiTac=self._config.ma_doi_tac,
            MaThamChieu=callback.MaThamChieu,
            ThoiGianGD=callback.ThoiGianGD,
            MaXacThuc=callback.MaXacThuc,
        )
        return ack.model_dump(mode="json")

    def verify_bill_request(self, body: bytes) -> wire.BillRequest:
        """The portal's bill look-up in ``body``, once its checksum and time are verified, and
        only when it names this gateway's partner code."""
        request = self._verified(body, wire.BillRequest, BILL_FIELDS, "bill look-up")
        self._check_fresh(request.ThoiGianGD, "bill look-up")
        if request.MaDoiTac != self._config.ma_doi_tac:
            raise CallbackRejected(
                "the bill look-up is for another partner",
                errors=[FieldError("MaDoiTac", "not the gateway's partner code")],
            )
        return request

    def bill_answer(self, ma_ho_so: str, bills: Sequence[wire.Bill]) -> dict[str, Any]:
        """The signed answer to a bill look-up: ``bills`` (none: "nothing to pay")."""
        answer = wire.BillAnswer(
            MaDoiTac=self._config.ma_doi_tac,
            MaHoSo=ma_ho_so,
            SoHoaDon=len(bills),
            TongTien=sum(bill.SoTien for bill in bills),
            ThoiGianGD=wire.wire_time(self._clock()),
            ThongBao=OWES if bills else NOTHING_TO_PAY,
            HoaDon=list(bills),
        )
        body = answer.model_dump(mode="json")
        body["MaXacThuc"] = self._checksum.sign(body, BILL_ANSWER_FIELDS)
        return body

    # --- internals ---------------------------------------------------------------------------

    def _verified(self, body: bytes, model: type[M], fields: Sequence[str], what: str) -> M:
        if len(body) > MAX_CALLBACK_BYTES:
            raise CallbackRejected(f"the {what} is larger than any {what} can be")
        try:
            raw = json.loads(body, object_pairs_hook=_no_duplicates)
        except _DuplicateKey:
            raise CallbackRejected(f"the {what} repeats a field") from None
        except ValueError:
            raise CallbackRejected(f"the {what} is not JSON") from None
        if not isinstance(raw, dict):
            raise CallbackRejected(f"the {what} is not a JSON object")
        if not self._checksum.verify(raw, fields, raw.get("MaXacThuc")):
            raise CallbackRejected(f"the {what}'s checksum (MaXacThuc) does not verify")
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise CallbackRejected(
                f"the {what} breaks its schema: {errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None

    def _check_fresh(self, thoi_gian_gd: str, what: str) -> None:
        try:
            at = wire.parse_wire_time(thoi_gian_gd)
        except ValueError:
            raise CallbackRejected(
                f"the {what}'s ThoiGianGD is no real moment",
                errors=[FieldError("ThoiGianGD", "not a valid yyyyMMddHHmmss time")],
            ) from None
        drift = (self._clock() - at).total_seconds()
        tolerance = self._config.callback_tolerance_seconds
        if abs(drift) > tolerance:
            when = "old" if drift > 0 else "in the future"
            raise CallbackStale(
                f"the {what} is {abs(int(drift))} s {when}; at most {tolerance} s is accepted",
                errors=[FieldError("ThoiGianGD", f"more than {tolerance} s from now")],
            )
