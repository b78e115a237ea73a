"""Signing and verification of documents through the eSign connector.

* ``POST /v1/esign/verify`` (scope ``esign:verify``): a document (base64) and, for a detached
  CMS, its signature; the format is detected (``%PDF`` -> PAdES, XML -> XAdES) or given. The
  answer is the verification report: one entry per signature with integrity, chain, trust
  anchor, certificate validity, revocation (``good`` | ``revoked`` | ``unknown``), timestamp,
  verdict (``valid`` | ``invalid`` | ``indeterminate``) and reasons. A report is an answer
  (200) whatever its verdict; only a document that cannot be read is refused (422).
* ``POST /v1/esign/sign`` (scope ``esign:sign``): the document signed by the configured remote
  service: PAdES for PDF, XAdES for XML, detached CMS otherwise (or as asked), each with a
  signature timestamp from the configured authority (PAdES B-T, XAdES-T) unless
  ``timestamp`` is false. With the CSC service (it signs at once): 200 with the
  signed document (or the CMS). With the hash service (SmartCA: its holder approves on their
  phone):
  the signature is prepared, then 202 ``{id, status: "pending", exchange_id}``; the request to
  the holder goes through the outbox, and the result is read at
  ``GET /v1/esign/signatures/{id}`` and announced as the event ``esign.signed`` (or
  ``esign.failed``: denied, expired, not approved within ``APPROVAL_TIMEOUT_SECONDS``).
  ``Idempotency-Key`` is honoured: the same key and body answer the first answer again.
* ``GET /v1/esign/signatures/{id}`` (scope ``esign:sign``): the asynchronous signature, for
  the client that asked for it.

Both are logged as one exchange with their attempts (the service calls, CRL/OCSP, TSA); a
refusal is problem+json naming the field (``document``, ``signature``, ``format``). Request
bodies are bounded by ``LGSP_MAX_BODY_BYTES`` and documents by
``LGSP_CONNECTORS__ESIGN__MAX_DOCUMENT_BYTES``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connectors.esign import store
from connectors.esign.connector import (
    REQUEST_SIGNATURE,
    SIGN_DOCUMENT,
    EsignConnector,
    SignatureRequest,
    SignedDocument,
    SignJob,
)
from gateway.core.clients import Principal
from gateway.core.delivery.intake import accept_delivery, call_through
from gateway.core.errors import CircuitOpen, FieldError, InvalidInput, TransientUpstreamError
from gateway.core.maintenance import PlatformInMaintenance
from gateway.core.runtime import Gateway
from gateway.core.store import idempotency
from gateway.core.web.deps import GatewayDep, require_scope
from gateway.core.web.intake import reserve_key
from schemas.esign import (
    SignAccepted,
    SignRequest,
    SignResult,
    VerificationReport,
    VerifyRequest,
)

router = APIRouter(prefix="/v1/esign", tags=["esign"])

SLUG = "esign"
Signer = Annotated[Principal, Depends(require_scope("esign:sign"))]
VerifierClient = Annotated[Principal, Depends(require_scope("esign:verify"))]

REFUSALS: dict[int | str, dict[str, Any]] = {
    413: {"description": "the document is larger than the configured bound"},
    422: {"description": "a field is invalid, or the document cannot be read"},
    502: {"description": "the signing service refused or failed"},
}


class VerifyAnswer(VerificationReport):
    exchange_id: str


class SignatureView(BaseModel):
    """An asynchronous signature as its client sees it (:func:`connectors.esign.store.view`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c2a9e-3b1d-4c6e-8f7a-2d9b1e4c0a36",
                    "status": "signed",
                    "format": "pades",
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                    "exchange_id": "0b8f3c1e-5d2a-4f7e-9a61-3c2d1e0f4a5b",
                    "detail": None,
                    "signed_document": "JVBERi0xLjcK...",
                    "signature": None,
                    "created_at": "2026-03-02T01:15:00+00:00",
                    "settled_at": "2026-03-02T01:16:12+00:00",
                }
            ]
        }
    )

    id: str = Field(description="the signature's id (the Location of the 202)")
    status: Literal["pending", "signed", "failed"]
    format: str = Field(
        description="pades, xades or cms; queued while a queued signature is not yet made",
        examples=["pades"],
    )
    ma_ho_so: str | None = Field(description="the dossier the document is of, when given")
    exchange_id: str = Field(description="the exchange-log entry of the request")
    detail: str | None = Field(description="why it failed, or how it was settled")
    signed_document: str | None = Field(
        description="base64; PAdES and XAdES, once signed (null otherwise)"
    )
    signature: str | None = Field(description="base64 DER; a detached CMS, once signed")
    created_at: datetime
    settled_at: datetime | None = Field(description="when it was signed or failed")


