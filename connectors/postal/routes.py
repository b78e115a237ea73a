"""Postal shipments through the public postal service (see :mod:`connectors.postal.shipments`).

* ``POST /v1/postal/shipments`` (scope ``postal:ship``): a pick-up of a dossier from a citizen
  or the delivery of a result to one, accepted into the outbox (202 with ``shipment_id`` and
  ``exchange_id``). One shipment per dossier and flow: the same request again answers the
  shipment already accepted (200); other content for the same dossier and flow is 409.
  ``Idempotency-Key`` is honoured. The packet is checked against the platform's schema before
  it is accepted (422 naming the field).
* ``GET /v1/postal/shipments/{shipment_id}`` (scope ``postal:read``): status and history;
  ``GET /v1/postal/shipments?ma_ho_so=`` the shipments of a dossier.
* ``POST /v1/postal/shipments/{shipment_id}/cancel`` (scope ``postal:ship``): the
  cancellation, through the outbox after the creation (202; 409 when the shipment is final).
  The status becomes ``cancelled`` when the platform says so.
* ``POST /v1/postal/quotes`` (scope ``postal:read``): the platform's price, synchronously
  (``tong_cuoc``: the public quote answer carries one price, ``content.price``).
* ``GET /v1/postal/reconciliation?date=YYYY-MM-DD[&format=csv]`` (scope ``postal:read``): the
  day's cash-on-delivery statement against the fees owed on shipments delivered that day.
* ``POST /callbacks/postal/vnpost``: the platform's status webhook, no API key: its signature
  is its authenticity, checked (constant time, timestamp within tolerance) before anything is
  read. Taken webhooks (applied, kept as history, or duplicates) are answered
  ``{"Status": "100", "Message": "OK"}`` (the public answer shape); every refusal is
  problem+json and a ``refusal`` entry in the log.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.postal import reconciliation as postal_reconciliation
from connectors.postal import shipments
from connectors.postal.client import SIGNATURE_HEADER, TIMESTAMP_HEADER
from connectors.postal.connector import PostalConnector
from connectors.postal.errors import WebhookRejected
from connectors.postal.mapping import QuoteIn, ShipmentRequest, event_from_wire, receiver_summary
from connectors.postal.status import WEBHOOKS
from gateway.core.clients import Principal
from gateway.core.delivery.intake import accept_delivery, call_through
from gateway.core.errors import GatewayError
from gateway.core.local_time import FIRST_DAY, LAST_DAY
from gateway.core.reconcile import FindingCounts, Kind, Totals, report_example
from gateway.core.runtime import Gateway
from gateway.core.store import idempotency
from gateway.core.web.deps import GatewayDep, require_scope
from gateway.core.web.errors import record_refusal
from gateway.core.web.intake import ACCEPTED_ANSWER, accept
from gateway.core.web.responses import csv_attachment
from schemas.dvcqg import MA_HO_SO_PATTERN
from schemas.postal import StatusWebhook

router = APIRouter(tags=["postal"])

SLUG = "postal"
Shipper = Annotated[Principal, Depends(require_scope("postal:ship"))]
Reader = Annotated[Principal, Depends(require_scope("postal:read"))]
ShipmentId = Annotated[str, Path(max_length=36, description="the gateway's shipment id (UUID)")]

ACCEPTED: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same shipment was accepted before"},
    409: {"description": "the dossier has another shipment of this flow, or it is final"},
    422: {"description": "a field is invalid (problem+json naming each field)"},
}
WEBHOOK_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "the signature or timestamp does not verify, or it is no webhook"},
    404: {"description": "no shipment has this OrderNumber"},
    413: {"description": "the body is larger than the gateway accepts"},
    422: {"description": "the body is no UTF-8 JSON, or nested too deep (refused unread)"},
}


def _standard(node: Any) -> Any:
    """A pydantic schema with the bounds its lax validators leave as ``ge``/``le`` written as
    JSON Schema's ``minimum``/``maximum``."""
    if isinstance(node, dict):
        names = {"ge": "minimum", "le": "maximum"}
        return {names.get(k, k): _standard(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_standard(v) for v in node]
    return node


WEBHOOK_EXAMPLE: dict[str, Any] = {
    "CustomerCode": "LGSP-H22",
    "OrderNumber": "H22-240105-0007-TRA",
    "ItemCode": "EB123456789VN",
    "StatusCode": "5",
    "StatusMessage": "Phát thành công",
    "EventTime": "20240108101500",
}
WEBHOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"one tracking-feed document, signed: {SIGNATURE_HEADER} is the hex "
        f"HMAC-SHA256 under the webhook secret of the {TIMESTAMP_HEADER} (seconds since the "
        "epoch), a dot and the raw body",
        "content": {
            "application/json": {
                "schema": _standard(StatusWebhook.model_json_schema()),
                "examples": {"webhook": {"value": WEBHOOK_EXAMPLE}},
            }
        },
    }
}


