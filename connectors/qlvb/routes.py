"""Documents to the agencies' document management software (QLVB) as edXML packages.

* ``POST /v1/qlvb/documents`` (scope ``qlvb:send``): a dossier's document to one or more
  agencies, checked against QCVN 102:2016 (422 naming the field), accepted into the outbox
  (202 with ``exchange_id``; delivered in order per dossier). One document per dossier and
  DocumentId (sender, date, number/notation): the same request again answers the one accepted
  (200); other content under the same number, or a number another dossier used (the axis
  de-duplicates by DocumentId), is 409. ``Idempotency-Key`` is honoured.
* ``GET /v1/qlvb/documents/{ma_ho_so}`` (scope ``qlvb:read``): the dossier's documents, each
  receiving agency's state and every status package reported, in arrival order.
* ``POST /callbacks/qlvb/status``: a status package pushed by the axis (this project's
  profile: the edXML body, ``X-QLVB-Timestamp`` Unix seconds and ``X-QLVB-Signature`` hex
  HMAC-SHA256 under ``callback_secret`` over ``"{timestamp}.{body}"``), checked before
  anything is read; then its XML-DSig signature when present or required. Taken packages
  (applied, kept as history, duplicates) are answered ``{"status": "OK", "ErrorDesc": ""}``;
  refusals are problem+json and a ``refusal`` entry in the exchange log.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.qlvb import documents
from connectors.qlvb.connector import QlvbConnector
from connectors.qlvb.errors import QlvbDocumentUnknown, StatusRejected
from connectors.qlvb.mapping import VanBanGui
from gateway.core.clients import Principal
from gateway.core.delivery.intake import accept_delivery
from gateway.core.errors import GatewayError
from gateway.core.runtime import Gateway
from gateway.core.store import idempotency
from gateway.core.web.deps import GatewayDep, require_scope
from gateway.core.web.errors import record_refusal
from gateway.core.web.intake import reserve_key
from schemas.dvcqg import MA_HO_SO_PATTERN

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "callback_signature", "router"]

router = APIRouter(tags=["qlvb"])

SLUG = "qlvb"
SIGNATURE_HEADER = "X-QLVB-Signature"
TIMESTAMP_HEADER = "X-QLVB-Timestamp"
Sender = Annotated[Principal, Depends(require_scope("qlvb:send"))]
Reader = Annotated[Principal, Depends(require_scope("qlvb:read"))]
MaHoSo = Annotated[str, Path(pattern=MA_HO_SO_PATTERN, examples=["000.00.01.H22-240105-0007"])]


def callback_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over ``"{timestamp}.{body}"`` (this project's profile)."""
    return hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


_DOCUMENT_ID = "000.00.00.H22,2024/01/05,125/TTHCC-MC"


class DocumentLinks(BaseModel):
    self: str = Field(description="the dossier's documents: GET it for their statuses")
    exchange: str = Field(description="the exchange that delivers the package")