def connector_of(gw: Gateway) -> EsignConnector:
    connector = gw.connector(SLUG)
    assert isinstance(connector, EsignConnector)
    return connector


def decoded(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            f"{field} is not standard base64", errors=[FieldError(field, "not base64")]
        ) from None


@router.post("/verify", responses=REFUSALS, operation_id="esign-verify")
async def verify_document(
    body: VerifyRequest, request: Request, gw: GatewayDep, client: VerifierClient
) -> VerifyAnswer:
    """Verify every signature of a document (or a detached CMS over a file)."""
    document = decoded(body.document, "document")
    signature = decoded(body.signature, "signature") if body.signature is not None else None
    if body.format == "cms" and signature is None:
        raise InvalidInput(
            "a CMS is verified against its file: give the signature too",
            errors=[FieldError("signature", "required when format is cms")],
        )
    connector = connector_of(gw)
    exchange_id, report = await call_through(
        gw,
        connector=SLUG,
        operation="esign.verify",
        client=client.name,
        call=lambda: connector.verify(document, format=body.format, signature=signature),
        render=lambda r: r.model_dump_json().encode(),
        request_body=getattr(request.state, "raw_body", b""),
    )
    return VerifyAnswer(exchange_id=exchange_id, **report.model_dump())


@router.post(
    "/sign",
    response_model=None,
    responses={
        200: {"model": SignResult, "description": "signed at once: the document, or the CMS"},
        202: {
            "model": SignAccepted,
            "description": "awaiting the holder's approval, or queued (the service or the "
            "TSA down, or Prefer: respond-async): the result at Location",
        },
        **REFUSALS,
    },
    operation_id="esign-sign",
)
async def sign_document(
    body: SignRequest,
    request: Request,
    gw: GatewayDep,
    client: Signer,
) -> Any:
    """Sign a document with the configured remote service; the key stays there. Honours
    ``Idempotency-Key``: the same key and body again answer what the first one was answered
    (the signed document, or the pending signature), without signing twice."""
    key, replay = await reserve_key(request, gw, client)
    if replay is not None:
        return replay
    try:
        answer = await _sign(body, request, gw, client)
    except BaseException:
        if key is not None:
            await idempotency.release(gw.db, client=client.name, key=key)
        raise
    if key is not None:
        async with gw.db.transaction() as session:
            await idempotency.complete(
                session,
                gw.cipher,
                client=client.name,
                key=key,
                status=answer.status_code,
                body=json.loads(bytes(answer.body)),
            )
    return answer


async def _sign(
    body: SignRequest, request: Request, gw: Gateway, client: Principal
) -> JSONResponse:
    document = decoded(body.document, "document")
    connector = connector_of(gw)
    format = None if body.format == "auto" else body.format
    description = f"Ký {body.file_name or 'tài liệu'}" + (
        f" của hồ sơ {body.ma_ho_so}" if body.ma_ho_so else ""
    )
    if connector.config.service == "hash":
        return await _sign_later(gw, request, body, client, document, description)
    if _prefers_async(request):
        return await _sign_queued(gw, request, body, client, description, why="asked for")
    try:
        exchange_id, signed = await call_through(
            gw,
            connector=SLUG,
            operation="esign.sign",
            client=client.name,
            call=lambda: connector.sign(
                document,
                format=format,
                reason=body.reason,
                location=body.location,
                timestamp=body.timestamp,
                description=description,
            ),
            render=lambda s: _result(s, "").model_dump_json().encode(),
            request_body=getattr(request.state, "raw_body", b""),
            ma_ho_so=body.ma_ho_so,
        )
    except (TransientUpstreamError, CircuitOpen, PlatformInMaintenance) as exc:
        # the service or the timestamp authority is down: accepted all the same, signed by
        # the workers when they answer again
        return await _sign_queued(gw, request, body, client, description, why=exc.detail)
    return JSONResponse(_result(signed, exchange_id).model_dump(mode="json"))


def _prefers_async(request: Request) -> bool:
    """``Prefer: respond-async`` (RFC 7240): the client wants a 202 at once, never a wait."""
    return any(
        token.strip().lower() == "respond-async"
        for value in request.headers.getlist("prefer")
        for token in value.split(",")
    )


