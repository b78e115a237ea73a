"""Verification of signed documents: PDF (PAdES), XML (XML-DSig/XAdES), detached CMS.

:meth:`Verifier.verify` takes the document's bytes (and, for CMS, the detached signature),
detects or takes the format, and answers one :class:`~schemas.esign.VerificationReport` with a
:class:`~schemas.esign.SignatureReport` per signature. A document is ``valid`` only when it has
at least one signature and every one is valid (see :mod:`connectors.esign.verify_report`).

Every check that needs the network (CRL, OCSP) goes through the connector's HTTP client,
bounded (:mod:`connectors.esign.revocation`). The trust anchors are read once, on first use, so
that a gateway that never verifies does not read them (the sandbox anchor builds the test PKI).
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

import httpx
from asn1crypto import x509 as asn1_x509

from connectors.esign.config import EsignConfig
from connectors.esign.errors import UnsupportedDocument
from gateway.core.errors import FieldError, InvalidInput, PayloadTooLarge
from schemas.esign import (
    DocumentFormat,
    SignatureFormat,
    SignatureReport,
    Verdict,
    VerificationReport,
)

if TYPE_CHECKING:  # pyHanko and signxml are loaded when a document is verified
    from connectors.esign.revocation import RevocationFetchers
    from connectors.esign.verify_chain import ChainChecker

__all__ = ["Verifier", "detect_format", "overall_verdict"]


def detect_format(document: bytes, *, signature: bytes | None = None) -> DocumentFormat:
    """``cms`` when a detached signature is given, else ``pdf`` or ``xml`` from the bytes."""
    if signature is not None:
        return "cms"
    head = document[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "xml"
    raise UnsupportedDocument(
        "the document is neither a PDF nor XML; give the detached CMS signature to verify "
        "another file",
        errors=[FieldError("document", "format not recognised")],
    )


def overall_verdict(signatures: list[SignatureReport]) -> Verdict:
    if not signatures or any(s.verdict == "invalid" for s in signatures):
        return "invalid"
    if any(s.verdict == "indeterminate" for s in signatures):
        return "indeterminate"
    return "valid"


# pyHanko and certvalidator log every failed check as a warning with its traceback; each one is
# in the report's reasons already, and a citizen's forged form is not a gateway fault
for _name in ("pyhanko.sign.validation", "pyhanko_certvalidator"):
    logging.getLogger(_name).setLevel(logging.ERROR)

_SIGNATURE_FORMAT: dict[str, SignatureFormat] = {"pdf": "pades", "xml": "xades", "cms": "cms"}


class Verifier:
    def __init__(self, config: EsignConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._checker: ChainChecker | None = None

    def trust_anchors(self) -> list[asn1_x509.Certificate]:
        return self.chain_checker().anchors

    def chain_checker(self) -> ChainChecker:
        """The checker over the configured anchors (read on first use)."""
        if self._checker is None:
            from connectors.esign.verify_chain import ChainChecker, load_trust_anchors

            self._checker = ChainChecker(load_trust_anchors(self._config.trust_anchors))
        return self._checker

    def fetchers(self) -> RevocationFetchers:
        """Fresh, bounded CRL/OCSP fetchers for one verification."""
        from connectors.esign.revocation import RevocationFetchers

        return RevocationFetchers(
            self._http,
            timeout=self._config.revocation_timeout_seconds,
            max_bytes=self._config.max_revocation_bytes,
            max_fetches=self._config.max_revocation_fetches,
            mirrors=self._config.revocation_mirrors,
        )

    def _bounded(self, data: bytes, field: str) -> None:
        if len(data) > self._config.max_document_bytes:
            raise PayloadTooLarge(
                f"{field} is larger than {self._config.max_document_bytes} bytes",
                errors=[FieldError(field, "too large")],
            )

    async def verify(
        self,
        document: bytes,
        *,
        format: DocumentFormat = "auto",
        signature: bytes | None = None,
    ) -> VerificationReport:
        self._bounded(document, "document")
        if signature is not None:
            self._bounded(signature, "signature")
        kind = detect_format(document, signature=signature) if format == "auto" else format
        if kind == "cms" and signature is None:
            raise InvalidInput(
                "a CMS signature is verified against its file: give both",
                errors=[FieldError("signature", "required when format is cms")],
            )
        checker = self.chain_checker()
        fetchers = self.fetchers()
        if kind == "pdf":
            from connectors.esign.verify_pdf import verify_pdf

            reports = await verify_pdf(document, checker, fetchers)
        elif kind == "xml":
            from connectors.esign.verify_xml import verify_xml

            reports = await verify_xml(document, checker, fetchers)
        else:
            from connectors.esign.verify_cms import verify_cms

            assert signature is not None
            reports = await verify_cms(document, signature, checker, fetchers)
        verdict = overall_verdict(reports)
        return VerificationReport(
            format=_SIGNATURE_FORMAT.get(kind),
            document_sha256=hashlib.sha256(document).hexdigest(),
            signatures=reports,
            verdict=verdict,
            reasons=[] if reports else ["the document carries no signature"],
        )
