"""Signing a document with a remote signer in one go: prepare, have the digest signed, finish
(:mod:`connectors.esign.deferred` does the two halves; here they run back to back)."""

from __future__ import annotations

from pyhanko.sign.timestamps.api import TimeStamper

from connectors.esign.deferred import DIGEST, finish, prepare
from connectors.esign.signer import RemoteSigner
from schemas.esign import SignatureFormat

__all__ = ["sign_document"]


async def sign_document(
    document: bytes,
    format: SignatureFormat,
    remote: RemoteSigner,
    *,
    timestamper: TimeStamper | None,
    reason: str | None = None,
    location: str | None = None,
    description: str = "",
) -> bytes:
    """PAdES B-B or B-T, XAdES-BES or -T (B-T and -T with a timestamper), or a detached CMS."""
    credential = await remote.credential()
    prepared = await prepare(
        document, format, credential, timestamper=timestamper, reason=reason, location=location
    )
    signature = await remote.sign_digest(
        prepared.digest, DIGEST, description=description, format=format
    )
    return await finish(prepared, credential, signature, timestamper=timestamper)