class WebhookAnswer(BaseModel):
    """What a taken webhook (applied, kept as history, or a duplicate) is answered, in the
    platform's public answer shape."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"Status": "100", "Message": "OK"}]})

    Status: Literal["100"] = Field(description='"100": taken')
    Message: Literal["OK"]


ShipmentStatus = Literal[
    "requested",
    "created",
    "picked_up",
    "in_transit",
    "failed_delivery",
    "delivered",
    "returned",
    "cancelled",
]
"""A shipment's status (:data:`connectors.postal.status.STATUSES`)."""
Instant = Annotated[str, Field(description="ISO 8601, UTC", examples=["2024-01-08T03:15:00Z"])]
MaybeInstant = Annotated[str | None, Field(description="ISO 8601, UTC; None until it happens")]

_SHIPMENT_EXAMPLE: dict[str, Any] = {
    "shipment_id": "7d3e2c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f",
    "ma_ho_so": "000.00.01.H22-240105-0007",
    "flow": "delivery",
    "order_number": "000.00.01.H22-240105-0007-delivery",
    "ma_dvc": "000.00.01.H22",
    "status": "delivered",
    "final": True,
    "tien_thu_ho": 0,
    "receiver": "N.V.A., 091****678 (001/01)",
    "platform_order_id": "EB123456789VN",
    "exchange_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    "cancel_exchange_id": None,
    "last_event_at": "2024-01-08T03:15:00Z",
    "last_polled_at": None,
    "delivered_at": "2024-01-08T03:15:00Z",
    "created_at": "2024-01-06T02:00:00Z",
    "updated_at": "2024-01-08T03:15:04Z",
}


class ShipmentEventView(BaseModel):
    """A status the platform reported (by webhook, poll or the API)."""

    status: ShipmentStatus | None = Field(description="None: a code nobody maps (kept)")
    platform_code: str | None = Field(description="the platform's StatusCode", examples=["5"])
    message: str | None = Field(description="the platform's StatusMessage")
    at: Instant = Field(description="the platform's time of the status (ISO 8601, UTC)")
    source: Literal["webhook", "poll", "api"]
    applied: bool = Field(description="whether it moved the shipment (else kept as history)")
    recorded_at: Instant


class ShipmentSummary(BaseModel):
    """A shipment of a dossier: a pick-up (the dossier to the centre) or a delivery (the
    result to the citizen)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SHIPMENT_EXAMPLE]})

    shipment_id: str = Field(description="the gateway's shipment id (UUID)")
    ma_ho_so: str
    flow: Literal["pickup", "delivery"]
    order_number: str = Field(description="the order number sent to the platform")
    ma_dvc: str = Field(description="the one-stop centre's agency code")
    status: ShipmentStatus
    final: bool = Field(description="delivered, returned or cancelled")
    tien_thu_ho: int = Field(description="VND collected on delivery")
    receiver: str = Field(description="who receives it, masked")
    platform_order_id: str | None = Field(description="the platform's ItemCode, once known")
    exchange_id: str | None = Field(description="the exchange that delivers the order")
    cancel_exchange_id: str | None = Field(description="the exchange that cancels it, if any")
    last_event_at: MaybeInstant
    last_polled_at: MaybeInstant
    delivered_at: MaybeInstant
    created_at: Instant
    updated_at: Instant


class ShipmentView(ShipmentSummary):
    """A shipment with every status reported, in the order they arrived."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _SHIPMENT_EXAMPLE
                | {
                    "history": [
                        {
                            "status": "delivered",
                            "platform_code": "5",
                            "message": "Phát thành công",
                            "at": "2024-01-08T03:15:00Z",
                            "source": "webhook",
                            "applied": True,
                            "recorded_at": "2024-01-08T03:15:04Z",
                        }
                    ]
                }
            ]
        }
    )

    history: list[ShipmentEventView]


