"""``lgsp demo``, document management part: a dossier's document to an agency's QLVB as edXML.

Plays the one-stop centre and the agency: the first dossier's document (a one-page PDF) is sent
to the Department of Justice's document management software as an edXML package (QCVN
102:2016) through the outbox; the simulated agency receives it, registers it, assigns it,
processes it and finishes it; every status package comes back (pushed to the gateway's
callback, and pulled by the poller, the same report kept once) and reaches the case system as
``qlvb.received`` ... ``qlvb.processed`` events, and in ``GET /v1/qlvb/documents/{ma_ho_so}``.

``api`` is the case system's client of the running gateway (scopes ``qlvb:send``,
``qlvb:read``, ``events:read``) and ``sim`` a client of the sandbox server.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import time
from collections.abc import Callable
from typing import Any

from gateway.core.demo import DemoContext, DemoPart, sample_pdf

AGENCY = "000.00.12.H22"  # the receiving agency (the simulator accepts any identifier)
#: how long to wait for the gateway's workers and the simulator's packages
WAIT_SECONDS = 30.0
STEPS = (
    ("01", "arrived"),
    ("03", "registered"),
    ("04", "assigned"),
    ("05", "processing"),
    ("06", "processed"),
)
EXPECTED = ("qlvb.received", "qlvb.registered", "qlvb.processing", "qlvb.processed")


def _has_code(code: str, document: dict[str, Any]) -> bool:
    return code in [h["status_code"] for h in document["recipients"][0]["history"]]


class DocumentExchange(DemoPart):
    order = 85
    scopes = ("qlvb:send", "qlvb:read")

    async def play(self, ctx: DemoContext) -> None:
        await self.run(ctx.shared["dossiers"][0], ctx.say)

    async def run(self, dossier: dict[str, Any], say: Callable[[str], None]) -> None:
        """``dossier``: one of the demo's dossiers (``ma_ho_so`` is used)."""
        ma_ho_so = str(dossier["ma_ho_so"])
        say("▶ a dossier's document to an agency's document management (edXML, QCVN 102:2016)")
        config = (await self.sim.get("/qlvb/_sandbox/config")).json()
        config["callback_url"] = str(self.api.base_url).rstrip("/") + "/callbacks/qlvb/status"
        (await self.sim.put("/qlvb/_sandbox/config", json=config)).raise_for_status()
        cursor = await self._cursor()
        body = {
            "ma_ho_so": ma_ho_so,
            "ma_co_quan_nhan": [AGENCY],
            "so_van_ban": "85",
            "ky_hieu": "TTHCC-MC",
            "trich_yeu": f"V/v xin ý kiến về hồ sơ {ma_ho_so}",
            "nguoi_ky": {
                "tham_quyen": "KT. Giám đốc",
                "chuc_vu": "Phó Giám đốc",
                "ho_ten": "Trần Văn Bình",
            },
            "noi_ban_hanh": "Phú Thọ",
            "ngay_ban_hanh": "2024-01-05",
            "ma_loai_van_ban": 1,
            "tep_dinh_kem": [
                {
                    "ten_tep": "cong-van-xin-y-kien.pdf",
                    "loai": "application/pdf",
                    "noi_dung": base64.b64encode(sample_pdf("CONG VAN XIN Y KIEN")).decode(),
                }
            ],
        }
        r = await self.api.post("/v1/qlvb/documents", json=body)
        if not self.check(
            r.status_code == 202, f"document of {ma_ho_so} accepted ({r.status_code})"
        ):
            return
        document_id = str(r.json()["document_id"])
        sent = await self._wait(ma_ho_so, lambda d: d["status"] == "sent")
        self.check(sent is not None, f"edXML package {document_id} taken by the exchange axis")
        if sent is None:
            return
        # each step awaited here, so that the statuses reach the gateway in the agency's order
        done: dict[str, Any] | None = sent
        for step, what in STEPS:
            r = await self.sim.post(
                "/qlvb/_sandbox/documents/advance", json={"document_id": document_id}
            )
            if r.status_code != 200:
                self.check(False, f"the simulated agency could not move it on: {r.text[:200]}")
                return
            done = await self._wait(ma_ho_so, functools.partial(_has_code, step))
            if not self.check(done is not None, f"{AGENCY}: {step} {what}, reported back"):
                break
        codes = [h["status_code"] for h in (done or sent)["recipients"][0]["history"]]
        self.check(
            done is not None
            and codes == ["01", "03", "04", "05", "06"]
            and done["recipients"][0]["status"] == "processed",
            f"statuses back from {AGENCY}: {', '.join(codes) or 'none'} (processed)",
        )
        types = await self._event_types(cursor)
        self.check(
            all(t in types for t in EXPECTED),
            f"the case system was told: {', '.join(types) or 'nothing'}",
        )

    async def _wait(
        self, ma_ho_so: str, done: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            r = await self.api.get(f"/v1/qlvb/documents/{ma_ho_so}")
            if r.status_code == 200:
                document = dict(r.json()["documents"][-1])
                if done(document):
                    return document
            await asyncio.sleep(0.1)
        return None

    async def _cursor(self) -> int:
        cursor = 0
        while True:
            r = await self.api.get("/v1/events", params={"after": cursor, "limit": 1000})
            if r.status_code != 200 or not r.json()["events"]:
                return cursor
            cursor = int(r.json()["next"])

    async def _event_types(self, cursor: int) -> list[str]:
        params: dict[str, str | int] = {
            "after": cursor,
            "types": ",".join(("qlvb.sent", *EXPECTED)),
        }
        r = await self.api.get("/v1/events", params=params)
        if r.status_code != 200:
            return []
        return [str(e["type"]) for e in r.json().get("events", [])]
