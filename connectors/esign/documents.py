"""Small sample documents for the simulator, the demo and the tests: a one-page PDF result
(``sample_pdf``) and an XML dossier packet (``sample_xml``). Not used to sign real documents."""

from __future__ import annotations

from xml.sax.saxutils import escape

from gateway.core.demo import sample_pdf

__all__ = ["sample_pdf", "sample_xml"]


def sample_xml(ma_ho_so: str = "000.00.01.H22-240105-0007") -> bytes:
    """A small XML dossier packet (QCVN 120-style field names)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<HoSo><MaHoSo>" + escape(ma_ho_so) + "</MaHoSo><MaTTHC>1.001776</MaTTHC>"
        "<TrichYeuHoSo>Cấp giấy chứng nhận</TrichYeuHoSo></HoSo>"
    ).encode()