class ShipmentList(BaseModel):
    """A dossier's shipments (at most one per flow), oldest first, without their history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"ma_ho_so": "000.00.01.H22-240105-0007", "shipments": [_SHIPMENT_EXAMPLE]}
            ]
        }
    )

    ma_ho_so: str
    shipments: list[ShipmentSummary]


class QuoteAnswer(BaseModel):
    """The platform's price of a shipment."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"exchange_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "tong_cuoc": 22000}
            ]
        }
    )

    exchange_id: str = Field(description="the exchange-log entry of the call")
    tong_cuoc: int = Field(description="VND, the platform's one price (content.price)")


class PostalFinding(BaseModel):
    kind: Kind
    ma_tham_chieu: str = Field(description="the order number")
    ma_giao_dich: str = Field(description="the platform's item code")
    payment_id: str | None = Field(
        description="the shipment's id here, if any (named as in the payment report)"
    )
    our_amount: int | None
    their_amount: int | None
    our_status: str | None
    their_status: str | None
    detail: str


class PostalReconciliation(BaseModel):
    """A day's reconciliation: ``ok`` only when nothing differs."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [report_example(our_status="delivered")]}
    )

    date: str = Field(description="the day (YYYY-MM-DD, Việt Nam time)")
    ok: bool = Field(description="nothing differs")
    matched: int = Field(description="how many matched on both sides")
    totals: Totals
    counts: FindingCounts = Field(description="findings per kind")
    findings: list[PostalFinding]


class ShipmentLinks(BaseModel):
    self: str = Field(description="the shipment: GET it for its status")
    exchange: str = Field(description="the exchange that delivers the order or its cancellation")


class ShipmentAccepted(BaseModel):
    """A shipment (or its cancellation) accepted: delivered to the platform through the
    outbox, in order per order number."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shipment_id": "7d3e2c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f",
                    "exchange_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                    "order_number": "000.00.01.H22-240105-0007-delivery",
                    "status": "requested",
                    "links": {
                        "self": "/v1/postal/shipments/7d3e2c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f",
                        "exchange": "/v1/exchanges/1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                    },
                }
            ]
        }
    )

    shipment_id: str = Field(description="the gateway's shipment id (UUID)")
    exchange_id: str = Field(description="the exchange that delivers it")
    order_number: str = Field(description="the order number sent to the platform")
    status: ShipmentStatus
    links: ShipmentLinks


LOCATION: dict[str, Any] = {
    "Location": {"description": "the shipment (links.self)", "schema": {"type": "string"}}
}
CREATED: dict[int | str, dict[str, Any]] = {
    **ACCEPTED,
    202: {"model": ShipmentAccepted, "description": "accepted", "headers": LOCATION},
    200: {
        "model": ShipmentAccepted,
        "description": "the same shipment was accepted before",
        "headers": LOCATION,
    },
}
CANCELLED: dict[int | str, dict[str, Any]] = {
    **ACCEPTED,
    **ACCEPTED_ANSWER,
    200: {
        "model": ShipmentAccepted,
        "description": "its cancellation was accepted before",
        "headers": LOCATION,
    },
}


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ly_do: str = Field("", max_length=500, examples=["Công dân nhận trực tiếp tại bộ phận"])


def _connector(gw: Gateway) -> PostalConnector:
    connector = gw.connector(SLUG)
    assert isinstance(connector, PostalConnector)
    return connector


def _ordering_key(number: str) -> str:
    # one queue per order: its cancellation never overtakes its creation
    return f"{SLUG}:{number}"


