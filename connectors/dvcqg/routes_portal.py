"""Online dossiers from the national portal (see :mod:`connectors.dvcqg.portal_dossiers` and
:mod:`connectors.dvcqg.online`).

* ``POST /callbacks/dvcqg/dossiers``: the portal pushes online dossiers; no API key: the
  Standard Webhooks signature with the push secret is its authenticity, checked (with its
  time) before the body is read. Answered ``{"error_code": "0", "message", "result":
  [{MaHoSo, PhienBan, KetQua}]}`` only once every version is durably stored: the answer is the
  acknowledgement. A refusal (401 bad signature or time, 422 a field, naming it) is
  problem+json, a ``refusal`` entry in the exchange log, and stores nothing (so is a push
  whose packet signature is missing or wrong, when ``LGSP_PACKET_SIGNING__VERIFY_INBOUND``
  names ``dvcqg``); a document the
  portal's file server fails to give is 503 (the portal pushes again).
* ``POST /callbacks/dvcqg/citizens``: feedback, ratings or questions pushed the same way
  (:mod:`connectors.dvcqg.portal_items`), answered ``result: [{Ma, KetQua}]``.
* ``POST /v1/dvcqg/feedback/{ma_phan_anh}/answer`` and ``/v1/dvcqg/questions/{ma_cau_hoi}/
  answer`` (scope ``dvcqg:sync``): the answer, sent back through the outbox (202).
* ``GET /v1/dvcqg/feedback?status=open|overdue|answered|all`` and ``GET /v1/dvcqg/ratings?
  from=&to=`` (scope ``dvcqg:read``): deadlines and overdue feedback; ratings per agency and
  officer.
* ``GET /v1/dvcqg/online-dossiers/{ma_ho_so}`` (scope ``dvcqg:read``): the current version
  as received, its documents (status, size, SHA-256) and every version's status.
* ``GET /v1/dvcqg/online-dossiers/{ma_ho_so}/files/{tep_dinh_kem_id}`` (scope
  ``dvcqg:read``): a kept document's bytes, with its SHA-256 in ``X-Content-SHA256``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from connectors.dvcqg import portal_dossiers, portal_items
from connectors.dvcqg.routes import MaHoSo, Reader, Syncer, dvcqg_connector
from gateway.core.errors import FieldError, GatewayError, InvalidInput
from gateway.core.http.recording import AttemptContext, attempt_context
from gateway.core.local_time import FIRST_DAY, LAST_DAY
from gateway.core.log.exchange_log import Crossing, new_exchange_id
from gateway.core.packet_signing import check_inbound
from gateway.core.runtime import Gateway
from gateway.core.web.deps import GatewayDep
from gateway.core.web.errors import record_refusal

router = APIRouter(tags=["dvcqg"])

TepId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
PUSH_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "the signature or its time does not verify"},
    422: {"description": "a field is invalid, or the push is for another province"},
    503: {"description": "a document could not be fetched from the portal: push again"},
}


async def _signed_packet(request: Request, gw: Gateway, raw: bytes) -> None:
    """When the portal's packets must be signed (``LGSP_PACKET_SIGNING__VERIFY_INBOUND``),
    the push's detached signature is checked before anything is stored."""
    await check_inbound(
        connector=portal_dossiers.CONNECTOR,
        settings=gw.settings.packet_signing,
        connectors=gw.connectors,
        headers=request.headers,
        packet=json.loads(raw),
    )


async def _receive_push(
    request: Request,
    gw: Gateway,
    operation: str,
    receive: Callable[[bytes], Awaitable[list[dict[str, Any]]]],
) -> dict[str, Any]:
    """Verify and store a push (``receive``: the raw body -> one acknowledgement per item),
    its document fetches hanging under its exchange; answered once everything is stored."""
    raw = await request.body()
    exchange_id = new_exchange_id()
    attempts: list[Crossing] = []
    try:
        ctx = AttemptContext(operation=operation, parent_id=exchange_id, collect=attempts)
        with attempt_context(ctx):
            acks = await receive(raw)
    except GatewayError as exc:
        if attempts:
            await gw.record(*attempts)
        summary = exc.detail + "".join(f"; {e.loc}: {e.msg}" for e in exc.errors)
        exc.exchange_id = await record_refusal(request, exc.status, exc.type_slug, summary)
        raise
    answer = {"error_code": "0", "message": "Đã nhận", "result": acks}
    await gw.record(
        *attempts,
        Crossing(
            kind="callback",
            entry_id=exchange_id,
            connector=portal_dossiers.CONNECTOR,
            operation=operation,
            outcome="accepted",
            status_code=200,
            request=raw,
            response=json.dumps(answer, ensure_ascii=False).encode(),
            detail=", ".join(f"{a.get('MaHoSo', a.get('Ma'))}: {a['KetQua']}" for a in acks)[:500],
        ),
    )
    return answer


@router.post(
    "/callbacks/dvcqg/dossiers", responses=PUSH_REFUSALS, operation_id="dvcqg-push-dossiers"
)
async def push_dossiers(request: Request, gw: GatewayDep) -> dict[str, Any]:
    """The portal pushes online dossiers (signed); answered once they are stored."""
    connector = dvcqg_connector(gw)

    async def receive(raw: bytes) -> list[dict[str, Any]]:
        push = connector.online.verify_push(request.headers, raw)
        await _signed_packet(request, gw, raw)
        outcomes = await portal_dossiers.receive(
            gw,
            push.data,
            via="push",
            fetch=connector.online.fetch,
            max_attachment_bytes=connector.config.max_attachment_bytes,
        )
        return [o.as_ack() for o in outcomes]

    return await _receive_push(request, gw, "push_online_dossiers", receive)