async def _sign_queued(
    gw: Gateway,
    request: Request,
    body: SignRequest,
    client: Principal,
    description: str,
    *,
    why: str,
) -> JSONResponse:
    """Accept the signature into the outbox (202): ``sign_document``, delivered by the workers
    with the retries of every delivery; the result at ``/v1/esign/signatures/{id}`` and as
    the event ``esign.signed`` (or ``esign.failed``)."""
    signature_id = str(uuid.uuid4())
    job = SignJob(
        signature_id=signature_id,
        client=client.name,
        ma_ho_so=body.ma_ho_so,
        document=body.document,
        format=None if body.format == "auto" else body.format,
        reason=body.reason,
        location=body.location,
        timestamp=body.timestamp,
        description=description,
    )
    accepted = await accept_delivery(
        gw,
        client=client.name,
        connector=SLUG,
        operation=SIGN_DOCUMENT,
        ordering_key=signature_id,
        payload=job.model_dump(),
        request_body=getattr(request.state, "raw_body", b""),
        ma_ho_so=body.ma_ho_so,
    )
    await store.open_queued(
        gw,
        signature_id=signature_id,
        client=client.name,
        exchange_id=accepted.exchange_id,
        ma_ho_so=body.ma_ho_so,
    )
    answer = SignAccepted(
        id=signature_id,
        status="pending",
        exchange_id=accepted.exchange_id,
        detail=f"queued ({why[:200]}): the result comes at /v1/esign/signatures/"
        f"{signature_id} and as the event esign.signed",
    )
    return JSONResponse(
        answer.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/v1/esign/signatures/{signature_id}"},
    )


async def _sign_later(
    gw: Gateway,
    request: Request,
    body: SignRequest,
    client: Principal,
    document: bytes,
    description: str,
) -> JSONResponse:
    """The hash service's holder approves later: prepare now, ask through the outbox (202)."""
    connector = connector_of(gw)
    signature_id = str(uuid.uuid4())
    exchange_id, (credential, prepared) = await call_through(
        gw,
        connector=SLUG,
        operation="esign.prepare",
        client=client.name,
        call=lambda: connector.prepare(
            document,
            format=None if body.format == "auto" else body.format,
            reason=body.reason,
            location=body.location,
            timestamp=body.timestamp,
        ),
        render=lambda p: p[1].digest.hex().encode(),
        ma_ho_so=body.ma_ho_so,
    )
    await store.open_signature(
        gw,
        signature_id=signature_id,
        client=client.name,
        exchange_id=exchange_id,
        ma_ho_so=body.ma_ho_so,
        credential_id=credential.credential_id,
        prepared=prepared,
    )
    accepted = await accept_delivery(
        gw,
        client=client.name,
        connector=SLUG,
        operation=REQUEST_SIGNATURE,
        ordering_key=signature_id,
        payload=SignatureRequest(
            signature_id=signature_id,
            digest=prepared.digest.hex(),
            description=description,
            format=prepared.format,
        ).model_dump(),
        request_body=getattr(request.state, "raw_body", b""),
        ma_ho_so=body.ma_ho_so,
    )
    answer = SignAccepted(
        id=signature_id,
        status="pending",
        exchange_id=accepted.exchange_id,
        detail="the certificate holder is asked to approve; the result comes at "
        f"/v1/esign/signatures/{signature_id} and as the event esign.signed",
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)


@router.get(
    "/signatures/{signature_id}",
    operation_id="esign-get-signature",
    response_model=None,
    responses={200: {"model": SignatureView, "description": "the signature"}},
)
async def get_signature(
    signature_id: Annotated[str, Path(max_length=36)], gw: GatewayDep, client: Signer
) -> dict[str, Any]:
    """An asynchronous signature: ``pending``, ``signed`` (with the document or the CMS) or
    ``failed`` (with why). Only the client that asked for it can read it."""
    return await store.view(gw, signature_id, client=client.name)


def _result(signed: SignedDocument, exchange_id: str) -> SignResult:
    encoded = base64.b64encode(signed.data).decode("ascii")
    return SignResult(
        id=exchange_id,
        format=signed.format,
        signed_document=None if signed.format == "cms" else encoded,
        signature=encoded if signed.format == "cms" else None,
        signer_subject=signed.credential.subject,
        signer_serial=signed.credential.serial_hex,
        timestamped=signed.timestamped,
        signed_at=signed.signed_at,
    )