class DocumentAccepted(BaseModel):
    """A document accepted: delivered to the exchange axis through the outbox."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                    "document_id": _DOCUMENT_ID,
                    "exchange_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                    "status": "queued",
                    "links": {
                        "self": "/v1/qlvb/documents/000.00.01.H22-240105-0007",
                        "exchange": "/v1/exchanges/1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                    },
                }
            ]
        }
    )

    ma_ho_so: str
    document_id: str = Field(description="the edXML DocumentId")
    exchange_id: str = Field(description="the exchange that delivers it")
    status: Literal["queued", "sent"]
    links: DocumentLinks


DocumentState = Literal[
    "queued",
    "sent",
    "received",
    "rejected",
    "registered",
    "processing",
    "processed",
]
RecallState = Literal["recall_requested", "recall_accepted", "recall_refused"]


class StatusReportView(BaseModel):
    status_code: str = Field(description="the package's StatusCode", examples=["05"])
    status: str = Field(description="our state of that code", examples=["processing"])
    description: str = Field(description="the package's Description")
    at: str = Field(description="the package's Timestamp (ISO 8601, UTC)")
    source: Literal["poll", "callback"]
    applied: bool = Field(description="whether it moved the recipient (else history only)")
    recorded_at: str


class RecipientView(BaseModel):
    ma_co_quan_nhan: str = Field(description="the receiving agency's OrganId")
    status: DocumentState
    status_code: str | None = Field(description="the last applied code of the processing line")
    recall: RecallState | None
    last_status_at: str | None
    history: list[StatusReportView]


class DocumentView(BaseModel):
    ma_ho_so: str
    document_id: str
    trich_yeu: str
    status: Literal["queued", "sent"] = Field(description="sent: the exchange axis took it")
    exchange_id: str | None
    axis_doc_id: str | None = Field(description="the axis's DocID, once sent")
    sent_at: str | None
    created_at: str
    recipients: list[RecipientView]


class DossierDocuments(BaseModel):
    """The documents a dossier sent, oldest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                    "documents": [
                        {
                            "ma_ho_so": "000.00.01.H22-240105-0007",
                            "document_id": _DOCUMENT_ID,
                            "trich_yeu": "V/v chuyển hồ sơ xin ý kiến",
                            "status": "sent",
                            "exchange_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                            "axis_doc_id": "vxp-000001",
                            "sent_at": "2024-01-05T02:00:01Z",
                            "created_at": "2024-01-05T02:00:00Z",
                            "recipients": [
                                {
                                    "ma_co_quan_nhan": "000.00.12.H22",
                                    "status": "processing",
                                    "status_code": "05",
                                    "recall": None,
                                    "last_status_at": "2024-01-05T03:10:00Z",
                                    "history": [
                                        {
                                            "status_code": "05",
                                            "status": "processing",
                                            "description": "Đang xử lý văn bản đến",
                                            "at": "2024-01-05T03:10:00Z",
                                            "source": "poll",
                                            "applied": True,
                                            "recorded_at": "2024-01-05T03:10:30Z",
                                        }
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    ma_ho_so: str
    documents: list[DocumentView]


class StatusAnswer(BaseModel):
    """What a taken status package is answered (the SDK's answer shape)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "OK", "ErrorDesc": ""}]})

    status: Literal["OK"]
    ErrorDesc: Literal[""]


LOCATION: dict[str, Any] = {
    "Location": {
        "description": "the dossier's documents (links.self)",
        "schema": {"type": "string"},
    }
}
SENT: dict[int | str, dict[str, Any]] = {
    202: {"model": DocumentAccepted, "description": "accepted", "headers": LOCATION},
    200: {
        "model": DocumentAccepted,
        "description": "the same document was accepted before",
        "headers": LOCATION,
    },
    409: {
        "description": "this number/notation was sent with other content, or for another dossier"
    },
    422: {"description": "a field is invalid (problem+json naming each field)"},
}
CALLBACK_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "the HMAC or timestamp does not verify"},
    404: {"description": "no document sent to this agency has this DocumentId"},
    413: {"description": "the body is larger than the gateway accepts"},
    422: {"description": "not a valid status package, or its XML-DSig signature is refused"},
}
CALLBACK_EXAMPLE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
    '<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
    "<edXML:edXMLHeader><edXML:MessageHeader>"
    "<edXML:From><edXML:OrganId>000.00.12.H22</edXML:OrganId>"
    "<edXML:OrganName>Sở Tư pháp</edXML:OrganName></edXML:From>"
    "<edXML:ResponseFor><edXML:OrganId>000.00.00.H22</edXML:OrganId>"
    "<edXML:Code>125/TTHCC-MC</edXML:Code>"
    "<edXML:PromulgationDate>2024/01/05</edXML:PromulgationDate>"
    f"<edXML:DocumentId>{_DOCUMENT_ID}</edXML:DocumentId></edXML:ResponseFor>"
    "<edXML:StatusCode>05</edXML:StatusCode>"
    "<edXML:Description>Đang xử lý văn bản đến</edXML:Description>"
    "<edXML:Timestamp>2024/01/05 13:30:00</edXML:Timestamp>"
    "</edXML:MessageHeader></edXML:edXMLHeader></edXML:edXMLEnvelope></edXML>"
)
CALLBACK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"one status package (edXML, QCVN 102:2016), signed: {SIGNATURE_HEADER} "
        f"is the hex HMAC-SHA256 under the callback secret of {TIMESTAMP_HEADER} (seconds "
        "since the epoch), a dot and the raw body",
        "content": {
            "application/xml": {
                "schema": {"type": "string", "format": "binary"},
                "examples": {"status_05": {"value": CALLBACK_EXAMPLE}},
            }
        },
    }
}


def _connector(gw: Gateway) -> QlvbConnector:
    connector = gw.connector(SLUG)
    assert isinstance(connector, QlvbConnector)
    return connector


def _answer(view: dict[str, Any], exchange_id: str) -> dict[str, Any]:
    return {
        "ma_ho_so": view["ma_ho_so"],
        "document_id": view["document_id"],
        "exchange_id": exchange_id,
        "status": view["status"],
        "links": {
            "self": f"/v1/qlvb/documents/{view['ma_ho_so']}",
            "exchange": f"/v1/exchanges/{exchange_id}",
        },
    }


def _json(body: dict[str, Any], status: int, **headers: str) -> JSONResponse:
    return JSONResponse(
        body, status_code=status, headers={"Location": body["links"]["self"]} | headers
    )


@router.post("/v1/qlvb/documents", status_code=202, responses=SENT, operation_id="qlvb-send")
async def send_document(
    body: VanBanGui, request: Request, gw: GatewayDep, client: Sender
) -> JSONResponse:
    """Send a dossier's document to agencies' document management (through the outbox)."""
    connector = _connector(gw)
    connector.package(body)  # refused now (422) if the standard would refuse it
    document_id = body.document_id(connector.config.sender.organ_id)
    raw: bytes = getattr(request.state, "raw_body", b"")
    key, replay = await reserve_key(request, gw, client)
    if replay is not None:
        return replay
    try:
        payload = body.model_dump(mode="json")
        opened = await documents.open_document(
            gw,
            ma_ho_so=body.ma_ho_so,
            document_id=document_id,
            subject=body.trich_yeu,
            recipients=list(body.ma_co_quan_nhan),
            payload=payload,
        )
        if opened.exchange_id is not None:
            answer = _answer(opened.document, opened.exchange_id)
            if key is not None:
                async with gw.db.transaction() as session:
                    await idempotency.complete(
                        session, gw.cipher, client=client.name, key=key, status=200, body=answer
                    )
            return _json(answer, 200)
        accepted = await accept_delivery(
            gw,
            client=client.name,
            connector=SLUG,
            operation="send_document",
            ordering_key=f"{SLUG}:{body.ma_ho_so}",
            payload=payload,
            request_body=raw,
            ma_ho_so=body.ma_ho_so,
        )
        answers: list[dict[str, Any]] = []

        async def store(session: AsyncSession, held: str) -> None:
            answers.append(_answer(opened.document, held))
            if key is not None:
                await idempotency.complete(
                    session, gw.cipher, client=client.name, key=key, status=202, body=answers[0]
                )

        await documents.attach_exchange(
            gw,
            ma_ho_so=body.ma_ho_so,
            document_id=document_id,
            exchange_id=accepted.exchange_id,
            also=store,
        )
    except BaseException:
        if key is not None:
            await idempotency.release(gw.db, client=client.name, key=key)
        raise
    return _json(answers[0], 202)


@router.get(
    "/v1/qlvb/documents/{ma_ho_so}",
    response_model=None,
    responses={200: {"model": DossierDocuments, "description": "the dossier's documents"}},
    operation_id="qlvb-get",
)
async def get_documents(ma_ho_so: MaHoSo, gw: GatewayDep, _client: Reader) -> dict[str, Any]:
    """The documents the dossier sent, each receiving agency's state and status history."""
    found = await documents.of_dossier(gw, ma_ho_so)
    if not found:
        raise QlvbDocumentUnknown(f"the dossier {ma_ho_so} sent no document")
    return {"ma_ho_so": ma_ho_so, "documents": found}


def _authentic(connector: QlvbConnector, request: Request, raw: bytes) -> None:
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 and signature):
        raise StatusRejected(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    if abs(time.time() - int(timestamp)) > connector.config.callback_tolerance_seconds:
        raise StatusRejected(f"{TIMESTAMP_HEADER} is outside the tolerance")
    secret = connector.config.callback_secret.get_secret_value().encode()
    expected = callback_signature(secret, timestamp, raw).encode()
    # as bytes: a header with a non-ASCII character is a forgery (401), not a TypeError (500)
    if not hmac.compare_digest(expected, signature.lower().encode("utf-8", "replace")):
        raise StatusRejected(f"{SIGNATURE_HEADER} does not verify")


@router.post(
    "/callbacks/qlvb/status",
    response_model=None,
    responses={200: {"model": StatusAnswer, "description": "taken"}, **CALLBACK_REFUSALS},
    operation_id="qlvb-status-callback",
    openapi_extra=CALLBACK_BODY,
)
async def status_callback(request: Request, gw: GatewayDep) -> dict[str, str]:
    """A status package pushed by the exchange axis (authenticated by its HMAC)."""
    raw = await request.body()
    connector = _connector(gw)
    try:
        _authentic(connector, request, raw)
        report = connector.read_status(raw)
        await documents.apply_report(gw, report, source="callback", raw=raw)
    except GatewayError as exc:
        if exc.exchange_id is None:
            summary = exc.detail + "".join(f"; {e.loc}: {e.msg}" for e in exc.errors)
            exc.exchange_id = await record_refusal(request, exc.status, exc.type_slug, summary)
        raise
    return dict(documents.ANSWER_OK)
