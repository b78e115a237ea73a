"""``lgsp demo``, EMC part: what EMC is told, computed from what the gateway already did.

Plays after the DVCQG lifecycle (order 90), which moved the case system's dossiers through
their statuses on the national portal. The EMC simulator misbehaves (HTTP 503 and 500, dropped
connections); the gateway's scan turns every delivered dossier sync into EMC events (one per
status change), the outbox delivers them; the simulator must then hold, for each dossier, its
events in order with EMC's codes. Then the monthly reports (this month, and the month the
dossiers were received) are computed locally, submitted through the outbox, and the figures
the simulator received must be exactly the local report's.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from gateway.core.demo import DemoContext, DemoPart
from gateway.core.local_time import TZ

#: the EMC Status of the DVCQG lifecycle's statuses (connectors.emc.codes)
EXPECTED_STATUSES = ["1", "2", "0", "2", "3", "3"]
FAULTS: dict[str, Any] = {"error_rate": 0.15, "http_500_rate": 0.05, "drop_rate": 0.05}
LEVELS = {"0": "truc_tiep_mot_phan", "1": "truc_tiep_toan_trinh", "3": "truc_tuyen_mot_phan"}
LEVELS["4"] = "truc_tuyen_toan_trinh"
WAIT_SECONDS = 60.0


class EmcTracking(DemoPart):
    order = 95
    scopes = ("emc:submit", "emc:read", "ops:read")

    async def play(self, ctx: DemoContext) -> None:
        say = ctx.say
        dossiers: list[dict[str, Any]] = ctx.shared.get("dossiers", [])
        say(f"▶ EMC (digital government monitoring): the simulator misbehaves: {FAULTS}")
        (await self.sim.put("/emc/_sandbox/faults", json=FAULTS)).raise_for_status()
        queued, rounds = 0, 0
        for _ in range(50):
            r = await self.api.post("/v1/emc/tracking/scan")
            if r.status_code != 200:
                self.check(False, f"the scan of delivered dossier syncs refused: {r.text}")
                return
            rounds += 1
            queued += r.json()["queued"]
            if r.json()["seen"] == 0:
                break
        self.check(
            queued > 0,
            f"{queued} EMC events queued from the dossier syncs delivered to the portal "
            f"({rounds} rounds of the scan)",
        )
        drained = await self.drain()
        (await self.sim.put("/emc/_sandbox/faults", json={})).raise_for_status()
        self.check(drained, "every EMC event reached the simulator through the outbox")
        received = (await self.sim.get("/emc/_sandbox/received")).json()
        by_dossier: dict[str, list[str]] = {}
        for event in received["events"]:
            by_dossier.setdefault(event["MaHoSo"], []).append(event["Status"])
        wrong = [
            d["ma_ho_so"] for d in dossiers if by_dossier.get(d["ma_ho_so"]) != EXPECTED_STATUSES
        ]
        self.check(
            bool(dossiers) and not wrong,
            f"EMC holds each of the {len(dossiers)} dossiers' events once, in order "
            f"(Status {' → '.join(EXPECTED_STATUSES)})"
            + (f"; not so for {', '.join(wrong[:3])}" if wrong else ""),
        )
        stats = (await self.sim.get("/emc/_sandbox/stats")).json()
        say(
            f"  simulator: {stats['events_kept']} events kept, {stats['duplicates']} "
            f"redeliveries recognised, {stats['faults_injected']} faults injected"
        )
        months = {datetime.now(TZ).strftime("%Y-%m")}
        months |= {d["ngay_tiep_nhan"][:7] for d in dossiers}
        for month in sorted(months):
            await self.monthly(month)

    async def monthly(self, month: str) -> None:
        r = await self.api.get(f"/v1/emc/reports/{month}")
        if not self.check(r.status_code == 200, f"the local report of {month} computed"):
            return
        local = r.json()
        r = await self.api.post(f"/v1/emc/reports/{month}/submit")
        if not self.check(r.status_code == 202, f"the report of {month} queued for submission"):
            return
        exchange = r.json()["exchange_id"]
        state = await self.wait_exchange(exchange)
        self.check(state == "delivered", f"the report of {month} delivered (state {state})")
        received = (await self.sim.get("/emc/_sandbox/received")).json()
        sent = next(
            (a["packet"] for a in received["aggregates"] if a["packet"]["Thang"] == month), None
        )
        ours = sorted(
            (
                row["ma_tthc"],
                row["muc_do"],
                row["tiep_nhan"],
                row["dung_han"],
                row["qua_han"],
                row["dang_giai_quyet"],
                row["nop_truc_tuyen"],
                row["thanh_toan_truc_tuyen"],
                row["so_tien_truc_tuyen"],
                (row["danh_gia"]["1"], row["danh_gia"]["2"], row["danh_gia"]["3"]),
            )
            for row in local["rows"]
        )
        theirs = sorted(
            (
                line["MaTTHC"],
                LEVELS[line["MucDo"]],
                line["TiepNhan"],
                line["DaGiaiQuyetDungHan"],
                line["DaGiaiQuyetQuaHan"],
                line["DangGiaiQuyet"],
                line["NopTrucTuyen"],
                line["ThanhToanTrucTuyen"],
                line["SoTienThanhToanTrucTuyen"],
                (line["DanhGiaRatHaiLong"], line["DanhGiaHaiLong"], line["DanhGiaKhongHaiLong"]),
            )
            for line in (sent or {}).get("DuLieu", [])
        )
        t = local["totals"]
        self.check(
            sent is not None and ours == theirs,
            f"EMC received the {month} figures exactly as computed locally: "
            f"{len(ours)} procedure rows, received {t['tiep_nhan']}, on time {t['dung_han']}, "
            f"late {t['qua_han']}, in progress {t['dang_giai_quyet']}",
        )

    async def drain(self) -> bool:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            connectors = (await self.api.get("/v1/connectors")).json()["connectors"]
            emc = next(c for c in connectors if c["slug"] == "emc")
            if sum(emc["outbox"].values()) == 0:
                return True
            await asyncio.sleep(0.5)
        return False

    async def wait_exchange(self, exchange_id: str) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        state = "unknown"
        while time.monotonic() < deadline:
            state = str(
                (await self.api.get(f"/v1/exchanges/{exchange_id}")).json().get("state", "?")
            )
            if state in ("delivered", "dead"):
                return state
            await asyncio.sleep(0.3)
        return state
