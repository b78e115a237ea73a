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
from gateway.core.web.intake import AcceptedLinks
from schemas import dvcqg as wire

router = APIRouter(tags=["dvcqg"])


class PortalFile(BaseModel):
    tep_dinh_kem_id: str
    ten: str
    trang_thai: str = Field(description="kept, or why not (too large, refused type, ...)")
    kich_thuoc: int = Field(description="bytes read, or declared when not read")
    sha256: str | None


class PortalVersion(BaseModel):
    phien_ban: int
    status: str = Field(description="current, or superseded")
    via: str = Field(description="push or pull")


class OnlineDossier(BaseModel):
    """The current version of an online dossier received from the portal."""

    ma_ho_so: str
    phien_ban: int
    received_at: str
    via: str
    exchange_id: str = Field(description="the exchange-log entry of its receipt")
    ho_so: dict[str, Any] = Field(description="the packet as the portal sent it")
    tai_lieu: list[PortalFile]
    versions: list[PortalVersion]


class FeedbackItem(BaseModel):
    ma_phan_anh: str
    ma_co_quan: str
    ma_ho_so: str | None
    gui_luc: str
    han_tra_loi: str = Field(description="the deadline, a working day")
    trang_thai: Literal["open", "overdue", "answered"]
    tre_han: bool = Field(description="late (or answered late)")
    tra_loi_luc: str | None
    cong_khai: bool | None


class FeedbackList(BaseModel):
    feedback: list[FeedbackItem]


class RatingCounts(BaseModel):
    rat_hai_long: int
    hai_long: int
    khong_hai_long: int
    tong: int
    ty_le_hai_long: float | None = Field(description="the satisfied share (0..1)")


class AgencyRatings(RatingCounts):
    ma_co_quan: str


class OfficerRatings(AgencyRatings):
    ma_can_bo: str


class RatingsReport(BaseModel):
    tu_ngay: str
    den_ngay: str
    tong: int
    co_quan: list[AgencyRatings]
    can_bo: list[OfficerRatings]


class AnswerQueued(BaseModel):
    """An answer accepted into the outbox (202), its time checked against the deadline."""

    exchange_id: str
    status: Literal["queued"]
    answered_at: str
    on_time: bool | None = Field(description="answered within the deadline (null: none set)")
    links: AcceptedLinks


