"""The DVCQG parts of ``lgsp demo``: the case system's dossiers (``CaseDossiers``) and their whole
life on the portal (``DossierLifecycle``): a batch of dossiers taken through six statuses with a
processing step each, while the simulated portal misbehaves (errors, 500s, timeouts, dropped
and malformed answers, expired sessions), then checked on the portal: every dossier holds
exactly its history and steps, in order, once each. A malformed dossier is refused with a
problem naming its fields."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.dvcqg.sandbox import CATALOGUE
from gateway.core.demo import DemoContext, DemoPart

VN = timezone(timedelta(hours=7))
#: each stage: the status sent to the portal and the step recorded with it
LIFE: tuple[tuple[str, int, str], ...] = (
    ("da_tiep_nhan", 2, "Tiếp nhận hồ sơ tại bộ phận một cửa"),
    ("dang_xu_ly", 4, "Chuyển phòng chuyên môn thẩm định"),
    ("yeu_cau_bo_sung", 5, "Yêu cầu bổ sung giấy tờ"),
    ("dang_xu_ly", 4, "Công dân đã bổ sung; tiếp tục xử lý"),
    ("da_xu_ly", 9, "Lãnh đạo ký duyệt kết quả"),
    ("da_tra_ket_qua", 10, "Trả kết quả cho công dân"),
)
FAULTS: dict[str, Any] = {
    "latency_ms": 3,
    "error_rate": 0.08,
    "http_500_rate": 0.04,
    "timeout_rate": 0.02,
    "timeout_seconds": 2.5,
    "drop_rate": 0.04,
    "malformed_rate": 0.03,
    "seed": 7,
}
UNITS = ("UBND xã Tân Lập", "UBND phường Hùng Vương", "Sở Tư pháp", "UBND huyện Thanh Ba")


class CaseDossiers(DemoPart):
    """The case system's dossiers of this run, one per applicant (the population database's
    citizens when that part made them, synthetic ones otherwise)."""

    order = 20
    scopes = ("dvcqg:sync", "dvcqg:read")

    async def play(self, ctx: DemoContext) -> None:
        applicants = ctx.shared.setdefault(
            "applicants",
            [
                {
                    "ho_va_ten": f"Công dân {i}",
                    "so_dinh_danh": f"0010900{i:05d}",
                    "ngay_sinh": "1990-01-01",
                }
                for i in range(1, ctx.size + 1)
            ],
        )
        ctx.shared["dossiers"] = self.make_dossiers(ctx, applicants)

    def make_dossiers(
        self, ctx: DemoContext, applicants: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """One dossier per applicant (citizens of the simulated population database)."""
        out = []
        day = datetime(2024, 1, 5, 7, 30, tzinfo=VN)
        reserved = ctx.shared.get("reserved_procedures", set())
        licensed = [p for p in CATALOGUE if p.MATTHC not in reserved]
        for i, applicant in enumerate(applicants, start=1):
            proc = licensed[ctx.rng.randrange(len(licensed))]
            received = day + timedelta(minutes=7 * i)
            out.append(
                {
                    "ma_ho_so": f"000.00.01.H22-240105-{i:04d}",
                    "ma_tthc": proc.MATTHC,
                    "ten_tthc": proc.TENTTHC,
                    "ma_linh_vuc": proc.LINHVUCTHUCHIEN[0].MALINHVUC,
                    "ten_linh_vuc": proc.LINHVUCTHUCHIEN[0].TENLINHVUC,
                    "kenh_thuc_hien": ctx.rng.choice(("truc_tiep", "truc_tuyen", "buu_chinh")),
                    "chu_ho_so": applicant["ho_va_ten"],
                    "so_giay_to_chu_ho_so": applicant["so_dinh_danh"],
                    "loai_doi_tuong": "cong_dan",
                    "so_dien_thoai": f"09{ctx.rng.randint(10_000_000, 99_999_999)}",
                    "trich_yeu": f"{proc.TENTTHC} cho công dân",
                    "ngay_tiep_nhan": received.isoformat(),
                    "ngay_hen_tra": (received + timedelta(days=5)).isoformat(),
                    "trang_thai": "da_tiep_nhan",
                    "don_vi_xu_ly": ctx.rng.choice(UNITS),
                }
            )
        return out


class DossierLifecycle(DemoPart):
    """Every dossier through its life on a misbehaving portal, then checked there."""

    order = 90
    scopes = ("dvcqg:sync", "dvcqg:read", "ops:read")

    async def play(self, ctx: DemoContext) -> None:
        self.say = ctx.say
        self.rng = ctx.rng
        self.exchanges: list[str] = []
        await self.lifecycle(ctx.shared["dossiers"])

    @staticmethod
    def at_stage(base: dict[str, Any], stage: int) -> dict[str, Any]:
        status = LIFE[stage][0]
        received = datetime.fromisoformat(base["ngay_tiep_nhan"])
        packet = dict(base, trang_thai=status)
        if stage >= 2:
            packet["ho_so_bo_sung"] = [
                {
                    "id": f"BS-{base['ma_ho_so'][-4:]}",
                    "nguoi_yeu_cau": "Trần Văn Bình",
                    "noi_dung": "Bổ sung bản sao giấy chứng nhận kết hôn",
                    "ngay_bo_sung": (received + timedelta(days=1)).isoformat(),
                }
            ]
        if stage >= 4:
            packet["ngay_ket_thuc_xu_ly"] = (received + timedelta(days=3)).isoformat()
        if stage == 5:
            packet["ngay_tra"] = (received + timedelta(days=4)).isoformat()
        return packet

    @staticmethod
    def step_of(base: dict[str, Any], stage: int) -> dict[str, Any]:
        at = datetime.fromisoformat(base["ngay_tiep_nhan"]) + timedelta(hours=6 * stage + 1)
        return {
            "nguoi_xu_ly": "Trần Văn Bình",
            "chuc_danh": "Công chức một cửa",
            "thoi_diem_xu_ly": at.isoformat(),
            "phong_ban_xu_ly": "Bộ phận tiếp nhận và trả kết quả",
            "noi_dung_xu_ly": LIFE[stage][2],
            "trang_thai": LIFE[stage][0],
        }

    async def submit(self, path: str, body: dict[str, Any]) -> None:
        key = f"demo-{len(self.exchanges)}-{self.rng.random():.12f}"
        for attempt in range(5):
            r = await self.api.post(path, json=body, headers={"Idempotency-Key": key})
            if r.status_code == 202:
                self.exchanges.append(r.json()["exchange_id"])
                if self.rng.random() < 0.1:  # the case system retries a request it already sent
                    again = await self.api.post(path, json=body, headers={"Idempotency-Key": key})
                    if again.json().get("exchange_id") != r.json()["exchange_id"]:
                        self.check(False, f"idempotent retry of {path} made a new exchange")
                return
            if r.status_code in (409, 429, 503):
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            raise RuntimeError(f"{path} refused: {r.status_code} {r.text}")
        raise RuntimeError(f"{path} kept failing")

    async def lifecycle(self, dossiers: list[dict[str, Any]]) -> None:
        say = self.say
        say(
            f"▶ the simulated portal misbehaves: {', '.join(f'{k}={v}' for k, v in FAULTS.items())}"
        )
        (await self.sim.put("/dvcqg/_sandbox/faults", json=FAULTS)).raise_for_status()

        bad = dict(dossiers[0], ma_ho_so="000.00.01.H22-240231-0001", ngay_hen_tra="2024-01-01")
        r = await self.api.post("/v1/dvcqg/dossiers", json=bad)
        errors = [e["loc"] for e in r.json().get("errors", [])]
        self.check(
            r.status_code == 422 and "ma_ho_so" in errors and "ngay_hen_tra" in errors,
            f"a malformed dossier is refused with problem+json naming {', '.join(errors)}",
        )

        for stage, (status, code, _what) in enumerate(LIFE):
            for base in dossiers:
                await self.submit("/v1/dvcqg/dossiers", self.at_stage(base, stage))
                await self.submit(
                    f"/v1/dvcqg/dossiers/{base['ma_ho_so']}/steps",
                    {"steps": [self.step_of(base, stage)]},
                )
            if stage == 3:
                await self.sim.put(
                    "/dvcqg/_sandbox/faults", json={**FAULTS, "expire_sessions": True}
                )
                say("  … the portal expired every session")
            depth = await self.depth()
            say(
                f"[{stage + 1}/{len(LIFE)}] {len(dossiers)} dossiers → {status} ({code}); "
                f"{len(self.exchanges)} exchanges accepted, {depth} waiting"
            )

        say("▶ waiting for every exchange to reach the portal …")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            health = await self.portal_health()
            waiting = sum(health["outbox"].values())
            say(
                f"  outbox: {waiting} waiting, {health['dead_letters']} dead, "
                f"circuit {health['circuit']}, upstream error rate {health['error_rate']:.0%}"
            )
            if waiting == 0:
                break
            await asyncio.sleep(1.0)
        (await self.sim.put("/dvcqg/_sandbox/faults", json={})).raise_for_status()
        await self.verify(dossiers)

    async def depth(self) -> int:
        return int(sum((await self.portal_health())["outbox"].values()))

    async def portal_health(self) -> dict[str, Any]:
        connectors = (await self.api.get("/v1/connectors")).json()["connectors"]
        return next(c for c in connectors if c["slug"] == "dvcqg")

    async def verify(self, dossiers: list[dict[str, Any]]) -> None:
        say = self.say
        say("▶ checking what the portal holds")
        states = [
            (await self.api.get(f"/v1/exchanges/{x}")).json()["state"] for x in self.exchanges
        ]
        delivered = sum(1 for s in states if s == "delivered")
        self.check(delivered == len(states), f"{delivered}/{len(states)} exchanges delivered")
        held = (await self.sim.get("/dvcqg/_sandbox/dossiers")).json()
        expected_history = [code for _s, code, _w in LIFE]
        right = 0
        for base in dossiers:
            record = held.get(base["ma_ho_so"])
            if (
                record is not None
                and record["history"] == expected_history
                and record["current"]["TrangThaiHoSo"] == 10
                and [s["NoiDungXuLy"] for s in record["steps"]] == [w for *_x, w in LIFE]
            ):
                right += 1
            else:
                say(f"    {base['ma_ho_so']}: {record and record['history']}")
        self.check(
            right == len(dossiers),
            f"{right}/{len(dossiers)} dossiers hold exactly the history "
            f"{expected_history} and their {len(LIFE)} steps, in order, once each",
        )
        stats = (await self.sim.get("/dvcqg/_sandbox/stats")).json()
        say(
            f"  portal saw {stats['received']} calls, applied {stats['applied']} packets, "
            f"ignored {stats['duplicates']} duplicates, injected {stats['faults_injected']} faults"
        )
        portal = await self.api.get(f"/v1/dvcqg/dossiers/{dossiers[-1]['ma_ho_so']}")
        self.check(
            portal.status_code == 200
            and portal.json()["dossier"]["trang_thai"] == "da_tra_ket_qua",
            f"TraCuuHoSo through the gateway: {dossiers[-1]['ma_ho_so']} is da_tra_ket_qua",
        )
