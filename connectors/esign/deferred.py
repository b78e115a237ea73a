"""Signing in two halves, so that the signature value can come later (pyHanko's "interrupted
signing"): :func:`prepare` builds everything but the signature value and says which digest the
service must sign; :func:`finish` puts the service's signature in. Between the two, a
:class:`PreparedSignature` is plain data (:meth:`PreparedSignature.to_json`), so the halves may
run in different processes, minutes apart, while the holder approves on their phone.

* PAdES: the incremental update with its signature placeholder is written and its byte range
  digested; the CMS signed attributes (signing time, signing certificate, the byte range's
  digest) are fixed. The service signs their digest. Finishing builds the CMS with that value,
  adds the signature timestamp (B-T) when a TSA is configured, and fills the placeholder (sized
  for the timestamp at preparation).
* CMS: the same signed attributes over the file's digest; the CMS is detached.
* XAdES: signxml builds the whole enveloped signature with a placeholder value (see
  :mod:`connectors.esign.xml_deferred`); finishing writes the value in, then adds the
  signature timestamp (XAdES-T) when a TSA is configured.
"""

from __future__ import annotations

import base64
import hashlib
from io import BytesIO

from asn1crypto import cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import ExternalSigner
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner, PdfTBSDocument
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from connectors.esign.errors import UnsupportedDocument
from connectors.esign.prepared import DIGEST, PreparedSignature
from connectors.esign.signer import SigningCredential, to_asn1
from connectors.esign.xml_deferred import finish_xml, prepare_xml, timestamp_xml
from gateway.core.errors import FieldError, TransientUpstreamError
from schemas.esign import SignatureFormat

__all__ = ["DIGEST", "PreparedSignature", "finish", "prepare"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _external(credential: SigningCredential, value: bytes | int) -> ExternalSigner:
    chain = [to_asn1(c) for c in credential.chain]
    return ExternalSigner(
        signing_cert=chain[0],
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        signature_value=value,
        embed_roots=False,
    )


def _pdf_writer(document: bytes) -> IncrementalPdfFileWriter:
    try:
        writer = IncrementalPdfFileWriter(BytesIO(document), strict=False)
    except (PdfError, ValueError, KeyError, TypeError):
        raise UnsupportedDocument(
            "the PDF cannot be read", errors=[FieldError("document", "not a readable PDF")]
        ) from None
    if writer.security_handler is not None:
        raise UnsupportedDocument(
            "encrypted PDFs are not signed", errors=[FieldError("document", "encrypted PDF")]
        )
    return writer


async def _prepare_pdf(
    document: bytes,
    credential: SigningCredential,
    *,
    timestamper: TimeStamper | None,
    reason: str | None,
    location: str | None,
) -> PreparedSignature:
    writer = _pdf_writer(document)
    taken = {name for name, _, _ in enumerate_sig_fields(writer)}
    field = next(f"Signature{n}" for n in range(1, len(taken) + 2) if f"Signature{n}" not in taken)
    meta = PdfSignatureMetadata(
        field_name=field,
        md_algorithm=DIGEST,
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    placeholder = _external(credential, credential.signature_size())
    # the timestamper is given here only to size the placeholder for the token to come
    pdf_signer = PdfSigner(meta, placeholder, timestamper=timestamper)
    try:
        prepared, tbs, output = await pdf_signer.async_digest_doc_for_signing(writer)
    except TimestampRequestError as exc:
        raise TransientUpstreamError(f"the timestamp authority failed: {exc}") from None
    except PdfError as exc:
        raise UnsupportedDocument(
            f"the PDF cannot be signed: {str(exc)[:200]}",
            errors=[FieldError("document", "unsupported PDF structure")],
        ) from None
    if tbs.post_sign_instructions is not None:
        raise RuntimeError("post-signing steps (DSS, LTA) are not supported")
    attrs = await placeholder.signed_attrs(prepared.document_digest, DIGEST, use_pades=True)
    output.seek(0)
    state = {
        "pdf": _b64(output.read()),
        "document_digest": _b64(prepared.document_digest),
        "reserved_start": prepared.reserved_region_start,
        "reserved_end": prepared.reserved_region_end,
        "signed_attrs": _b64(attrs.dump()),
    }
    return PreparedSignature("pades", hashlib.sha256(attrs.dump()).digest(), state)


async def _prepare_cms(document: bytes, credential: SigningCredential) -> PreparedSignature:
    placeholder = _external(credential, credential.signature_size())
    attrs = await placeholder.signed_attrs(
        hashlib.sha256(document).digest(), DIGEST, use_pades=True, is_pdf_sig=False
    )
    state = {"signed_attrs": _b64(attrs.dump())}
    return PreparedSignature("cms", hashlib.sha256(attrs.dump()).digest(), state)


async def prepare(
    document: bytes,
    format: SignatureFormat,
    credential: SigningCredential,
    *,
    timestamper: TimeStamper | None,
    reason: str | None = None,
    location: str | None = None,
) -> PreparedSignature:
    """Everything of the signature but its value; ``digest`` is what the service must sign.
    ``state["timestamped"]`` says whether :func:`finish` must be given a timestamper."""
    prepared: PreparedSignature
    if format == "pades":
        prepared = await _prepare_pdf(
            document, credential, timestamper=timestamper, reason=reason, location=location
        )
    elif format == "xades":
        xml, digest = prepare_xml(document, credential)
        prepared = PreparedSignature("xades", digest, {"xml": _b64(xml)})
    elif format == "cms":
        prepared = await _prepare_cms(document, credential)
    else:
        raise UnsupportedDocument(
            f"cannot sign as {format}", errors=[FieldError("format", "not pades, xades or cms")]
        )
    prepared.state["timestamped"] = timestamper is not None
    return prepared


async def _signed_cms(
    prepared: PreparedSignature,
    credential: SigningCredential,
    signature: bytes,
    timestamper: TimeStamper | None,
) -> cms.ContentInfo:
    attrs = cms.CMSAttributes.load(base64.b64decode(prepared.state["signed_attrs"]))
    try:
        info: cms.ContentInfo = await _external(
            credential, signature
        ).async_sign_prescribed_attributes(DIGEST, signed_attrs=attrs, timestamper=timestamper)
    except TimestampRequestError as exc:
        raise TransientUpstreamError(f"the timestamp authority failed: {exc}") from None
    return info


async def finish(
    prepared: PreparedSignature,
    credential: SigningCredential,
    signature: bytes,
    *,
    timestamper: TimeStamper | None,
) -> bytes:
    """The signed document (PAdES, XAdES) or the detached CMS (DER)."""
    if prepared.format == "xades":
        signed = finish_xml(base64.b64decode(prepared.state["xml"]), credential, signature)
        return await timestamp_xml(signed, timestamper) if timestamper is not None else signed
    info = await _signed_cms(prepared, credential, signature, timestamper)
    if prepared.format == "cms":
        der: bytes = info.dump()
        return der
    state = prepared.state
    output = BytesIO(base64.b64decode(state["pdf"]))
    await PdfTBSDocument.async_finish_signing(
        output,
        PreparedByteRangeDigest(
            base64.b64decode(state["document_digest"]),
            int(state["reserved_start"]),
            int(state["reserved_end"]),
        ),
        info,
    )
    return output.getvalue()
