"""MaXacThuc in both variants: known answers computed here independently, tampering, types."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import SecretStr

from connectors.payment.checksum import (
    CALLBACK_FIELDS,
    INIT_FIELDS,
    QUERY_FIELDS,
    Checksum,
)

SECRET = "s3cr3t-Ωmega"
SEND = "send-key-17"
VERIFY = "verify-key-42"

INIT = {
    "LoaiBanTin": "INIT",
    "PhienBan": "1.0.6",
    "MaDoiTac": "LGSP-H22",
    "MaThamChieu": "HS-0007-01",
    "SoTien": 150000,
    "LoaiHinhThanhToan": "PAY",
    "MaKenhThanhToan": "WEB",
    "MaThietBi": "PC",
    "NgonNgu": "vi",
    "MaTienTe": "VND",
    "MaNganHang": "",
    "ThongTinGiaoDich": "Lệ phí hồ sơ",
    "ThoiGianGD": "20240105093000",
    "Ip": "10.0.0.1",
}
INIT_TEXT = (
    "INIT|1.0.6|LGSP-H22|HS-0007-01|150000|PAY|WEB|PC|vi|VND||Lệ phí hồ sơ|20240105093000|10.0.0.1"
)
QUERY = {
    "LoaiBanTin": "QUERY",
    "PhienBan": "1.0.6",
    "MaDoiTac": "LGSP-H22",
    "MaThamChieu": "HS-0007-01",
    "ThoiGianGD": "20240105093000",
}
CALLBACK = {
    "LoaiBanTin": "PAYMENT",
    "MaLoi": "00",
    "MaDoiTac": "LGSP-H22",
    "MaThamChieu": "HS-0007-01",
    "SoTien": 150000,
    "MaTienTe": "VND",
    "MaGiaoDich": "GD-991",
    "MaNganHang": "970436",
    "ThoiGianGD": "20240105093512",
    "ThongTinGiaoDich": "Lệ phí hồ sơ",
}
CALLBACK_TEXT = (
    "PAYMENT|00|LGSP-H22|HS-0007-01|150000|VND|GD-991|970436|20240105093512|Lệ phí hồ sơ"
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def mac(key: str, text: str) -> str:
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def checksum(variant: str) -> Checksum:
    return Checksum(
        variant,  # type: ignore[arg-type]
        secret=SecretStr(SECRET),
        send_key=SecretStr(SEND),
        verify_key=SecretStr(VERIFY),
    )


def test_sha256_init_known_answer() -> None:
    assert checksum("sha256").sign(INIT, INIT_FIELDS) == sha(f"{INIT_TEXT}|{SECRET}")


def test_sha256_query_known_answer() -> None:
    expected = sha(f"QUERY|1.0.6|LGSP-H22|HS-0007-01|20240105093000|{SECRET}")
    assert checksum("sha256").sign(QUERY, QUERY_FIELDS) == expected


def test_sha256_callback_verifies_with_secret() -> None:
    given = sha(f"{CALLBACK_TEXT}|{SECRET}")
    assert checksum("sha256").verify(CALLBACK, CALLBACK_FIELDS, given)


def test_hmac2_signs_with_send_key_and_verifies_with_verify_key() -> None:
    c = checksum("hmac2")
    assert c.sign(INIT, INIT_FIELDS) == mac(SEND, INIT_TEXT)
    assert c.sign(QUERY, QUERY_FIELDS) == mac(
        SEND, "QUERY|1.0.6|LGSP-H22|HS-0007-01|20240105093000"
    )
    assert c.verify(CALLBACK, CALLBACK_FIELDS, mac(VERIFY, CALLBACK_TEXT))
    # signed with the other key, or the sha256 way: refused
    assert not c.verify(CALLBACK, CALLBACK_FIELDS, mac(SEND, CALLBACK_TEXT))
    assert not c.verify(CALLBACK, CALLBACK_FIELDS, sha(f"{CALLBACK_TEXT}|{SECRET}"))


def test_sha256_refuses_an_hmac2_signature() -> None:
    assert not checksum("sha256").verify(CALLBACK, CALLBACK_FIELDS, mac(VERIFY, CALLBACK_TEXT))


@pytest.mark.parametrize("variant", ["sha256", "hmac2"])
@pytest.mark.parametrize("field", CALLBACK_FIELDS)
def test_tampering_any_signed_field_breaks_verification(variant: str, field: str) -> None:
    c = checksum(variant)
    given = c.expected(CALLBACK, CALLBACK_FIELDS)
    assert c.verify(CALLBACK, CALLBACK_FIELDS, given)
    tampered = dict(CALLBACK)
    tampered[field] = 150001 if field == "SoTien" else f"{CALLBACK[field]}x"
    assert not c.verify(tampered, CALLBACK_FIELDS, given)


@pytest.mark.parametrize("variant", ["sha256", "hmac2"])
@pytest.mark.parametrize("amount", [150000.0, 150000.5, True, None])
def test_amounts_are_integers_only(variant: str, amount: object) -> None:
    c = checksum(variant)
    given = c.expected(CALLBACK, CALLBACK_FIELDS)
    assert not c.verify({**CALLBACK, "SoTien": amount}, CALLBACK_FIELDS, given)
    with pytest.raises(TypeError):
        c.sign({**INIT, "SoTien": amount}, INIT_FIELDS)


@pytest.mark.parametrize("variant", ["sha256", "hmac2"])
def test_missing_field_or_odd_checksum_is_false_not_an_error(variant: str) -> None:
    c = checksum(variant)
    given = c.expected(CALLBACK, CALLBACK_FIELDS)
    partial = {k: v for k, v in CALLBACK.items() if k != "MaGiaoDich"}
    assert not c.verify(partial, CALLBACK_FIELDS, given)
    assert not c.verify(CALLBACK, CALLBACK_FIELDS, None)
    assert not c.verify(CALLBACK, CALLBACK_FIELDS, "ø" * 64)
    assert not c.verify(CALLBACK, CALLBACK_FIELDS, given.upper())


def test_repr_names_no_secret() -> None:
    text = repr(checksum("sha256"))
    assert SECRET not in text
    assert SEND not in text
    assert VERIFY not in text