def _answer(view: dict[str, Any], exchange_id: str) -> dict[str, Any]:
    return {
        "shipment_id": view["shipment_id"],
        "exchange_id": exchange_id,
        "order_number": view["order_number"],
        "status": view["status"],
        "links": {
            "self": f"/v1/postal/shipments/{view['shipment_id']}",
            "exchange": f"/v1/exchanges/{exchange_id}",
        },
    }


def _json(body: dict[str, Any], status: int, **headers: str) -> JSONResponse:
    return JSONResponse(
        body, status_code=status, headers={"Location": body["links"]["self"]} | headers
    )


@router.post(
    "/v1/postal/shipments", status_code=202, responses=CREATED, operation_id="postal-create"
)
async def create_shipment(
    body: ShipmentRequest, request: Request, gw: GatewayDep, client: Shipper
) -> JSONResponse:
    """Order a pick-up or a delivery (delivered to the platform through the outbox)."""
    connector = _connector(gw)
    packet = connector.order_packet(body)  # refused now if the platform's schema would
    raw: bytes = getattr(request.state, "raw_body", b"")
    key = request.headers.get("idempotency-key")
    if key is not None:
        stored = await idempotency.reserve(
            gw.db, gw.cipher, client=client.name, key=key, request_body=raw
        )
        if stored is not None:
            return _json(stored.body, stored.status, **{"Idempotent-Replayed": "true"})
    try:
        payload = body.model_dump(mode="json")
        opened = await shipments.open_shipment(
            gw,
            ma_ho_so=body.ma_ho_so,
            flow=body.flow,
            order_number=packet.OrderNumber,
            agency=body.ma_dvc,
            cod_amount=body.tien_thu_ho,
            receiver=receiver_summary(body, connector.centre(body.ma_dvc)),
            payload=payload,
        )
        view = opened.shipment
        if opened.exchange_id is not None:
            answer = _answer(view, opened.exchange_id)
            if key is not None:
                await _complete(gw, client.name, key, 200, answer)
            return _json(answer, 200)
        accepted = await accept_delivery(
            gw,
            client=client.name,
            connector=SLUG,
            operation="create_order",
            ordering_key=_ordering_key(packet.OrderNumber),
            payload=payload,
            request_body=raw,
            ma_ho_so=body.ma_ho_so,
        )
        # the idempotent answer is stored with the exchange id it names, in one transaction:
        # a crash before it leaves the key unanswered (taken over once stale) and the shipment
        # without its exchange, so the retry accepts again and the platform, finding the same
        # order number and content, answers the order it already made
        answers: list[dict[str, Any]] = []

        async def store(session: AsyncSession, held: str) -> None:
            answers.append(_answer(view, held))
            if key is not None:
                await idempotency.complete(
                    session, gw.cipher, client=client.name, key=key, status=202, body=answers[0]
                )

        await shipments.attach_exchange(
            gw, view["shipment_id"], accepted.exchange_id, kind="create", also=store
        )
    except BaseException:
        if key is not None:
            await idempotency.release(gw.db, client=client.name, key=key)
        raise
    return _json(answers[0], 202)


async def _complete(gw: Gateway, client: str, key: str, status: int, body: dict[str, Any]) -> None:
    async with gw.db.transaction() as session:
        await idempotency.complete(
            session, gw.cipher, client=client, key=key, status=status, body=body
        )


@router.get(
    "/v1/postal/shipments",
    response_model=None,
    responses={200: {"model": ShipmentList, "description": "the dossier's shipments"}},
    operation_id="postal-list",
)
async def list_shipments(
    gw: GatewayDep,
    _client: Reader,
    ma_ho_so: Annotated[str, Query(pattern=MA_HO_SO_PATTERN, description="the dossier's code")],
) -> dict[str, Any]:
    """The shipments of a dossier (its pick-up and its delivery, when asked for)."""
    return {"ma_ho_so": ma_ho_so, "shipments": await shipments.of_dossier(gw, ma_ho_so)}


@router.get(
    "/v1/postal/shipments/{shipment_id}",
    response_model=None,
    responses={200: {"model": ShipmentView, "description": "the shipment"}},
    operation_id="postal-get",
)
async def get_shipment(shipment_id: ShipmentId, gw: GatewayDep, _client: Reader) -> dict[str, Any]:
    """The shipment, its status and every status reported, oldest first."""
    return await shipments.get(gw, shipment_id)


