"""Sign and verify round trips in the three formats, and each way a signature can fail."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from connectors.esign import EsignConnector
from connectors.esign.documents import sample_pdf, sample_xml
from connectors.esign.sandbox import EsignSimulator, FaultConfig, SandboxPKI
from gateway.core.errors import InvalidUpstreamAnswer, TransientUpstreamError
from schemas.esign import SignatureReport, VerificationReport
from tests.connectors.esign.conftest import make_connector

OTHER_FILE = b"Bien ban ban giao ho so 000.00.01.H22-240105-0007\n" * 20


async def sign_and_verify(
    connector: EsignConnector, kind: str
) -> tuple[bytes, bytes | None, VerificationReport]:
    """(signed document, detached signature or None, report)."""
    if kind == "pades":
        signed = await connector.sign(sample_pdf())
        return signed.data, None, await connector.verify(signed.data)
    if kind == "xades":
        signed = await connector.sign(sample_xml())
        return signed.data, None, await connector.verify(signed.data)
    signed = await connector.sign(OTHER_FILE)
    assert signed.format == "cms"
    return OTHER_FILE, signed.data, await connector.verify(OTHER_FILE, signature=signed.data)


def only(report: VerificationReport) -> SignatureReport:
    assert len(report.signatures) == 1
    return report.signatures[0]


@pytest.mark.parametrize("kind", ["pades", "xades", "cms"])
async def test_round_trip_is_valid(connector: EsignConnector, pki: SandboxPKI, kind: str) -> None:
    _, _, report = await sign_and_verify(connector, kind)
    sig = only(report)
    assert report.verdict == "valid", sig.reasons
    assert report.format == kind
    assert sig.verdict == "valid"
    assert sig.integrity_ok
    assert sig.chain_ok
    assert sig.certificate_validity == "valid"
    assert sig.revocation == "good"
    assert "LGSP Sandbox Root CA" in (sig.trust_anchor or "")
    assert sig.signer_serial == format(pki.signer("valid").certificate.serial_number, "X")
    assert "NGUYEN VAN HOP LE" in (sig.signer_subject or "")
    assert sig.reasons == []


async def test_pades_with_a_tsa_is_b_t(connector: EsignConnector, sim: EsignSimulator) -> None:
    _, _, report = await sign_and_verify(connector, "pades")
    sig = only(report)
    assert sig.timestamp.present
    assert sig.timestamp.valid
    assert "TSA" in (sig.timestamp.authority or "")
    # validated at the time the token proves, not the time the signer claims
    assert sig.validated_at == sig.timestamp.time
    assert sim.stats.tsa >= 1


async def test_without_a_tsa_pades_is_b_b(http: httpx.AsyncClient) -> None:
    connector = make_connector(http, tsa_url=None)
    signed = await connector.sign(sample_pdf())
    assert signed.timestamped is False
    sig = only(await connector.verify(signed.data))
    assert sig.verdict == "valid"
    assert sig.timestamp.present is False


@pytest.mark.parametrize("kind", ["xades", "cms"])
async def test_xades_t_and_cms_carry_a_timestamp(connector: EsignConnector, kind: str) -> None:
    _, _, report = await sign_and_verify(connector, kind)
    sig = only(report)
    assert sig.timestamp.valid is True
    assert sig.validated_at == sig.timestamp.time


async def test_a_xades_timestamp_over_another_signature_value_is_refused(
    connector: EsignConnector,
) -> None:
    first, _, _ = await sign_and_verify(connector, "xades")
    second, _, _ = await sign_and_verify(connector, "xades")
    stamp = re.compile(rb"<xades:EncapsulatedTimeStamp>[^<]*</xades:EncapsulatedTimeStamp>")
    first_stamp = stamp.search(first)
    assert first_stamp is not None
    swapped = stamp.sub(first_stamp.group(0), second)
    sig = only(await connector.verify(swapped))
    assert sig.integrity_ok is True  # the signature itself is fine...
    assert sig.timestamp.present is True
    assert sig.timestamp.valid is False  # ...but the timestamp is not about it
    assert sig.verdict == "indeterminate"


@pytest.mark.parametrize("kind", ["pades", "xades", "cms"])
async def test_hash_service_round_trip(hash_connector: EsignConnector, kind: str) -> None:
    _, _, report = await sign_and_verify(hash_connector, kind)
    assert report.verdict == "valid", only(report).reasons


# --- tampering ---------------------------------------------------------------------------------


def tamper_pdf(signed: bytes) -> bytes:
    # change the text shown on the page (inside the signed byte range)
    assert b"KET QUA" in signed
    return signed.replace(b"KET QUA", b"KET QUY", 1)


async def test_tampered_pdf_is_invalid(connector: EsignConnector) -> None:
    signed, _, _ = await sign_and_verify(connector, "pades")
    sig = only(await connector.verify(tamper_pdf(signed)))
    assert sig.integrity_ok is False
    assert sig.verdict == "invalid"


def change_page_after_signing(signed: bytes) -> bytes:
    """An incremental update that replaces the page's text: a forgery appended after signing."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page_ref = writer.root["/Pages"].raw_get("/Kids")[0]
    page = page_ref.get_object()
    forged = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 760 Td (FORGED) Tj ET")
    page["/Contents"] = writer.add_object(forged)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_pdf_changed_after_signing_is_invalid(connector: EsignConnector) -> None:
    signed, _, _ = await sign_and_verify(connector, "pades")
    sig = only(await connector.verify(change_page_after_signing(signed)))
    assert sig.integrity_ok is True  # the signed revision itself is intact
    assert sig.covers_whole_document is False
    assert sig.verdict == "invalid"
    assert any("changed after" in r for r in sig.reasons)


