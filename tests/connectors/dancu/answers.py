"""SOAP 1.1 answers of the population database, as bytes, for tests that stand in for it.

A citizen record is a nested dict with the platform's element names in the WSDL's sequence
order (``CongDan`` of ``http://www.mic.gov.vn/dancu/1.0``); :func:`record` gives a complete one
and takes overrides (a key set to ``None`` drops the element). Text is escaped here, so a test
can put anything in a field; the hostile answers are written out by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

import httpx

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
DC_NS = "http://www.mic.gov.vn/dancu/1.0"

SO_DINH_DANH = "025090012345"  # Phú Thọ, male, born 1990
HO_VA_TEN = "Nguyễn Văn Đức"
NGAY_SINH = "1990-05-17"
PASSWD_LINE = "root:x:0:0:root:/root:/bin/bash"


def record(**overrides: Any) -> dict[str, Any]:
    """Every field of CongDan, filled; ``overrides`` replace (or, with None, drop) fields."""
    data: dict[str, Any] = {
        "SoDinhDanh": SO_DINH_DANH,
        "SoCMND": "131234567",
        "HoVaTen": {"Ho": "Nguyễn", "ChuDem": "Văn", "Ten": "Đức"},
        "NgayThangNamSinh": {"Nam": "1990", "NgayThangNam": "19900517"},
        "GioiTinh": "1",
        "DanToc": "01",
        "TonGiao": "02",
        "TinhTrangHonNhan": "2",
        "NhomMau": "04",
        "QueQuan": {
            "MaTinhThanh": "25",
            "MaQuanHuyen": "227",
            "MaPhuongXa": "08074",
            "ChiTiet": "Xóm Đồng, xã Thanh Vinh",
        },
        "ThuongTru": {
            "MaTinhThanh": "01",
            "MaQuanHuyen": "005",
            "MaPhuongXa": "00160",
            "ChiTiet": "Số 12 ngõ 34 phố Trần Duy Hưng",
        },
        "NoiOHienTai": {
            "MaTinhThanh": "79",
            "MaQuanHuyen": "760",
            "MaPhuongXa": "26734",
            "ChiTiet": "45 Lê Lợi, phường Bến Nghé",
        },
        "Cha": {"HoVaTen": "Nguyễn Văn Bình", "SoDinhDanh": "025060001111", "SoCMND": "130000111"},
        "Me": {"HoVaTen": "Trần Thị Cúc", "SoDinhDanh": "025163002222"},
        "VoChong": {"HoVaTen": "Lê Thị Hương", "SoCMND": "001192003333"},
        "ChuHo": {"HoVaTen": "Nguyễn Văn Bình", "SoDinhDanh": "025060001111", "QuanHe": "Con"},
        "SoSoHoKhau": "HK-0012345",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def elements(fields: Mapping[str, Any]) -> str:
    """``{"A": "x", "B": {"C": "y"}}`` -> ``<dc:A>x</dc:A><dc:B><dc:C>y</dc:C></dc:B>``."""
    out: list[str] = []
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            inner = elements(value)
        elif isinstance(value, bool):
            inner = "true" if value else "false"
        else:
            inner = escape(str(value))
        out.append(f"<dc:{name}>{inner}</dc:{name}>")
    return "".join(out)


def envelope(body: str, *, prolog: str = "") -> bytes:
    """``body`` (XML text using the ``dc`` prefix) in a SOAP 1.1 envelope."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + prolog
        + f'<soap:Envelope xmlns:soap="{SOAP_NS}" xmlns:dc="{DC_NS}">'
        + f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


def lookup(
    code: str = "000",
    records: Sequence[Mapping[str, Any]] | None = None,
    *,
    message: str | None = None,
    ma_yeu_cau: str = "req-1",
) -> bytes:
    """A TraCuuThongTinCongDan answer (``CongdanCollection``); one full record by default
    when the code is 000, none otherwise."""
    if records is None:
        records = [record()] if code == "000" else []
    head = elements({"MaYeuCau": ma_yeu_cau, "MaKetQua": code, "MoTaKetQua": message})
    body = "".join(f"<dc:CongDan>{elements(r)}</dc:CongDan>" for r in records)
    return envelope(f"<dc:CongdanCollection>{head}{body}</dc:CongdanCollection>")


def verify(
    code: str = "000",
    ton_tai: bool | None = True,
    *,
    message: str | None = None,
    ma_yeu_cau: str = "req-1",
) -> bytes:
    """A XacThucThongTinCongDan answer (``KetQuaXacThuc``)."""
    fields = {"MaYeuCau": ma_yeu_cau, "MaKetQua": code, "MoTaKetQua": message, "TonTai": ton_tai}
    return envelope(f"<dc:KetQuaXacThuc>{elements(fields)}</dc:KetQuaXacThuc>")


def fault(code: str = "soap:Server", message: str = "internal error") -> bytes:
    """A SOAP 1.1 Fault (``soap:Client`` or ``soap:Server``)."""
    return envelope(
        f"<soap:Fault><faultcode>{code}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soap:Fault>"
    )


def xxe() -> bytes:
    """A lookup answer whose citizen's name is an external entity reading /etc/passwd."""
    prolog = '<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    name = {"Ho": "&xxe;", "Ten": "An"}
    body = lookup(records=[record(HoVaTen={})]).decode()
    body = body.replace("<dc:HoVaTen></dc:HoVaTen>", f"<dc:HoVaTen>{_raw(name)}</dc:HoVaTen>")
    return body.replace("?>\n", "?>\n" + prolog, 1).encode()


def billion_laughs(levels: int = 10) -> bytes:
    """The classic entity bomb: ``lol9`` would expand to 10**9 copies of "lol"."""
    decls = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels):
        decls.append(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">')
    prolog = f"<!DOCTYPE soap:Envelope [{''.join(decls)}]>\n"
    body = lookup(message=f"&lol{levels - 1};").decode()
    body = body.replace(f"&amp;lol{levels - 1};", f"&lol{levels - 1};")
    return body.replace("?>\n", "?>\n" + prolog, 1).encode()


def plain_doctype() -> bytes:
    """A well-formed, harmless answer that merely carries a DOCTYPE."""
    body = lookup().decode()
    return body.replace("?>\n", "?>\n<!DOCTYPE soap:Envelope>\n", 1).encode()


def padded(size: int) -> bytes:
    """A valid lookup answer at least ``size`` bytes long (a long XML comment inside)."""
    base = lookup()
    pad = max(0, size - len(base))
    return base.replace(b"<soap:Body>", b"<!--" + b"x" * pad + b"--><soap:Body>", 1)


def _raw(fields: Mapping[str, str]) -> str:
    # no escaping: the values are entity references on purpose
    return "".join(f"<dc:{k}>{v}</dc:{k}>" for k, v in fields.items())


class Chunks(httpx.AsyncByteStream):
    """A body streamed in chunks with no Content-Length; counts what was pulled."""

    def __init__(self, content: bytes, chunk: int = 4096) -> None:
        self.content = content
        self.chunk = chunk
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.content), self.chunk):
            piece = self.content[start : start + self.chunk]
            self.pulled += len(piece)
            yield piece
