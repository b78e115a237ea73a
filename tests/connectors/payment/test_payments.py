"""The payment status machine, the fee-set digest, and a callback's event delivered to a
subscribed case system as a signed webhook."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.payment import payments
from gateway.core.errors import Conflict
from gateway.core.runtime import Gateway
from schemas.payment import Callback
from tests.core.test_events import Receiver, all_settled, drain, gw, receiver, subscribe

__all__ = ["gw", "receiver"]  # fixtures

ALL = payments.STATUSES
EXPECTED = {
    ("pending", "paid"),
    ("pending", "failed"),
    ("pending", "cancelled"),
    ("pending", "expired"),
    ("failed", "paid"),
    ("paid", "refund_requested"),
    ("refund_requested", "refunded"),
    ("refund_requested", "paid"),
}


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("new", ALL)
def test_only_the_allowed_transitions_pass(current: str, new: str) -> None:
    if (current, new) in EXPECTED:
        payments.check_transition(current, new)
        return
    with pytest.raises(payments.ImpossibleTransition) as caught:
        payments.check_transition(current, new)
    assert isinstance(caught.value, Conflict)
    assert caught.value.status == 409
    assert f"from {current} to {new}" in caught.value.detail


def test_callback_codes_map_to_statuses() -> None:
    assert payments.CALLBACK_STATUS == {
        "00": "paid",
        "02": "failed",
        "03": "cancelled",
        "04": "expired",
    }


def test_the_fee_set_digest_is_canonical_and_sensitive() -> None:
    lines = [payments.FeeLine("Lệ phí", 50_000), payments.FeeLine("Phí", 8_000)]
    digest = payments.fee_set_digest("H22-1", "000.00.01.H22", "1.001776", lines)
    assert digest == payments.fee_set_digest("H22-1", "000.00.01.H22", "1.001776", list(lines))
    assert len(digest) == 64
    changed = [payments.FeeLine("Lệ phí", 50_001), payments.FeeLine("Phí", 8_000)]
    assert digest != payments.fee_set_digest("H22-1", "000.00.01.H22", "1.001776", changed)
    assert digest != payments.fee_set_digest("H22-2", "000.00.01.H22", "1.001776", lines)
    assert digest != payments.fee_set_digest("H22-1", "000.00.01.H21", "1.001776", lines)


def _callback(ref: str, amount: int, **overrides: Any) -> Callback:
    fields: dict[str, Any] = {
        "LoaiBanTin": "PAYMENT",
        "MaLoi": "00",
        "MaDoiTac": "LGSP-SANDBOX",
        "MaThamChieu": ref,
        "SoTien": amount,
        "MaTienTe": "VND",
        "MaGiaoDich": "SBX000001",
        "MaNganHang": "970436",
        "ThoiGianGD": "20260301101500",
        "ThongTinGiaoDich": "Thanh toan",
        "MaXacThuc": "not-checked-here",
    }
    fields.update(overrides)
    return Callback.model_validate(fields)


async def test_a_paid_callback_reaches_the_case_system_as_a_signed_webhook(
    gw: Gateway, receiver: Receiver
) -> None:
    await subscribe(gw, receiver, "motcua", ("payment.paid",))

    async def init(ma_tham_chieu: str, amount: int) -> str:
        assert amount == 58_000
        return f"https://pay.example/{ma_tham_chieu}"

    created = await payments.create(
        gw,
        client="motcua",
        ma_ho_so="H22-240105-0007",
        ma_tthc="1.001776",
        agency="000.00.01.H22",
        lines=[payments.FeeLine("Lệ phí", 50_000), payments.FeeLine("Phí", 8_000)],
        return_url="https://motcua.example/7",
        init=init,
    )
    assert created.created
    ref = created.payment["ma_tham_chieu"]
    applied = await payments.apply_callback(
        gw, _callback(ref, 58_000), ma_doi_tac="LGSP-SANDBOX", raw=b"{}"
    )
    assert (applied.status, applied.outcome) == ("paid", "applied")
    await drain(gw, all_settled(gw, "delivered"))
    assert len(receiver.accepted) == 1
    event = receiver.accepted[0]
    assert event["type"] == "payment.paid"
    assert json.dumps(event, ensure_ascii=False).count(created.payment["payment_id"]) >= 1

    again = await payments.apply_callback(
        gw, _callback(ref, 58_000), ma_doi_tac="LGSP-SANDBOX", raw=b"{}"
    )
    assert again.outcome == "duplicate"
    with pytest.raises(payments.CallbackMismatch):
        await payments.apply_callback(
            gw,
            _callback(ref, 58_000, MaGiaoDich="SBX000002", MaDoiTac="SOMEONE-ELSE"),
            ma_doi_tac="LGSP-SANDBOX",
            raw=b"{}",
        )
    view = await payments.get(gw, created.payment["payment_id"])
    assert view["status"] == "paid"
    assert [t["to_status"] for t in view["transitions"]] == ["pending", "paid"]
