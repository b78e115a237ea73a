"""Detached CMS (CAdES-style) signatures over any file, verified with pyHanko."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, pem
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.general import SignedDataCerts, extract_certificate_info
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms

from connectors.esign.errors import UnsupportedDocument
from connectors.esign.revocation import RevocationFetchers
from connectors.esign.verify_chain import ChainChecker
from connectors.esign.verify_report import signature_report
from gateway.core.errors import FieldError
from schemas.esign import SignatureReport, TimestampReport

__all__ = ["load_signed_data", "timestamp_report", "verify_cms"]


def load_signed_data(signature: bytes) -> cms.SignedData:
    """The SignedData of a DER or PEM CMS ContentInfo; :class:`UnsupportedDocument` if not."""
    try:
        if pem.detect(signature):
            _, _, signature = pem.unarmor(signature)
        info = cms.ContentInfo.load(signature)
        if info["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        signed: cms.SignedData = info["content"]
        signed.native  # noqa: B018 - parse it all now: malformed parts fail here
    except (ValueError, TypeError, KeyError):
        raise UnsupportedDocument(
            "the signature is not a CMS SignedData (DER or PEM)",
            errors=[FieldError("signature", "not a CMS SignedData")],
        ) from None
    if len(signed["signer_infos"]) != 1:
        raise UnsupportedDocument(
            "the CMS must hold exactly one signer",
            errors=[FieldError("signature", "not exactly one SignerInfo")],
        )
    return signed


def timestamp_report(status: Any) -> TimestampReport:
    """From pyHanko's ``timestamp_validity`` (a TimestampSignatureStatus, or None)."""
    if status is None:
        return TimestampReport(present=False)
    valid = bool(status.intact and status.valid and status.trusted)
    authority = status.signing_cert.subject.human_friendly if status.signing_cert else None
    return TimestampReport(present=True, valid=valid, time=status.timestamp, authority=authority)


async def verify_cms(
    content: bytes, signature: bytes, checker: ChainChecker, fetchers: RevocationFetchers
) -> list[SignatureReport]:
    signed = load_signed_data(signature)
    certs: SignedDataCerts = extract_certificate_info(signed)
    others: list[asn1_x509.Certificate] = list(certs.other_certs)
    context = checker.context(fetchers, other_certs=others)
    status = await async_validate_detached_cms(
        content, signed, signer_validation_context=context, ts_validation_context=context
    )
    timestamp = timestamp_report(status.timestamp_validity)
    moment = timestamp.time if timestamp.valid else None
    chain = await checker.check(status.signing_cert, fetchers, other_certs=others, moment=moment)
    return [
        signature_report(
            format="cms",
            name=None,
            certificate=status.signing_cert,
            signing_time=status.signer_reported_dt,
            integrity_ok=bool(status.intact and status.valid),
            covers_whole_document=None,
            chain=chain,
            timestamp=timestamp,
            validated_at=moment or datetime.now(UTC),
            reasons=[],
        )
    ]
