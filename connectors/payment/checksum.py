"""``MaXacThuc``: the checksum of the payment platform's packets, in its two variants.

* ``"sha256"``: lower-hex SHA-256 of the fields joined by ``|``, the shared secret last.
* ``"hmac2"`` (the older two-key variant): lower-hex HMAC-SHA256 of the same joined fields
  without the secret, keyed with ``send_key`` for what the gateway sends and ``verify_key``
  for what the platform sends.

Field orders (:data:`INIT_FIELDS`, :data:`QUERY_FIELDS`, :data:`CALLBACK_FIELDS`,
:data:`STATEMENT_FIELDS`) are the platform's and must not change; those of the reverse bill
look-up (:data:`BILL_FIELDS`, :data:`BILL_ANSWER_FIELDS`) are this project's profile (no public
specification gives them). Values are rendered as they
travel: strings as they are, amounts as plain integers (``150000``, never ``150000.0``);
anything else (a float, a boolean, a missing field) cannot be signed or verified.
Verification compares in constant time (:func:`hmac.compare_digest`). No error here carries a
secret or a computed checksum.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import SecretStr

__all__ = [
    "BILL_ANSWER_FIELDS",
    "BILL_FIELDS",
    "CALLBACK_FIELDS",
    "INIT_FIELDS",
    "QUERY_FIELDS",
    "STATEMENT_FIELDS",
    "Checksum",
    "ChecksumVariant",
    "hmac_sha256",
    "joined",
    "render",
    "sha256_with_secret",
]

ChecksumVariant = Literal["sha256", "hmac2"]
SEPARATOR = "|"

INIT_FIELDS: tuple[str, ...] = (
    "LoaiBanTin",
    "PhienBan",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "LoaiHinhThanhToan",
    "MaKenhThanhToan",
    "MaThietBi",
    "NgonNgu",
    "MaTienTe",
    "MaNganHang",
    "ThongTinGiaoDich",
    "ThoiGianGD",
    "Ip",
)
QUERY_FIELDS: tuple[str, ...] = (
    "LoaiBanTin",
    "PhienBan",
    "MaDoiTac",
    "MaThamChieu",
    "ThoiGianGD",
)
CALLBACK_FIELDS: tuple[str, ...] = (
    "LoaiBanTin",
    "MaLoi",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "MaTienTe",
    "MaGiaoDich",
    "MaNganHang",
    "ThoiGianGD",
    "ThongTinGiaoDich",
)
STATEMENT_FIELDS: tuple[str, ...] = ("Ngay", "MaDoiTac")
#: the portal's question "what does this dossier owe?" (signed by the platform)
BILL_FIELDS: tuple[str, ...] = ("LoaiBanTin", "PhienBan", "MaDoiTac", "MaHoSo", "ThoiGianGD")
#: the answer (signed by the gateway): the total binds the bills listed
BILL_ANSWER_FIELDS: tuple[str, ...] = (
    "LoaiBanTin",
    "MaDoiTac",
    "MaHoSo",
    "SoHoaDon",
    "TongTien",
    "ThoiGianGD",
)


def render(value: object) -> str:
    """One value as it enters the checksum: a string as is, an integer in plain digits."""
    if isinstance(value, bool):
        raise TypeError("a boolean cannot be signed")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"a {type(value).__name__} cannot be signed (amounts are integers)")


def joined(packet: Mapping[str, object], fields: Sequence[str]) -> str:
    """The signed text: ``fields`` of ``packet`` in order, joined by ``|``.

    :raises KeyError: a field is missing (the message names the field only)
    :raises TypeError: a value is neither a string nor an integer
    """
    return SEPARATOR.join(render(packet[name]) for name in fields)


def sha256_with_secret(text: str, secret: str) -> str:
    """The ``"sha256"`` variant over the already-joined ``text``."""
    return hashlib.sha256(f"{text}{SEPARATOR}{secret}".encode()).hexdigest()


def hmac_sha256(text: str, key: str) -> str:
    """The ``"hmac2"`` variant over the already-joined ``text``."""
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


class Checksum:
    """Signs what the gateway sends and verifies what the platform sends."""

    def __init__(
        self,
        variant: ChecksumVariant,
        *,
        secret: SecretStr,
        send_key: SecretStr,
        verify_key: SecretStr,
    ) -> None:
        if variant not in ("sha256", "hmac2"):
            raise ValueError(f"unknown checksum variant {variant!r}")
        self.variant: ChecksumVariant = variant
        self._secret = secret
        self._send_key = send_key
        self._verify_key = verify_key

    def __repr__(self) -> str:
        return f"Checksum(variant={self.variant!r})"

    def sign(self, packet: Mapping[str, object], fields: Sequence[str]) -> str:
        """``MaXacThuc`` of a packet the gateway sends."""
        text = joined(packet, fields)
        if self.variant == "sha256":
            return sha256_with_secret(text, self._secret.get_secret_value())
        return hmac_sha256(text, self._send_key.get_secret_value())

    def expected(self, packet: Mapping[str, object], fields: Sequence[str]) -> str:
        """``MaXacThuc`` the platform must have put on ``packet``."""
        text = joined(packet, fields)
        if self.variant == "sha256":
            return sha256_with_secret(text, self._secret.get_secret_value())
        return hmac_sha256(text, self._verify_key.get_secret_value())

    def verify(self, packet: Mapping[str, object], fields: Sequence[str], given: object) -> bool:
        """Whether ``given`` is the checksum of a packet the platform sent (constant time).

        A missing field, a value of the wrong type or a ``given`` that is not a string is
        ``False``, never an exception.
        """
        try:
            expected = self.expected(packet, fields)
        except (KeyError, TypeError):
            # compare anyway, so that a malformed packet costs what a forged one does
            hmac.compare_digest(b"0" * 64, b"1" * 64)
            return False
        if not isinstance(given, str):
            return False
        return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
