"""``lgsp demo``, national-portal part: a dossier that starts on the portal and ends in the
citizen's data store, with a rating and a feedback round trip.

Plays the citizen, the national portal and the case system: a citizen submits a dossier online
with two documents; the portal pushes it (signed) and the gateway stores it, documents and all,
before acknowledging; a forged push is refused; the case system reads the event and downloads a
document whose SHA-256 matches what the portal declared; the citizen corrects the dossier and
the gateway pulls the new version on its own schedule; the case system returns the result,
which reaches the citizen's data store; the citizen rates the service and sends feedback; the
case system answers the feedback (published) and the answer reaches the portal.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from gateway.core.demo import DemoContext, DemoPart, sample_pdf
from gateway.core.workdays import VN

SANDBOX = "/dvcqg/_sandbox"


class PortalCitizens(DemoPart):
    order = 60
    scopes = ("dvcqg:sync", "dvcqg:read")

    async def play(self, ctx: DemoContext) -> None:
        await self.run(ctx.say)

    async def _push(self, path: str, **options: Any) -> httpx.Response:
        """The portal's signed push (built by the simulator), posted to the gateway."""
        built = await self.sim.post(f"{SANDBOX}/{path}", json=options or None)
        built.raise_for_status()
        request = built.json()
        return await self.api.post(
            "/callbacks/dvcqg/dossiers"
            if path.startswith("online")
            else "/callbacks/dvcqg/citizens",
            content=request["body"].encode(),
            headers=request["headers"],
        )

    @staticmethod
    async def _until(probe: Callable[[], Awaitable[bool]], seconds: float = 30) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if await probe():
                return True
            await asyncio.sleep(0.25)
        return False

    async def run(self, say: Callable[[str], None]) -> None:
        say("▶ a dossier submitted on the national portal, to the citizen's data store")
        made = await self.sim.post(f"{SANDBOX}/online-dossiers", json={"documents": 2})
        made.raise_for_status()
        [dossier] = made.json()["dossiers"]
        code = dossier["MaHoSo"]

        forged = await self._push("online-dossiers/push", wrong_signature=True)
        self.check(forged.status_code == 401, "a push with a forged signature is refused (401)")
        r = await self._push("online-dossiers/push")
        accepted = r.status_code == 200 and r.json()["result"][0]["KetQua"] == "accepted"
        if accepted:
            (await self.sim.post(f"{SANDBOX}/online-dossiers/push-answers", json=r.json()))
        self.check(accepted, f"the portal pushes online dossier {code}; stored, then acknowledged")

        inbox = await self.api.get("/v1/events", params={"types": "dvcqg.dossier.received"})
        event = next((e for e in inbox.json()["events"] if e["subject"] == code), None)
        doc = dossier["TaiLieuNop"][0]
        fetched = await self.api.get(
            f"/v1/dvcqg/online-dossiers/{code}/files/{doc['TepDinhKemId']}"
        )
        self.check(
            event is not None
            and len(event["data"]["tai_lieu"]) == 2
            and hashlib.sha256(fetched.content).hexdigest() == doc["MaBam"],
            "the case system reads dvcqg.dossier.received and downloads a document whose "
            "SHA-256 matches the portal's",
        )

        revised = await self.sim.post(f"{SANDBOX}/online-dossiers/{code}/revise")
        revised.raise_for_status()

        async def pulled() -> bool:
            view = await self.api.get(f"/v1/dvcqg/online-dossiers/{code}")
            return view.status_code == 200 and view.json()["phien_ban"] == 2

        self.check(
            await self._until(pulled),
            "the citizen corrects the dossier; the gateway pulls version 2 on its schedule",
        )

        owner = dossier["SoGiayToChuHoSo"]
        result = {
            "ma_ho_so": code,
            "ma_giay_to": f"KQ-{code[-11:]}",
            "chu_so_huu": {"so_dinh_danh": owner, "ho_va_ten": dossier["ChuHoSo"]},
            "ten_giay_to": f"Kết quả: {dossier['TenTTHC']}",
            "ngay_cap": datetime.now(UTC).isoformat(),
            "co_quan_cap": "UBND tỉnh (sandbox)",
            "tep": {
                "ten": "ket-qua.pdf",
                "dinh_dang": "application/pdf",
                "noi_dung_base64": base64.b64encode(sample_pdf(f"KET QUA HO SO {code}")).decode(),
            },
        }
        r = await self.api.post("/v1/dvcqg/results", json=result)

        async def in_store() -> bool:
            store = (await self.sim.get(f"{SANDBOX}/data-store")).json()
            return any(d["MaHoSo"] == code for d in store["documents"])

        arrived = r.status_code == 202 and await self._until(in_store)
        store = (await self.sim.get(f"{SANDBOX}/data-store")).json()
        signed = any(d["MaHoSo"] == code and d["DaKySo"] == 1 for d in store["documents"])
        self.check(
            arrived and signed,
            "the case system returns the result; signed (eSign), it reaches the citizen's "
            "data store",
        )

        rating = await self.sim.post(
            f"{SANDBOX}/citizen-items/DanhGia", json={"ma_ho_so": code, "muc_do": 1}
        )
        rating.raise_for_status()
        r = await self._push("citizen-items/DanhGia/push")
        today = datetime.now(UTC).astimezone(VN).date().isoformat()
        report = (await self.api.get(f"/v1/dvcqg/ratings?from={today}&to={today}")).json()
        very = sum(agency["rat_hai_long"] for agency in report["co_quan"])
        self.check(
            r.status_code == 200 and very >= 1,
            f"the citizen rates the service; today's report: {very} very satisfied",
        )

        made = await self.sim.post(
            f"{SANDBOX}/citizen-items/PhanAnhKienNghi", json={"ma_ho_so": code}
        )
        [feedback] = made.json()["items"]
        r = await self._push("citizen-items/PhanAnhKienNghi/push")
        listed = (await self.api.get("/v1/dvcqg/feedback", params={"status": "open"})).json()
        due = next(
            (
                f["han_tra_loi"]
                for f in listed["feedback"]
                if f["ma_phan_anh"] == feedback["MaPhanAnh"]
            ),
            None,
        )
        answer = await self.api.post(
            f"/v1/dvcqg/feedback/{feedback['MaPhanAnh']}/answer",
            json={
                "noi_dung": "Hồ sơ đã được giải quyết và trả kết quả vào kho dữ liệu.",
                "co_quan_tra_loi": "Bộ phận Một cửa UBND tỉnh",
                "cong_khai": True,
            },
        )

        async def answered() -> bool:
            items = (await self.sim.get(f"{SANDBOX}/citizen-items")).json()
            return any(a["Ma"] == feedback["MaPhanAnh"] for a in items["answers"])

        self.check(
            r.status_code == 200
            and due is not None
            and answer.status_code == 202
            and answer.json()["on_time"] is True
            and await self._until(answered),
            f"feedback received (answer due {due}); answered on time, published on the portal",
        )