@router.post(
    "/v1/postal/shipments/{shipment_id}/cancel",
    status_code=202,
    responses=CANCELLED,
    operation_id="postal-cancel",
)
async def cancel_shipment(
    shipment_id: ShipmentId, body: CancelIn, request: Request, gw: GatewayDep, client: Shipper
) -> JSONResponse:
    """Cancel a shipment not final (delivered to the platform after its creation)."""
    view = await shipments.cancellable(gw, shipment_id)
    if view["cancel_exchange_id"] is not None:
        return _json(_answer(view, view["cancel_exchange_id"]), 200)
    response = await accept(
        request,
        gw,
        client,
        connector=SLUG,
        operation="cancel_order",
        ordering_key=_ordering_key(view["order_number"]),
        payload={"order_number": view["order_number"], "ly_do": body.ly_do},
        ma_ho_so=view["ma_ho_so"],
    )
    if response.status_code == 202:
        exchange_id = json.loads(bytes(response.body))["exchange_id"]
        await shipments.attach_exchange(gw, shipment_id, exchange_id, kind="cancel")
    return response


@router.post(
    "/v1/postal/quotes",
    response_model=None,
    responses={200: {"model": QuoteAnswer, "description": "the price"}},
    operation_id="postal-quote",
)
async def quote(body: QuoteIn, request: Request, gw: GatewayDep, client: Reader) -> dict[str, Any]:
    """The platform's price of a shipment between a citizen's district and a centre."""
    connector = _connector(gw)
    exchange_id, answer = await call_through(
        gw,
        connector=SLUG,
        operation="quote",
        client=client.name,
        call=lambda: connector.quote(body),
        render=lambda price: json.dumps({"tong_cuoc": price}).encode(),
        request_body=getattr(request.state, "raw_body", b""),
    )
    return {"exchange_id": exchange_id, "tong_cuoc": answer}


@router.get(
    "/v1/postal/reconciliation",
    responses={
        200: {
            "model": PostalReconciliation,
            "content": {"text/csv": {}},
            "description": "the report (JSON, or CSV)",
        },
        502: {"description": "the postal service refused or failed"},
    },
    response_model=None,
    operation_id="postal-reconciliation",
)
async def reconciliation(
    gw: GatewayDep,
    _client: Reader,
    day: Annotated[
        date,
        Query(alias="date", description="YYYY-MM-DD, Việt Nam time", ge=FIRST_DAY, le=LAST_DAY),
    ],
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """The platform's collections of a day against the fees owed on shipments delivered that
    day: missing on either side, amount differences, duplicates; ``ok`` only when none."""
    statement = await _connector(gw).client.statement(day)
    report = await postal_reconciliation.reconcile(gw.db, statement, day=day)
    if format == "csv":
        return csv_attachment(
            postal_reconciliation.report_csv_postal(report),
            f"postal-reconciliation-{day.isoformat()}.csv",
        )
    return report.as_dict()


@router.post(
    "/callbacks/postal/vnpost",
    response_model=None,
    responses={200: {"model": WebhookAnswer, "description": "taken"}, **WEBHOOK_REFUSALS},
    operation_id="postal-webhook",
    openapi_extra=WEBHOOK_BODY,
)
async def webhook(request: Request, gw: GatewayDep) -> dict[str, str]:
    """The platform's status webhook (authenticated by its signature)."""
    raw = await request.body()
    connector = _connector(gw)
    try:
        try:
            packet = connector.client.verify_webhook(raw, request.headers)
        except WebhookRejected:
            WEBHOOKS.labels("rejected").inc()
            raise
        report = event_from_wire(packet.OrderNumber, packet)
        try:
            await shipments.apply_report(gw, report, source="webhook", raw=raw)
        except GatewayError:
            WEBHOOKS.labels("refused").inc()
            raise
    except GatewayError as exc:
        if exc.exchange_id is None:
            summary = exc.detail + "".join(f"; {e.loc}: {e.msg}" for e in exc.errors)
            exc.exchange_id = await record_refusal(request, exc.status, exc.type_slug, summary)
        raise
    return dict(shipments.ANSWER_OK)