async def test_tampered_xml_is_invalid(connector: EsignConnector) -> None:
    signed, _, _ = await sign_and_verify(connector, "xades")
    tampered = signed.replace(b"1.001776", b"1.001777")
    sig = only(await connector.verify(tampered))
    assert sig.integrity_ok is False
    assert sig.verdict == "invalid"
    assert any("altered" in r for r in sig.reasons)


async def test_tampered_cms_content_is_invalid(connector: EsignConnector) -> None:
    content, signature, _ = await sign_and_verify(connector, "cms")
    assert signature is not None
    sig = only(await connector.verify(content + b"!", signature=signature))
    assert sig.integrity_ok is False
    assert sig.verdict == "invalid"


# --- trust, validity, revocation ---------------------------------------------------------------


def other_root_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some Other Root")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("kind", ["pades", "xades", "cms"])
async def test_wrong_trust_anchor_is_invalid(
    connector: EsignConnector, http: httpx.AsyncClient, kind: str
) -> None:
    document, signature, _ = await sign_and_verify(connector, kind)
    strict = make_connector(http, trust_anchors=[other_root_pem()])
    sig = only(await strict.verify(document, signature=signature))
    assert sig.integrity_ok is True
    assert sig.chain_ok is False
    assert sig.trust_anchor is None
    assert sig.verdict == "invalid"
    assert any("trust anchor" in r for r in sig.reasons)


@pytest.mark.parametrize("kind", ["pades", "xades", "cms"])
@pytest.mark.parametrize(
    ("credential", "validity", "revocation"),
    [
        ("revoked", "valid", "revoked"),
        ("expired", "expired", "unknown"),
        ("not_yet_valid", "not_yet_valid", "unknown"),
    ],
)
async def test_bad_certificates_are_reported(
    http: httpx.AsyncClient, kind: str, credential: str, validity: str, revocation: str
) -> None:
    connector = make_connector(http, credential_id=credential)
    _, _, report = await sign_and_verify(connector, kind)
    sig = only(report)
    assert sig.integrity_ok is True
    assert sig.chain_ok is True
    assert sig.certificate_validity == validity
    assert sig.revocation == revocation
    assert sig.verdict == "invalid"
    if credential == "revoked":
        assert sig.revocation_time is not None
        assert any("revoked" in r for r in sig.reasons)


@pytest.mark.parametrize("kind", ["pades", "xades", "cms"])
async def test_revocation_unknown_when_the_responder_is_down(
    connector: EsignConnector, sim: EsignSimulator, kind: str
) -> None:
    document, signature, _ = await sign_and_verify(connector, kind)
    sim.set_faults(FaultConfig(revocation_down=True))
    sig = only(await connector.verify(document, signature=signature))
    assert sig.integrity_ok
    assert sig.chain_ok
    assert sig.revocation == "unknown"
    assert sig.verdict == "indeterminate"
    assert any("revocation status unknown" in r for r in sig.reasons)


async def test_crl_is_used_when_ocsp_is_down(
    connector: EsignConnector, sim: EsignSimulator
) -> None:
    document, _, _ = await sign_and_verify(connector, "xades")
    sim.set_faults(FaultConfig(ocsp_down=True))
    crl_before = sim.stats.crl
    sig = only(await connector.verify(document))
    assert sig.revocation == "good"
    assert sig.verdict == "valid"
    assert sim.stats.crl > crl_before


