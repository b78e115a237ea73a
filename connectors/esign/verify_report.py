"""Turning the checks of one signature into its :class:`~schemas.esign.SignatureReport`.

The verdict, the same for every format:

* ``invalid`` when something is known to be wrong: the content or signed attributes were
  altered, the PDF changed after signing beyond what the signature allows, no path leads to a
  configured trust anchor, the certificate was revoked, expired or not yet valid at the moment
  validated at;
* ``indeterminate`` when nothing is known wrong but something could not be established: the
  revocation status (no CRL or OCSP answer), or a timestamp that does not verify;
* ``valid`` otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from asn1crypto import x509 as asn1_x509

from schemas.esign import SignatureFormat, SignatureReport, TimestampReport, Verdict

if TYPE_CHECKING:  # pyhanko_certvalidator: loaded when a document is verified
    from connectors.esign.verify_chain import ChainOutcome

__all__ = ["broken_report", "signature_report", "subject_of"]


def subject_of(certificate: asn1_x509.Certificate | None) -> str | None:
    if certificate is None:
        return None
    name: str = certificate.subject.human_friendly
    return name


def signature_report(
    *,
    format: SignatureFormat,
    name: str | None,
    certificate: asn1_x509.Certificate | None,
    signing_time: datetime | None,
    integrity_ok: bool,
    covers_whole_document: bool | None,
    chain: ChainOutcome,
    timestamp: TimestampReport,
    validated_at: datetime,
    reasons: list[str],
) -> SignatureReport:
    reasons = [*reasons, *chain.reasons]
    if not integrity_ok and not any("altered" in r for r in reasons):
        reasons.insert(0, "the signed content or attributes were altered")
    if timestamp.present and timestamp.valid is False:
        reasons.append("the signature timestamp does not verify")
    verdict: Verdict
    if (
        not integrity_ok
        or covers_whole_document is False
        or not chain.chain_ok
        or chain.revocation == "revoked"
        or chain.validity in ("expired", "not_yet_valid")
    ):
        verdict = "invalid"
    elif chain.revocation == "unknown" or (timestamp.present and timestamp.valid is False):
        verdict = "indeterminate"
    else:
        verdict = "valid"
    return SignatureReport(
        format=format,
        name=name,
        signer_subject=subject_of(certificate),
        signer_serial=format_serial(certificate),
        signing_time=signing_time,
        integrity_ok=integrity_ok,
        covers_whole_document=covers_whole_document,
        chain_ok=chain.chain_ok,
        trust_anchor=chain.trust_anchor,
        certificate_validity=chain.validity,
        revocation=chain.revocation,
        revocation_time=chain.revocation_time,
        timestamp=timestamp,
        validated_at=validated_at,
        verdict=verdict,
        reasons=reasons,
    )


def _unknown_chain() -> ChainOutcome:
    from connectors.esign.verify_chain import ChainOutcome

    return ChainOutcome(False, None, "unknown", "unknown")


def broken_report(
    *,
    format: SignatureFormat,
    name: str | None,
    certificate: asn1_x509.Certificate | None,
    why: str,
    signing_time: datetime | None = None,
    reasons: list[str] | None = None,
) -> SignatureReport:
    """The report of a signature too damaged to check: invalid, with the first line of why."""
    first = (why.splitlines() or [""])[0][:200]
    return signature_report(
        format=format,
        name=name,
        certificate=certificate,
        signing_time=signing_time,
        integrity_ok=False,
        covers_whole_document=False,
        chain=_unknown_chain(),
        timestamp=TimestampReport(present=False),
        validated_at=datetime.now(UTC),
        reasons=[*(reasons or []), f"the signature's structure is broken: {first}"],
    )


def format_serial(certificate: asn1_x509.Certificate | None) -> str | None:
    if certificate is None:
        return None
    return format(certificate.serial_number, "X")
