"""PAdES signatures embedded in a PDF, verified with pyHanko (one report per signature field).

Integrity means: the CMS over the signed byte ranges verifies, and what was appended after the
signature (incremental updates) is allowed by the signature's modification policy as pyHanko's
difference analysis judges it; anything else is reported as a change after signing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import (
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel

from connectors.esign.errors import UnsupportedDocument
from connectors.esign.revocation import RevocationFetchers
from connectors.esign.verify_chain import ChainChecker
from connectors.esign.verify_cms import timestamp_report
from connectors.esign.verify_report import broken_report, signature_report
from gateway.core.errors import FieldError
from schemas.esign import SignatureReport

__all__ = ["verify_pdf"]


def _signatures(data: bytes) -> tuple[list[EmbeddedPdfSignature], list[SignatureReport]]:
    """The signatures pyHanko can read, in signing order, and a report for each it cannot
    (a damaged signature is an invalid signature, not an unreadable document)."""
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        fields = list(enumerate_sig_fields(reader, filled_status=True))
    except (PdfError, ValueError, KeyError, TypeError):
        raise UnsupportedDocument(
            "the PDF cannot be read", errors=[FieldError("document", "not a readable PDF")]
        ) from None
    readable: list[EmbeddedPdfSignature] = []
    broken: list[SignatureReport] = []
    for name, _, field in fields:
        try:
            signature = EmbeddedPdfSignature(reader, field, name)
            signature.signed_data.native  # noqa: B018 - parse it all now
        except (PdfError, ValueError, KeyError, TypeError) as exc:
            broken.append(broken_report(format="pades", name=name, certificate=None, why=str(exc)))
            continue
        readable.append(signature)
    readable.sort(key=lambda s: s.signed_revision)
    return readable, broken


async def verify_pdf(
    data: bytes, checker: ChainChecker, fetchers: RevocationFetchers
) -> list[SignatureReport]:
    embedded, reports = _signatures(data)
    for signature in embedded:
        others: list[asn1_x509.Certificate] = list(signature.other_embedded_certs)
        context = checker.context(fetchers, other_certs=others)
        try:
            status = await async_validate_pdf_signature(
                signature, signer_validation_context=context, ts_validation_context=context
            )
        except (SignatureValidationError, PdfError, ValueError) as exc:
            # a structure pyHanko refuses outright (e.g. a byte range that is not the file)
            reports.append(
                broken_report(
                    format="pades",
                    name=signature.field_name,
                    certificate=_signer_or_none(signature),
                    why=str(exc),
                )
            )
            continue
        timestamp = timestamp_report(status.timestamp_validity)
        moment = timestamp.time if timestamp.valid else None
        chain = await checker.check(
            status.signing_cert, fetchers, other_certs=others, moment=moment
        )
        covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        reasons: list[str] = []
        if not covers and status.docmdp_ok is not True:
            reasons.append("the document was changed after this signature")
        reports.append(
            signature_report(
                format="pades",
                name=signature.field_name,
                certificate=status.signing_cert,
                signing_time=status.signer_reported_dt,
                integrity_ok=bool(status.intact and status.valid),
                covers_whole_document=covers or bool(status.docmdp_ok),
                chain=chain,
                timestamp=timestamp,
                validated_at=moment or datetime.now(UTC),
                reasons=reasons,
            )
        )
    return reports


def _signer_or_none(signature: object) -> asn1_x509.Certificate | None:
    try:
        cert: asn1_x509.Certificate = signature.signer_cert  # type: ignore[attr-defined]
    except (AttributeError, ValueError, KeyError):
        return None
    return cert