TepId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
PUSH_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "the signature or its time does not verify"},
    413: {"description": "the body is larger than the gateway accepts"},
    422: {"description": "a field is invalid, or the push is for another province"},
    503: {"description": "a document could not be fetched from the portal: push again"},
}


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` written in place (a request body declared through
    ``openapi_extra`` cannot add to the document's components), self-contained."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")]) | {
                    k: walk(v) for k, v in node.items() if k != "$ref"
                }
            # a discriminator's mapping names the $defs: the oneOf's ``const`` tells apart
            return {k: walk(v) for k, v in node.items() if k != "discriminator"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return dict(walk(schema))


def _push_body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    """The signed packet the portal POSTs, as ``openapi_extra``: the route reads it raw (the
    signature covers its bytes), so FastAPI would not show it."""
    return {
        "requestBody": {
            "required": True,
            "description": "the portal's packet, signed with the push secret (Standard "
            "Webhooks headers webhook-id, webhook-timestamp, webhook-signature over the raw "
            "bytes)",
            "content": {
                "application/json": {
                    "schema": _inline(schema),
                    "examples": {"push": {"value": example}},
                }
            },
        }
    }


DOSSIER_PUSH_EXAMPLE: dict[str, Any] = {
    "service": "GuiHoSoTrucTuyen",
    "madonvi": "000.00.01.H22",
    "data": [
        {
            "MaHoSo": "000.00.01.H22-240105-0007",
            "PhienBan": 1,
            "MaTTHC": "1.001776",
            "TenTTHC": "Đăng ký khai sinh",
            "MaCoQuan": "000.00.01.H22",
            "ChuHoSo": "Nguyễn Văn An",
            "SoGiayToChuHoSo": "001090000001",
            "LoaiDoiTuong": 1,
            "SoDienThoai": "0912345678",
            "TrichYeuHoSo": "Đăng ký khai sinh cho con",
            "NgayNopHoSo": "20240105083000",
            "TaiLieuNop": [
                {
                    "TepDinhKemId": "tep-1",
                    "TenTepDinhKem": "to-khai.pdf",
                    "DuongDanTaiTepTin": "https://dichvucong.gov.vn/files/tep-1",
                    "KichThuoc": 48213,
                }
            ],
        }
    ],
}
CITIZEN_PUSH_EXAMPLE: dict[str, Any] = {
    "service": "GuiPhanAnhKienNghi",
    "madonvi": "000.00.01.H22",
    "data": [
        {
            "MaPhanAnh": "PA-2024-0001",
            "MaCoQuan": "000.00.01.H22",
            "TieuDe": "Chậm trả kết quả",
            "NoiDung": "Hồ sơ của tôi quá hạn trả kết quả.",
            "NguoiGui": "Nguyễn Văn An",
            "NgayGui": "20240110090000",
            "DongYCongKhai": 1,
        }
    ],
}


class DossierAck(BaseModel):
    MaHoSo: str = Field(description="the dossier's code", examples=["000.00.01.H22-240105-0007"])
    PhienBan: int = Field(description="the version received", examples=[1])
    KetQua: wire.KetQuaNhan = Field(description="what the gateway made of it")


class ItemAck(BaseModel):
    Ma: str = Field(description="the item's code (MaPhanAnh, MaDanhGia or MaCauHoi)")
    KetQua: wire.KetQuaNhan = Field(description="what the gateway made of it")


class DossierPushAnswer(BaseModel):
    """The acknowledgement, sent once every version is durably stored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error_code": "0",
                    "message": "Đã nhận",
                    "result": [
                        {
                            "MaHoSo": "000.00.01.H22-240105-0007",
                            "PhienBan": 1,
                            "KetQua": "accepted",
                        }
                    ],
                }
            ]
        }
    )

    error_code: Literal["0"] = Field(description='"0": received')
    message: str = Field(examples=["Đã nhận"])
    result: list[DossierAck] = Field(description="one per version pushed, in order")


class CitizenPushAnswer(BaseModel):
    """The acknowledgement, sent once every item is durably stored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error_code": "0",
                    "message": "Đã nhận",
                    "result": [{"Ma": "PA-2024-0001", "KetQua": "accepted"}],
                }
            ]
        }
    )

    error_code: Literal["0"] = Field(description='"0": received')
    message: str = Field(examples=["Đã nhận"])
    result: list[ItemAck] = Field(description="one per item pushed, in order")


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
    "/callbacks/dvcqg/dossiers",
    response_model=None,
    responses={200: {"model": DossierPushAnswer, "description": "stored"}, **PUSH_REFUSALS},
    operation_id="dvcqg-push-dossiers",
    openapi_extra=_push_body(wire.GuiHoSoTrucTuyen.model_json_schema(), DOSSIER_PUSH_EXAMPLE),
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
    "/callbacks/dvcqg/citizens",
    response_model=None,
    responses={200: {"model": CitizenPushAnswer, "description": "stored"}, **PUSH_REFUSALS},
    operation_id="dvcqg-push-citizens",
    openapi_extra=_push_body(wire.CITIZEN_PUSH_ADAPTER.json_schema(), CITIZEN_PUSH_EXAMPLE),
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


@router.get(
    "/v1/dvcqg/online-dossiers/{ma_ho_so}",
    operation_id="dvcqg-online-dossier",
    response_model=None,
    responses={200: {"model": OnlineDossier, "description": "the current version"}},
)
async def online_dossier(ma_ho_so: MaHoSo, gw: GatewayDep, _client: Reader) -> dict[str, Any]:
    """The current version of an online dossier, its documents and its versions."""
    return await portal_dossiers.dossier_view(gw, ma_ho_so)


@router.get(
    "/v1/dvcqg/online-dossiers/{ma_ho_so}/files/{tep_dinh_kem_id}",
    response_model=None,
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "description": "the document's bytes; X-Content-SHA256 their digest",
        }
    },
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
    202: {"model": AnswerQueued, "description": "accepted into the outbox"},
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


@router.get(
    "/v1/dvcqg/feedback",
    operation_id="dvcqg-feedback-list",
    response_model=None,
    responses={200: {"model": FeedbackList, "description": "oldest first"}},
)
async def feedback(
    gw: GatewayDep,
    _client: Reader,
    status: Annotated[Literal["open", "overdue", "answered", "all"], Query()] = "all",
) -> dict[str, Any]:
    """Feedback with its answer deadline (10 working days): ``open`` (overdue included),
    ``overdue``, ``answered`` or ``all``."""
    return {"feedback": await portal_items.feedback_report(gw, status=status)}


@router.get(
    "/v1/dvcqg/ratings",
    operation_id="dvcqg-ratings",
    response_model=None,
    responses={200: {"model": RatingsReport, "description": "per agency and officer"}},
)
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