async def test_revoked_is_found_by_crl_alone(http: httpx.AsyncClient, sim: EsignSimulator) -> None:
    connector = make_connector(http, credential_id="revoked")
    document, _, _ = await sign_and_verify(connector, "xades")
    sim.set_faults(FaultConfig(ocsp_down=True))
    sig = only(await connector.verify(document))
    assert sig.revocation == "revoked"


# --- signing failures --------------------------------------------------------------------------


async def test_tsa_down_fails_signing_transiently(
    connector: EsignConnector, sim: EsignSimulator
) -> None:
    sim.set_faults(FaultConfig(tsa_down=True))
    with pytest.raises(TransientUpstreamError, match="timestamp"):
        await connector.sign(sample_pdf())


@pytest.mark.parametrize("service", ["csc", "hash"])
async def test_a_wrong_signature_from_the_service_is_refused(
    http: httpx.AsyncClient, sim: EsignSimulator, service: str
) -> None:
    connector = make_connector(http, service=service)
    sim.set_faults(FaultConfig(wrong_signature=True))
    with pytest.raises(InvalidUpstreamAnswer, match="does not verify"):
        await connector.sign(OTHER_FILE)


async def test_the_key_never_leaves_only_digests_do(
    connector: EsignConnector, esign_app: Any, sim: EsignSimulator
) -> None:
    await connector.sign(OTHER_FILE)
    # the service signed once, a 32-byte digest; the document itself was never sent
    assert sim.stats.signatures == 1


def test_documents_are_base64_safe() -> None:
    assert base64.b64decode(base64.b64encode(sample_pdf())) == sample_pdf()


async def test_a_second_signature_keeps_the_first_valid(connector: EsignConnector) -> None:
    first = await connector.sign(sample_pdf())
    second = await connector.sign(first.data, reason="Phê duyệt")
    report = await connector.verify(second.data)
    assert [s.name for s in report.signatures] == ["Signature1", "Signature2"]
    assert [s.verdict for s in report.signatures] == ["valid", "valid"]
    assert report.verdict == "valid"


def plain_xmldsig(pki: SandboxPKI, document: bytes, *, reference: str | None = None) -> bytes:
    """An XML-DSig (not XAdES) signature made elsewhere, with the test key in hand."""
    from lxml import etree
    from signxml.signer import XMLSigner

    signer = XMLSigner()
    root = etree.fromstring(document)
    signed = signer.sign(
        root,
        key=pki.signer("valid").key,
        cert=pki.chain("valid"),
        reference_uri=reference,
    )
    out: bytes = etree.tostring(signed)
    return out


async def test_plain_xmldsig_from_another_tool_is_valid(
    connector: EsignConnector, pki: SandboxPKI
) -> None:
    sig = only(await connector.verify(plain_xmldsig(pki, b"<HoSo><MaHoSo>1</MaHoSo></HoSo>")))
    assert sig.verdict == "valid", sig.reasons
    assert sig.signing_time is None


async def test_xml_signature_over_part_of_the_document_is_invalid(
    connector: EsignConnector, pki: SandboxPKI
) -> None:
    document = b'<HoSo><Phan Id="p1">1</Phan><TrangThai>2</TrangThai></HoSo>'
    signed = plain_xmldsig(pki, document, reference="#p1")
    sig = only(await connector.verify(signed.replace(b"<TrangThai>2", b"<TrangThai>9")))
    assert sig.integrity_ok is True  # what was signed is intact...
    assert sig.covers_whole_document is False  # ...but the rest could be anything
    assert sig.verdict == "invalid"


@pytest.mark.parametrize("offset", [10, 200, 1500])
async def test_a_damaged_pdf_signature_is_invalid_not_unreadable(
    connector: EsignConnector, offset: int
) -> None:
    signed, _, _ = await sign_and_verify(connector, "pades")
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    damaged = bytearray(signed)
    old = damaged[start + offset : start + offset + 8]
    damaged[start + offset : start + offset + 8] = (
        b"11111111" if old == b"00000000" else b"00000000"
    )
    report = await connector.verify(bytes(damaged))
    assert report.verdict == "invalid"
    assert len(report.signatures) == 1


async def test_an_xml_signature_without_a_certificate_is_invalid(
    connector: EsignConnector,
) -> None:
    signed, _, _ = await sign_and_verify(connector, "xades")
    stripped = re.sub(rb"<ds:X509Certificate>[^<]*</ds:X509Certificate>", b"", signed)
    sig = only(await connector.verify(stripped))
    assert sig.verdict == "invalid"
    assert any("no readable X.509 certificate" in r for r in sig.reasons)
