"""The DVCQG simulator's citizens: dossiers submitted online on the national portal.

Plays the portal's side of the connector's online dossiers (this project's own profile: no
public source shows the portal's push or pull of online dossiers, feedback, ratings,
questions or the citizen's data store):

* Citizens submit dossiers on request (``POST /_sandbox/online-dossiers {count, documents,
  oversized_bytes, understate}``) and revise them (``POST /_sandbox/online-dossiers/{MaHoSo}/
  revise``: the next ``PhienBan``). Names carry diacritics; documents are deterministic bytes
  served by the portal's file server at ``GET /files/{TepDinhKemId}`` with their SHA-256
  (``MaBam``) and size (``KichThuoc``; ``understate`` declares 1 KiB whatever the real size,
  to test the gateway's read bound).
* Pull: ``LayDanhSachHoSoTrucTuyen`` (on ``/api``) answers the versions not yet acknowledged,
  oldest first; ``XacNhanHoSoTrucTuyen`` acknowledges them (the same acknowledgement again is
  counted, harmless).
* Push: ``POST /_sandbox/online-dossiers/push {items, reverse, wrong_signature, stale}``
  answers the signed request the portal would POST to ``/callbacks/dvcqg/dossiers``
  (``{headers, body}``): the given versions (default: every unacknowledged one) in order, or
  reversed (out of order); signed with the push secret, with a wrong one, or with a timestamp
  an hour old. The simulator sends nothing itself; a test or the demo posts it. When the
  gateway answers, post its answer to ``POST /_sandbox/online-dossiers/push-answers`` to have
  the versions it accepted acknowledged, as the real portal would.
* On a schedule: ``PUT /_sandbox/citizens/schedule {every_seconds, dossiers, feedback,
  ratings, questions, push_url}`` has citizens act by themselves; with ``push_url`` the portal
  pushes each batch to the gateway itself (signed), else it waits to be pulled;
  ``DELETE /_sandbox/citizens/schedule`` stops them.
* ``GET /_sandbox/online-dossiers``: every submission with its acknowledgement, and counters.

Feedback, ratings and questions (``Loai`` ``PhanAnhKienNghi``, ``DanhGia``, ``HoiDap``) work
the same way: ``POST /_sandbox/citizen-items/{Loai} {count, ma_ho_so, muc_do, ma_can_bo,
sent_at}`` makes them; ``LayDanhSachMucMoi`` / ``XacNhanMuc`` pull and acknowledge them;
``POST /_sandbox/citizen-items/{Loai}/push {ids, wrong_signature, stale}`` answers the signed
push for ``/callbacks/dvcqg/citizens``. Answers sent back (``DongBoTraLoiPhanAnh``,
``DongBoHoiDap``) must name a known item ("201" otherwise); the portal keeps the first answer
per item and counts repeats; ``GET /_sandbox/citizen-items`` shows items, acknowledgements and
answers. ``DongBoKetQuaKho`` puts a result document in the citizen's data store (its
``MaBam`` checked against the content; one document per ``MaHoSo`` + ``MaGiayTo``, repeats
counted), shown by ``GET /_sandbox/data-store``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from connectors.dvcqg.sandbox.packets import (
    AckDossiers,
    AckItems,
    PullDossiers,
    PullItems,
    SendAnswers,
    StoreResult,
)

__all__ = ["OnlinePortal", "add_online_routes"]

VN = timezone(timedelta(hours=7))
PUSH_SECRET = "sandbox-portal-push-secret-0123456789"  # noqa: S105 - the sandbox placeholder
#: the province this sandbox portal serves (the connector's default madonvi)
PROVINCE = "000.00.00.H22"
AGENCY = "000.00.01.H22"
_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi")
_MIDDLE = ("Văn", "Thị", "Đức", "Ngọc", "Minh", "Thu")
_GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Khánh", "Linh", "Phúc", "Quân", "Yến")
#: the push service of each kind of citizen item
_ITEM_SERVICE = {
    "PhanAnhKienNghi": "GuiPhanAnhKienNghi",
    "DanhGia": "GuiDanhGia",
    "HoiDap": "GuiHoiDap",
}
_ITEM_ID = {"PhanAnhKienNghi": "MaPhanAnh", "DanhGia": "MaDanhGia", "HoiDap": "MaCauHoi"}
_PROCEDURES = (
    ("1.001776", "Đăng ký khai sinh"),
    ("2.000477", "Cấp giấy phép xây dựng"),
    ("1.004227", "Đăng ký kết hôn"),
)


class SubmitOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(1, ge=1, le=50)
    documents: int = Field(2, ge=0, le=10)
    oversized_bytes: int | None = Field(None, ge=1, le=64 * 1024 * 1024)
    understate: bool = False


class ItemOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(1, ge=1, le=50)
    ma_ho_so: str | None = None
    muc_do: int | None = Field(None, ge=1, le=3)
    ma_can_bo: str | None = None
    sent_at: str | None = Field(None, pattern=r"^\d{14}$")
    cong_khai: bool = True


class ItemPushOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] | None = None
    wrong_signature: bool = False
    stale: bool = False


class Schedule(BaseModel):
    """Citizens acting on their own: every ``every_seconds``, ``dossiers`` new online dossiers
    and ``feedback``, ``ratings`` and ``questions`` items. With ``push_url`` (the gateway's
    root, e.g. ``http://127.0.0.1:8000``) the portal pushes each batch itself, signed, and
    records the gateway's acknowledgements; without it they wait to be pulled."""

    model_config = ConfigDict(extra="forbid")

    every_seconds: float = Field(gt=0, le=3600)
    dossiers: int = Field(1, ge=0, le=50)
    feedback: int = Field(0, ge=0, le=50)
    ratings: int = Field(0, ge=0, le=50)
    questions: int = Field(0, ge=0, le=50)
    push_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")


class PushOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[tuple[str, int]] | None = None
    reverse: bool = False
    wrong_signature: bool = False
    stale: bool = False


class OnlinePortal:
    """Submissions, acknowledgements and files of the simulated portal (no HTTP here)."""

    def __init__(self, *, seed: int = 2024, push_secret: str = PUSH_SECRET) -> None:
        self.seed = seed
        self.push_secret = push_secret
        self.reset()

    def reset(self) -> None:
        self.stop_schedule()
        self._reset_state()

    def _reset_state(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 - synthetic citizens, not security
        self.submissions: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
        self.acks: dict[tuple[str, int], str] = {}
        self.ack_calls = 0
        self.files: dict[str, bytes] = {}
        self.counter = 5000
        self.items: dict[str, OrderedDict[str, dict[str, Any]]] = {
            loai: OrderedDict() for loai in _ITEM_SERVICE
        }
        self.item_acks: dict[tuple[str, str], str] = {}
        self.answers: dict[tuple[str, str], dict[str, Any]] = {}
        self.answer_repeats = 0
        self.item_counter = 0
        self.data_store: dict[tuple[str, str], dict[str, Any]] = {}
        self.data_store_repeats = 0

    # --- citizens ----------------------------------------------------------------------------

    def submit(self, options: SubmitOptions, base_url: str) -> list[dict[str, Any]]:
        made = []
        for _ in range(options.count):
            self.counter += 1
            now = datetime.now(UTC).astimezone(VN)
            ma_ho_so = f"{AGENCY}-{now:%y%m%d}-{self.counter:04d}"
            made.append(self._version(ma_ho_so, 1, options, base_url, now))
        return made

    def revise(self, ma_ho_so: str, base_url: str) -> dict[str, Any]:
        versions = [v for (code, v) in self.submissions if code == ma_ho_so]
        if not versions:
            raise KeyError(ma_ho_so)
        latest = self.submissions[(ma_ho_so, max(versions))]
        packet = self._version(
            ma_ho_so,
            max(versions) + 1,
            SubmitOptions(documents=1),
            base_url,
            datetime.now(UTC).astimezone(VN),
            owner=latest,
        )
        return packet

    def _version(
        self,
        ma_ho_so: str,
        phien_ban: int,
        options: SubmitOptions,
        base_url: str,
        at: datetime,
        owner: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        code, name = rng.choice(_PROCEDURES)
        packet: dict[str, Any] = {
            "MaHoSo": ma_ho_so,
            "PhienBan": phien_ban,
            "MaTTHC": owner["MaTTHC"] if owner else code,
            "TenTTHC": owner["TenTTHC"] if owner else name,
            "MaCoQuan": AGENCY,
            "ChuHoSo": owner["ChuHoSo"]
            if owner
            else f"{rng.choice(_SURNAMES)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}",
            "SoGiayToChuHoSo": owner["SoGiayToChuHoSo"]
            if owner
            else f"025{rng.choice('0123')}{rng.randint(0, 99):02d}{rng.randint(0, 999_999):06d}",
            "LoaiDoiTuong": 1,
            "SoDienThoai": owner["SoDienThoai"] if owner else f"09{rng.randint(10**7, 10**8 - 1)}",
            "TrichYeuHoSo": f"{owner['TenTTHC'] if owner else name} (nộp trực tuyến)"
            + (f", bổ sung lần {phien_ban - 1}" if phien_ban > 1 else ""),
            "NgayNopHoSo": at.strftime("%Y%m%d%H%M%S"),
            "TaiKhoanDuocXacThucVoiVNeID": 1,
            "DuocThanhToanTrucTuyen": 0,
            "TaiLieuNop": [],
        }
        for index in range(options.documents):
            tep_id = f"TEP-{ma_ho_so[-11:]}-{phien_ban}-{index + 1}"
            oversized = options.oversized_bytes is not None and index == 0
            content = self._document(tep_id, options.oversized_bytes if oversized else None)
            self.files[tep_id] = content
            packet["TaiLieuNop"].append(
                {
                    "TepDinhKemId": tep_id,
                    "TenTepDinhKem": f"thanh-phan-{index + 1}.pdf",
                    "MaThanhPhanHoSo": f"TP{index + 1:02d}",
                    "DuongDanTaiTepTin": f"{base_url}/files/{tep_id}",
                    "KichThuoc": 1024 if options.understate else len(content),
                    "MaBam": hashlib.sha256(content).hexdigest(),
                }
            )
        self.submissions[(ma_ho_so, phien_ban)] = packet
        return packet

    def _document(self, tep_id: str, size: int | None) -> bytes:
        body = f"%PDF-1.7\n% {tep_id}: tài liệu mô phỏng\n".encode()
        filler = hashlib.sha256(tep_id.encode()).hexdigest().encode()
        target = size if size is not None else 2048 + self.rng.randint(0, 4096)
        repeats = max(0, target - len(body)) // len(filler) + 1
        return (body + filler * repeats)[: max(target, len(body))]

    # --- pull --------------------------------------------------------------------------------

    def pending(self, limit: int) -> list[dict[str, Any]]:
        waiting = [p for key, p in self.submissions.items() if key not in self.acks]
        return waiting[:limit]

    def acknowledge(self, acks: list[dict[str, Any]]) -> None:
        self.ack_calls += 1
        for ack in acks:
            key = (ack["MaHoSo"], ack["PhienBan"])
            if key in self.submissions:
                self.acks[key] = ack["KetQua"]

    # --- push --------------------------------------------------------------------------------

    def push_request(self, options: PushOptions) -> dict[str, Any]:
        if options.items is None:
            chosen = self.pending(50)
        else:
            missing = [i for i in options.items if tuple(i) not in self.submissions]
            if missing:
                raise KeyError(missing[0])
            chosen = [self.submissions[(code, version)] for code, version in options.items]
        if not chosen:
            raise KeyError("nothing to push")
        if options.reverse:
            chosen = list(reversed(chosen))
        return self._signed("GuiHoSoTrucTuyen", chosen, options.wrong_signature, options.stale)

    def _signed(
        self, service: str, data: list[dict[str, Any]], wrong_signature: bool, stale: bool
    ) -> dict[str, Any]:
        """The signed push request (Standard Webhooks headers) of ``data``."""
        body = json.dumps(
            {"service": service, "madonvi": PROVINCE, "data": data}, ensure_ascii=False
        ).encode()
        msg_id = f"push_{hashlib.sha256(body).hexdigest()[:24]}"
        stamp = int(time.time()) - (3600 if stale else 0)
        secret = "not-the-push-secret-0123456789" if wrong_signature else self.push_secret
        signed = f"{msg_id}.{stamp}.".encode() + body
        mac = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest())
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": f"v1,{mac.decode()}",
        }
        return {"headers": headers, "body": body.decode()}

    # --- feedback, ratings, questions -------------------------------------------------------

    def make_items(self, loai: str, options: ItemOptions) -> list[dict[str, Any]]:
        rng = self.rng
        made = []
        for _ in range(options.count):
            self.item_counter += 1
            item_id = f"{loai[:2].upper()}-{self.item_counter:06d}"
            sent = options.sent_at or datetime.now(UTC).astimezone(VN).strftime("%Y%m%d%H%M%S")
            person = f"{rng.choice(_SURNAMES)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"
            item: dict[str, Any]
            if loai == "PhanAnhKienNghi":
                item = {
                    "MaPhanAnh": item_id,
                    "MaCoQuan": AGENCY,
                    "TieuDe": "Phản ánh về thời gian giải quyết hồ sơ",
                    "NoiDung": "Hồ sơ của tôi đã quá hạn hẹn trả mà chưa có kết quả.",
                    "NguoiGui": person,
                    "SoDienThoai": f"09{rng.randint(10**7, 10**8 - 1)}",
                    "MaHoSo": options.ma_ho_so,
                    "NgayGui": sent,
                    "DongYCongKhai": 1 if options.cong_khai else 0,
                }
            elif loai == "DanhGia":
                item = {
                    "MaDanhGia": item_id,
                    "MaHoSo": options.ma_ho_so or f"{AGENCY}-240105-0001",
                    "MaCoQuan": AGENCY,
                    "MaCanBo": options.ma_can_bo,
                    "MucDo": options.muc_do or rng.choice((1, 1, 2, 2, 2, 3)),
                    "NgayDanhGia": sent,
                }
            else:
                item = {
                    "MaCauHoi": item_id,
                    "MaCoQuan": AGENCY,
                    "MaLinhVuc": "G03-GD09",
                    "TieuDe": "Hỏi về thành phần hồ sơ",
                    "NoiDung": "Đăng ký khai sinh cho con cần những giấy tờ gì?",
                    "NguoiHoi": person,
                    "NgayHoi": sent,
                }
            self.items[loai][item_id] = {k: v for k, v in item.items() if v is not None}
            made.append(self.items[loai][item_id])
        return made

    def item_push(self, loai: str, options: ItemPushOptions) -> dict[str, Any]:
        pool = self.items[loai]
        if options.ids is None:
            chosen = [p for i, p in pool.items() if (loai, i) not in self.item_acks]
        else:
            chosen = [pool[i] for i in options.ids]
        if not chosen:
            raise KeyError("nothing to push")
        return self._signed(_ITEM_SERVICE[loai], chosen, options.wrong_signature, options.stale)

    def handle(self, request: Any) -> dict[str, Any]:
        """The online-dossier and citizen-item services of ``/api`` (validated requests)."""
        ok: dict[str, Any] = {"error_code": "0", "message": "Thành công"}
        if isinstance(request, PullDossiers):
            return {**ok, "result": self.pending(request.SoLuong)}
        if isinstance(request, AckDossiers):
            self.acknowledge([ack.model_dump() for ack in request.data])
            return ok
        if isinstance(request, PullItems):
            pool = self.items[request.Loai]
            waiting = [p for i, p in pool.items() if (request.Loai, i) not in self.item_acks]
            return {**ok, "result": waiting[: request.SoLuong]}
        if isinstance(request, AckItems):
            for ack in request.data:
                if ack.Ma in self.items[request.Loai]:
                    self.item_acks[(request.Loai, ack.Ma)] = ack.KetQua
            return ok
        if isinstance(request, SendAnswers):
            loai = "PhanAnhKienNghi" if request.service == "DongBoTraLoiPhanAnh" else "HoiDap"
            unknown = [a.Ma for a in request.data if a.Ma not in self.items[loai]]
            if unknown:
                return {"error_code": "201", "message": f"Không tìm thấy: {', '.join(unknown)}"}
            for answer in request.data:
                key = (loai, answer.Ma)
                if key in self.answers:
                    self.answer_repeats += 1
                else:
                    self.answers[key] = answer.model_dump()
            return ok
        if isinstance(request, StoreResult):
            return self._store_result(request.data[0].model_dump())
        raise ValueError(f"not an online service: {type(request).__name__}")

    def _store_result(self, result: dict[str, Any]) -> dict[str, Any]:
        """The citizen's data store: the content must be base64 of exactly what MaBam says."""
        try:
            content = base64.b64decode(result["NoiDungTep"], validate=True)
        except ValueError:
            return {"error_code": "500", "message": "NoiDungTep: không phải base64"}
        if hashlib.sha256(content).hexdigest() != result["MaBam"]:
            return {"error_code": "500", "message": "MaBam: không khớp nội dung tệp"}
        key = (result["MaHoSo"], result["MaGiayTo"])
        if key in self.data_store:
            self.data_store_repeats += 1
        else:
            stored = {k: v for k, v in result.items() if k != "NoiDungTep"}
            self.data_store[key] = {**stored, "KichThuoc": len(content), "content": content}
        return {"error_code": "0", "message": "Thành công"}

    def items_dict(self) -> dict[str, Any]:
        return {
            "items": {loai: list(pool.values()) for loai, pool in self.items.items()},
            "acks": [
                {"Loai": loai, "Ma": ma, "KetQua": ket_qua}
                for (loai, ma), ket_qua in self.item_acks.items()
            ],
            "answers": [{"Loai": loai, **answer} for (loai, _), answer in self.answers.items()],
            "answer_repeats": self.answer_repeats,
        }

    # --- on a schedule -----------------------------------------------------------------------

    schedule: Schedule | None = None
    _task: asyncio.Task[None] | None = None
    #: how the portal reaches the gateway when it pushes by itself (tests set an ASGI transport)
    push_transport: httpx.AsyncBaseTransport | None = None
    scheduled_pushes: int = 0

    def start_schedule(self, schedule: Schedule, base_url: str) -> None:
        self.stop_schedule()
        self.schedule = schedule
        self._task = asyncio.get_running_loop().create_task(self._run(schedule, base_url))

    def stop_schedule(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = None
        self.schedule = None

    async def _run(self, schedule: Schedule, base_url: str) -> None:
        async with httpx.AsyncClient(transport=self.push_transport, timeout=30) as client:
            while True:
                await asyncio.sleep(schedule.every_seconds)
                batches: list[tuple[str, str, dict[str, Any]]] = []
                if schedule.dossiers:
                    made = self.submit(SubmitOptions(count=schedule.dossiers), base_url)
                    keys = [(p["MaHoSo"], p["PhienBan"]) for p in made]
                    push = self.push_request(PushOptions(items=keys))
                    batches.append(("dossiers", "", push))
                for loai, count in (
                    ("PhanAnhKienNghi", schedule.feedback),
                    ("DanhGia", schedule.ratings),
                    ("HoiDap", schedule.questions),
                ):
                    if count:
                        made = self.make_items(loai, ItemOptions(count=count))
                        ids = [m[_ITEM_ID[loai]] for m in made]
                        batches.append(
                            ("citizens", loai, self.item_push(loai, ItemPushOptions(ids=ids)))
                        )
                if schedule.push_url is None:
                    continue
                for path, loai, request in batches:
                    await self._send(client, schedule.push_url, path, loai, request)

    async def _send(
        self, client: httpx.AsyncClient, root: str, path: str, loai: str, request: dict[str, Any]
    ) -> None:
        try:
            answer = await client.post(
                f"{root.rstrip('/')}/callbacks/dvcqg/{path}",
                content=request["body"].encode(),
                headers=request["headers"],
            )
        except httpx.HTTPError:
            return  # the gateway is away: what was made waits to be pulled
        self.scheduled_pushes += 1
        if answer.status_code != 200:
            return
        for ack in answer.json().get("result", []):
            if path == "dossiers":
                self.acks[(ack["MaHoSo"], ack["PhienBan"])] = ack["KetQua"]
            elif ack.get("Ma") in self.items[loai]:
                self.item_acks[(loai, ack["Ma"])] = ack["KetQua"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "submissions": [
                {
                    "MaHoSo": code,
                    "PhienBan": version,
                    "acknowledged": self.acks.get((code, version)),
                    "documents": len(packet["TaiLieuNop"]),
                }
                for (code, version), packet in self.submissions.items()
            ],
            "ack_calls": self.ack_calls,
        }


Loai = Literal["PhanAnhKienNghi", "DanhGia", "HoiDap"]


def _base_url(request: Request) -> str:
    path = request.scope.get("root_path", "")
    return str(request.url.replace(path=path, query="")).rstrip("/")


def add_online_routes(app: FastAPI, portal: OnlinePortal) -> None:
    """The portal's file server and the ``/_sandbox/online-dossiers`` controls."""

    @app.get("/files/{tep_id}")
    async def file(tep_id: str) -> Response:
        content = portal.files.get(tep_id)
        if content is None:
            raise HTTPException(404, "no such file")
        return Response(content, media_type="application/pdf")

    @app.post("/_sandbox/online-dossiers")
    async def submit(request: Request, options: SubmitOptions | None = None) -> dict[str, Any]:
        return {"dossiers": portal.submit(options or SubmitOptions(), _base_url(request))}

    @app.post("/_sandbox/online-dossiers/push")
    async def push(options: PushOptions | None = None) -> dict[str, Any]:
        try:
            return portal.push_request(options or PushOptions())
        except KeyError as exc:
            raise HTTPException(404, f"cannot push: {exc.args[0]}") from None

    @app.post("/_sandbox/online-dossiers/push-answers")
    async def push_answer(answer: dict[str, Any]) -> dict[str, Any]:
        if answer.get("error_code") != "0" or not isinstance(answer.get("result"), list):
            raise HTTPException(422, "not a gateway's acceptance")
        portal.acknowledge(answer["result"])
        return portal.as_dict()

    @app.post("/_sandbox/online-dossiers/{ma_ho_so}/revise")
    async def revise(ma_ho_so: str, request: Request) -> dict[str, Any]:
        try:
            return portal.revise(ma_ho_so, _base_url(request))
        except KeyError:
            raise HTTPException(404, "no such online dossier") from None

    @app.get("/_sandbox/online-dossiers")
    async def listing() -> dict[str, Any]:
        return portal.as_dict()

    @app.post("/_sandbox/citizen-items/{loai}")
    async def make_items(loai: Loai, options: ItemOptions | None = None) -> dict[str, Any]:
        return {"items": portal.make_items(loai, options or ItemOptions())}

    @app.post("/_sandbox/citizen-items/{loai}/push")
    async def push_items(loai: Loai, options: ItemPushOptions | None = None) -> dict[str, Any]:
        try:
            return portal.item_push(loai, options or ItemPushOptions())
        except KeyError as exc:
            raise HTTPException(404, f"cannot push: {exc.args[0]}") from None

    @app.post("/_sandbox/citizen-items/{loai}/push-answers")
    async def item_push_answer(loai: Loai, answer: dict[str, Any]) -> dict[str, Any]:
        if answer.get("error_code") != "0" or not isinstance(answer.get("result"), list):
            raise HTTPException(422, "not a gateway's acceptance")
        for ack in answer["result"]:
            if ack.get("Ma") in portal.items[loai]:
                portal.item_acks[(loai, ack["Ma"])] = ack["KetQua"]
        return portal.items_dict()

    @app.put("/_sandbox/citizens/schedule")
    async def set_schedule(schedule: Schedule, request: Request) -> dict[str, Any]:
        portal.start_schedule(schedule, _base_url(request))
        return schedule.model_dump()

    @app.delete("/_sandbox/citizens/schedule")
    async def stop_schedule() -> dict[str, Any]:
        portal.stop_schedule()
        return {"schedule": None, "pushes": portal.scheduled_pushes}

    @app.get("/_sandbox/data-store")
    async def data_store() -> dict[str, Any]:
        """The citizen data store: documents received (metadata and size) and repeats."""
        return {
            "documents": [
                {k: v for k, v in doc.items() if k != "content"}
                for doc in portal.data_store.values()
            ],
            "repeats": portal.data_store_repeats,
        }

    @app.get("/_sandbox/citizen-items")
    async def items() -> dict[str, Any]:
        return portal.items_dict()
