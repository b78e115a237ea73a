"""Small sample documents for the simulator, the demo and the tests: a one-page PDF result
(``sample_pdf``) and an XML dossier packet (``sample_xml``). Not used to sign real documents."""

from __future__ import annotations

from xml.sax.saxutils import escape

__all__ = ["sample_pdf", "sample_xml"]


def sample_pdf(text: str = "KET QUA GIAI QUYET THU TUC HANH CHINH") -> bytes:
    """A valid one-page PDF 1.7 showing ``text`` (ASCII; other characters become ``?``)."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"\\\\")
    safe = safe.replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 14 Tf 72 760 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def sample_xml(ma_ho_so: str = "000.00.01.H22-240105-0007") -> bytes:
    """A small XML dossier packet (QCVN 120-style field names)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<HoSo><MaHoSo>" + escape(ma_ho_so) + "</MaHoSo><MaTTHC>1.001776</MaTTHC>"
        "<TrichYeuHoSo>Cấp giấy chứng nhận</TrichYeuHoSo></HoSo>"
    ).encode()