@router.post(
    "/callbacks/dvcqg/citizens", responses=PUSH_REFUSALS, operation_id="dvcqg-push-citizens"
)
async def push_citizen_items(request: Request, gw: GatewayDep) -> dict[str, Any]:
    """The portal pushes feedback, ratings or questions (signed); answered once stored."""
    connector = dvcqg_connector(gw)

    async def receive(raw: bytes) -> list[dict[str, Any]]:
        kind, items = connector.online.verify_citizen_push(request.headers, raw)
        await _signed_packet(request, gw, raw)
        outcomes = await portal_items.receive(gw, kind, items, via="push")
        return [{"Ma": o.ma_ho_so, "KetQua": o.ket_qua} for o in outcomes]

    return await _receive_push(request, gw, "push_citizen_items", receive)


@router.get("/v1/dvcqg/online-dossiers/{ma_ho_so}", operation_id="dvcqg-online-dossier")
async def online_dossier(ma_ho_so: MaHoSo, gw: GatewayDep, _client: Reader) -> dict[str, Any]:
    """The current version of an online dossier, its documents and its versions."""
    return await portal_dossiers.dossier_view(gw, ma_ho_so)


@router.get(
    "/v1/dvcqg/online-dossiers/{ma_ho_so}/files/{tep_dinh_kem_id}",
    responses={200: {"content": {"application/octet-stream": {}}}},
    operation_id="dvcqg-online-dossier-file",
)
async def online_dossier_file(
    ma_ho_so: MaHoSo, tep_dinh_kem_id: TepId, gw: GatewayDep, _client: Reader
) -> Response:
    """A kept document of the current version, byte for byte as the portal gave it."""
    _name, sha256, content = await portal_dossiers.attachment(gw, ma_ho_so, tep_dinh_kem_id)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"X-Content-SHA256": sha256},
    )


# --- feedback, ratings and questions ----------------------------------------------------------

ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    noi_dung: str = Field(min_length=1, max_length=10_000, examples=["Hồ sơ đã được giải quyết."])
    co_quan_tra_loi: str = Field(min_length=1, max_length=200, examples=["Sở Tư pháp"])
    cong_khai: bool = Field(
        description="publish the answer on the portal (feedback: seed 003 Điều 15)"
    )


async def _answer(
    gw: Gateway, kind: portal_items.Kind, item_id: str, body: AnswerIn, client: str
) -> JSONResponse:
    done = await portal_items.answer(
        gw,
        kind,
        item_id,
        client=client,
        noi_dung=body.noi_dung,
        co_quan=body.co_quan_tra_loi,
        cong_khai=body.cong_khai,
    )
    return JSONResponse(
        {
            "exchange_id": done.exchange_id,
            "status": "queued",
            "answered_at": done.answered_at.isoformat(),
            "on_time": done.on_time,
            "links": {"self": f"/v1/exchanges/{done.exchange_id}"},
        },
        status_code=202,
    )


ANSWER_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such item was received"},
    409: {"description": "already answered"},
    422: {"description": "a field is invalid"},
}


@router.post(
    "/v1/dvcqg/feedback/{ma_phan_anh}/answer",
    status_code=202,
    responses=ANSWER_REFUSALS,
    operation_id="dvcqg-feedback-answer",
)
async def answer_feedback(
    ma_phan_anh: ItemId, body: AnswerIn, gw: GatewayDep, client: Syncer
) -> JSONResponse:
    """Answer feedback: sent back to the portal through the outbox, with its publication
    flag; the answer time is checked against the deadline (``on_time``)."""
    return await _answer(gw, "feedback", ma_phan_anh, body, client.name)


@router.post(
    "/v1/dvcqg/questions/{ma_cau_hoi}/answer",
    status_code=202,
    responses=ANSWER_REFUSALS,
    operation_id="dvcqg-question-answer",
)
async def answer_question(
    ma_cau_hoi: ItemId, body: AnswerIn, gw: GatewayDep, client: Syncer
) -> JSONResponse:
    """Answer a question (``DongBoHoiDap``), through the outbox."""
    return await _answer(gw, "question", ma_cau_hoi, body, client.name)


@router.get("/v1/dvcqg/feedback", operation_id="dvcqg-feedback-list")
async def feedback(
    gw: GatewayDep,
    _client: Reader,
    status: Annotated[Literal["open", "overdue", "answered", "all"], Query()] = "all",
) -> dict[str, Any]:
    """Feedback with its answer deadline (10 working days): ``open`` (overdue included),
    ``overdue``, ``answered`` or ``all``."""
    return {"feedback": await portal_items.feedback_report(gw, status=status)}


@router.get("/v1/dvcqg/ratings", operation_id="dvcqg-ratings")
async def ratings(
    gw: GatewayDep,
    _client: Reader,
    start: Annotated[
        date, Query(alias="from", description="first day, YYYY-MM-DD", ge=FIRST_DAY, le=LAST_DAY)
    ],
    end: Annotated[
        date, Query(alias="to", description="last day, YYYY-MM-DD", ge=FIRST_DAY, le=LAST_DAY)
    ],
) -> dict[str, Any]:
    """Ratings per agency and per officer over the days given (seed 004 Điều 26)."""
    if end < start:
        raise InvalidInput("to is before from", errors=[FieldError("to", "before from")])
    return await portal_items.ratings_report(gw, start=start, end=end)
