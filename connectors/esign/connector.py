"""The eSign connector: remote signing (PAdES, XAdES, detached CMS) and verification.

Signing and verification are service functions (:meth:`EsignConnector.sign`,
:meth:`EsignConnector.verify`); with the hash-signing service :meth:`EsignConnector.sign`
waits up to ``approval_wait_seconds`` for the holder, then raises
:class:`~connectors.esign.errors.ApprovalPending`.

Asynchronous signing (the API's path with the hash service, :mod:`connectors.esign.store`):
the outbox delivers ``request_signature`` (the holder is asked to approve a prepared digest,
under the signature's id as transaction id, so a redelivery asks nobody twice), and the
periodic job ``esign.approvals`` completes what was approved.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.esign.client_csc import CscSigner
from connectors.esign.client_hash import HashSigner
from connectors.esign.config import EsignConfig
from connectors.esign.errors import ERROR_TABLE, UnsupportedDocument
from connectors.esign.packets import sign_packet, verify_packet
from connectors.esign.prepared import DIGEST, PreparedSignature
from connectors.esign.signer import RemoteSigner, SigningCredential
from connectors.esign.verify import Verifier, detect_format
from gateway.core.connector import CheckResult, Delivered, ErrorRule, PeriodicJob
from gateway.core.errors import (
    ConfigurationError,
    FieldError,
    PayloadTooLarge,
    PermanentUpstreamError,
    UpstreamError,
)
from gateway.core.validation import validate_model
from schemas.esign import DocumentFormat, SignatureFormat, VerificationReport

if TYPE_CHECKING:  # pyHanko: loaded when a document is signed
    from gateway.core.http.timestamps import HttpxTimeStamper

__all__ = [
    "REQUEST_SIGNATURE",
    "SIGN_DOCUMENT",
    "EsignConnector",
    "SignJob",
    "SignatureRequest",
    "SignedDocument",
]

REQUEST_SIGNATURE = "request_signature"
#: a signature queued because the service or the timestamp authority was down
SIGN_DOCUMENT = "sign_document"


class SignatureRequest(BaseModel):
    """The outbox payload of ``request_signature``."""

    model_config = ConfigDict(extra="forbid")

    signature_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, lower-case hex")
    description: str = Field("", max_length=500)
    format: SignatureFormat | None = Field(
        None, description="what is signed (SmartCA's file_type); absent in older payloads"
    )


class SignJob(BaseModel):
    """The outbox payload of ``sign_document``: what ``POST /v1/esign/sign`` was asked, kept
    (sealed, like every payload) until the service and the TSA answer."""

    model_config = ConfigDict(extra="forbid")

    signature_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    #: who asked (the only client that may read it) and for which dossier
    client: str = Field(min_length=1, max_length=64)
    ma_ho_so: str | None = Field(None, max_length=64)
    document: str = Field(min_length=4, description="base64")
    format: SignatureFormat | None = None
    reason: str | None = Field(None, max_length=200)
    location: str | None = Field(None, max_length=200)
    timestamp: bool = True
    description: str = Field("", max_length=500)


@dataclass(frozen=True, slots=True)
class SignedDocument:
    """What signing produced: the signed document (PAdES, XAdES) or the detached CMS."""

    format: SignatureFormat
    data: bytes
    credential: SigningCredential
    timestamped: bool
    signed_at: datetime


class EsignConnector:
    slug: ClassVar[str] = "esign"
    operations: ClassVar[frozenset[str]] = frozenset({REQUEST_SIGNATURE, SIGN_DOCUMENT})
    error_table: ClassVar[Mapping[str, ErrorRule]] = ERROR_TABLE

    def __init__(
        self,
        config: EsignConfig,
        http: httpx.AsyncClient,
        *,
        signer: RemoteSigner | None = None,
    ) -> None:
        self.config = config
        self.http = http
        self.signer: RemoteSigner = signer or (
            CscSigner(config, http) if config.service == "csc" else HashSigner(config, http)
        )
        self.verifier = Verifier(config, http)
        self._gateway: Any = None

    def bind(self, gateway: Any) -> None:
        """:class:`~gateway.core.connector.GatewayBound`: queued signatures are stored (and
        announced) by the delivery itself, before it is settled."""
        self._gateway = gateway

    def timestamper(self) -> HttpxTimeStamper | None:
        if self.config.tsa_url is None:
            return None
        from gateway.core.http.timestamps import HttpxTimeStamper  # pyHanko: loaded when used

        return HttpxTimeStamper(
            self.http,
            self.config.tsa_url,
            timeout=self.config.timeout_seconds,
            operation="esign.tsa",
        )

    def _format_of(self, document: bytes, format: SignatureFormat | None) -> SignatureFormat:
        """Bound the document; PAdES for PDF, XAdES for XML, else detached CMS."""
        if len(document) > self.config.max_document_bytes:
            raise PayloadTooLarge(
                f"document is larger than {self.config.max_document_bytes} bytes",
                errors=[FieldError("document", "too large")],
            )
        if format is not None:
            return format
        try:
            detected = detect_format(document)
        except UnsupportedDocument:
            return "cms"
        return "pades" if detected == "pdf" else "xades" if detected == "xml" else "cms"

    async def sign(
        self,
        document: bytes,
        *,
        format: SignatureFormat | None = None,
        reason: str | None = None,
        location: str | None = None,
        timestamp: bool = True,
        description: str = "",
    ) -> SignedDocument:
        """Sign ``document`` now (the service, and its holder when it asks, agree at once)."""
        kind = self._format_of(document, format)
        from connectors.esign.sign import sign_document  # pyHanko, signxml: loaded when used

        timestamper = self.timestamper() if timestamp else None
        data = await sign_document(
            document,
            kind,
            self.signer,
            timestamper=timestamper,
            reason=reason,
            location=location,
            description=description,
        )
        return SignedDocument(
            format=kind,
            data=data,
            credential=await self.signer.credential(),
            timestamped=timestamper is not None,
            signed_at=datetime.now(UTC),
        )

    async def prepare(
        self,
        document: bytes,
        *,
        format: SignatureFormat | None = None,
        reason: str | None = None,
        location: str | None = None,
        timestamp: bool = True,
    ) -> tuple[SigningCredential, PreparedSignature]:
        """The first half of a signature whose value comes later (asynchronous signing)."""
        from connectors.esign.deferred import prepare  # pyHanko, signxml: loaded when used

        kind = self._format_of(document, format)
        credential = await self.signer.credential()
        prepared = await prepare(
            document,
            kind,
            credential,
            timestamper=self.timestamper() if timestamp else None,
            reason=reason,
            location=location,
        )
        return credential, prepared

    async def sign_document(self, content: bytes, media_type: str) -> bytes | None:
        """For the other connectors' documents (:class:`~gateway.core.connector.
        DocumentSigner`): a PDF signed PAdES, an XML document XAdES (timestamped when a TSA is
        configured); ``None`` for other kinds, whose detached CMS would not travel with them."""
        kind: SignatureFormat
        if media_type == "application/pdf":
            kind = "pades"
        elif media_type in ("application/xml", "text/xml") or media_type.endswith("+xml"):
            kind = "xades"
        else:
            return None
        signed = await self.sign(
            content, format=kind, reason="Kết quả giải quyết thủ tục hành chính"
        )
        return signed.data

    async def sign_packet(self, packet: Any, *, purpose: str) -> str:
        """:class:`~gateway.core.connector.PacketSigner`: the detached JWS of ``packet``
        (:func:`connectors.esign.packets.sign_packet`). Needs a service that signs at once
        (``csc``): with the hash service (SmartCA) each packet would wait for its holder."""
        if self.config.service != "csc":
            raise ConfigurationError(
                "packet signing needs LGSP_CONNECTORS__ESIGN__SERVICE=csc (a service that "
                "signs at once)"
            )
        return await sign_packet(packet, self.signer, purpose=purpose)

    async def verify_packet(self, packet: Any, token: str, *, source: str) -> None:
        """:class:`~gateway.core.connector.PacketSigner`: return when ``token`` is a valid
        signature of ``packet``; :class:`PacketSignatureInvalid` (logged) otherwise."""
        await verify_packet(packet, token, self.verifier, source=source)

    async def verify(
        self,
        document: bytes,
        *,
        format: DocumentFormat = "auto",
        signature: bytes | None = None,
    ) -> VerificationReport:
        return await self.verifier.verify(document, format=format, signature=signature)

    async def check(self) -> CheckResult:
        """The configured credential's certificate read from the service (nothing signed)."""
        started = time.perf_counter()
        try:
            credential = await self.signer.credential()
        except UpstreamError as exc:
            return CheckResult(
                False, f"credential look-up failed: {type(exc).__name__}: {exc.detail}"
            )
        latency = (time.perf_counter() - started) * 1000
        try:
            anchors = "; ".join(a.subject.human_friendly for a in self.verifier.trust_anchors())
        except ConfigurationError as exc:
            return CheckResult(False, exc.detail)
        return CheckResult(
            True,
            f"credential {credential.credential_id!r} of {credential.subject}; "
            f"trust anchors: {anchors[:300]}",
            latency,
        )

    def hash_signer(self) -> HashSigner:
        """The hash service's client; asynchronous signing needs it."""
        if not isinstance(self.signer, HashSigner):
            raise PermanentUpstreamError(
                "asynchronous signing needs the hash service (LGSP_CONNECTORS__ESIGN__SERVICE=hash)"
            )
        return self.signer

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        if operation == SIGN_DOCUMENT:
            return await self._sign_queued(payload)
        if operation != REQUEST_SIGNATURE:
            raise PermanentUpstreamError(f"esign delivers no operation {operation!r}")
        request = validate_model(SignatureRequest, payload, what="request_signature payload")
        transaction_id = await self.hash_signer().submit(
            bytes.fromhex(request.digest),
            DIGEST,
            description=request.description,
            transaction_id=request.signature_id,
            format=request.format,
        )
        return Delivered(
            f"approval of signature {request.signature_id} requested", upstream_ref=transaction_id
        )

    async def _sign_queued(self, payload: Mapping[str, Any]) -> Delivered:
        """A signature the service or the TSA could not give when asked: signed now, kept and
        announced (``esign.signed``) before the delivery is settled. A transient failure (the
        TSA still down) is retried by the outbox; a refusal fails the signature
        (``esign.failed``) and dead-letters the delivery."""
        from connectors.esign.store import settle_queued  # the store reaches the database

        job = validate_model(SignJob, payload, what="sign_document payload")
        if self._gateway is None:
            raise ConfigurationError("the eSign connector is not bound to a running gateway")
        try:
            signed = await self.sign(
                base64.b64decode(job.document),
                format=job.format,
                reason=job.reason,
                location=job.location,
                timestamp=job.timestamp,
                description=job.description,
            )
        except PermanentUpstreamError as exc:
            await settle_queued(self._gateway, job, failure=exc.detail)
            raise
        await settle_queued(self._gateway, job, signed=signed)
        return Delivered(f"signature {job.signature_id} made ({signed.format})")

    def periodic_jobs(self, gateway: Any) -> Sequence[PeriodicJob]:
        """``esign.approvals``: completes the asynchronous signatures (hash service only)."""
        if self.config.service != "hash":
            return []
        # imported here: the store reaches the database, which only a running gateway has
        from connectors.esign.store import complete_pending

        return [
            PeriodicJob(
                "esign.approvals",
                self.config.approval_check_seconds,
                lambda: complete_pending(gateway, self),
            )
        ]

    async def aclose(self) -> None:
        """The HTTP client is the gateway's; nothing else is held."""
