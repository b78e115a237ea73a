"""``lgsp demo``, population-database part: an officer checks the applicants of the dossiers.

Plays the province's administrator and the one-stop officers (seed 004, Điều 8): registers two
officers with their platform credentials, withdraws one officer's access when their duties
change, then has the other verify and look up the applicant of every dossier before it is
received, each look-up naming the dossier it serves. Along the way it shows what governance
refuses before the platform is called (no officer, an unknown or locked officer, no purpose, an
ID number whose birth year contradicts the birth date), what the platform itself refuses (a
procedure not licensed to query), and finally that the month's usage report counts exactly the
look-ups that were made.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from gateway.core.demo import Check, DemoContext, DemoPart

VN = timezone(timedelta(hours=7))
OFFICER = {
    "tai_khoan": "canbo.tiepnhan",
    "ma_can_bo": "CB0001",
    "ho_ten": "Nguyễn Thị Thu Hà",
    "so_dinh_danh": "025185001234",
    "don_vi": "Bộ phận Một cửa UBND tỉnh",
    "muc_dich": "Xác minh nhân thân người nộp hồ sơ TTHC",
    "platform_username": "canbo0001",
    "platform_password": "sandbox-canbo0001",
}
MOVED = {
    "tai_khoan": "canbo.dachuyen",
    "ma_can_bo": "CB0002",
    "ho_ten": "Trần Văn Bình",
    "so_dinh_danh": "026088004321",
    "don_vi": "Bộ phận Một cửa UBND tỉnh",
    "muc_dich": "Xác minh nhân thân người nộp hồ sơ TTHC",
    "platform_username": "canbo0002",
    "platform_password": "sandbox-canbo0002",
}
#: the simulator does not license this procedure to query the database
UNLICENSED = "1.004227"


class PopulationChecks(DemoPart):
    order = 40
    scopes = ("dancu:lookup", "officers:admin", "governance:read")

    async def play(self, ctx: DemoContext) -> None:
        await self.run(ctx.shared["dossiers"], ctx.shared["applicants"], ctx.say)

    def __init__(self, api: httpx.AsyncClient, sim: httpx.AsyncClient, check: Check) -> None:
        super().__init__(api, sim, check)
        self.made = 0  # look-ups that passed governance and reached the platform

    async def applicants(self, count: int) -> list[dict[str, Any]]:
        """Citizens of the simulated database who will apply (the demo's dossiers use them)."""
        r = await self.sim.get("/dancu/_sandbox/citizens", params={"limit": count, "offset": 40})
        r.raise_for_status()
        return list(r.json()["citizens"])

    def ask(self, citizen: dict[str, Any], dossier: dict[str, Any]) -> dict[str, Any]:
        return {
            "so_dinh_danh": citizen["so_dinh_danh"],
            "ho_va_ten": citizen["ho_va_ten"],
            "ngay_sinh": citizen["ngay_sinh"],
            "ma_tthc": dossier["ma_tthc"],
            "ma_ho_so": dossier["ma_ho_so"],
        }

    async def post(self, path: str, body: dict[str, Any], officer: str | None) -> httpx.Response:
        headers = {"X-Officer-Id": officer} if officer else {}
        return await self.api.post(path, json=body, headers=headers)

    async def platform_requests(self) -> int:
        stats = (await self.sim.get("/dancu/_sandbox/stats")).json()
        return int(sum(stats["by_operation"].values()))

    async def run(
        self, dossiers: list[dict[str, Any]], citizens: list[dict[str, Any]], say: Any
    ) -> None:
        say("▶ the province registers its officers for the population database")
        for officer in (OFFICER, MOVED):
            r = await self.api.post("/v1/officers", json=officer)
            self.check(r.status_code == 201, f"officer {officer['tai_khoan']} registered")
        r = await self.api.post(
            f"/v1/officers/{MOVED['tai_khoan']}/lock",
            json={"reason": "Chuyển công tác, thôi nhiệm vụ tra cứu"},
        )
        self.check(
            r.status_code == 200 and r.json()["status"] == "locked",
            f"{MOVED['tai_khoan']} moved to other duties: access withdrawn",
        )
        await self.refusals(dossiers[0], citizens[0])

        say(f"▶ {OFFICER['tai_khoan']} checks the applicant of each of {len(dossiers)} dossiers")
        verified = found = 0
        for dossier, citizen in zip(dossiers, citizens, strict=True):
            body = self.ask(citizen, dossier)
            v = await self.post("/v1/dancu/citizens/verify", body, OFFICER["tai_khoan"])
            self.made += 1
            verified += v.status_code == 200 and v.json()["ket_qua"]["khop"] is True
            r = await self.post("/v1/dancu/citizens/lookup", body, OFFICER["tai_khoan"])
            self.made += 1
            record = r.json().get("cong_dan", {}) if r.status_code == 200 else {}
            found += (
                record.get("so_dinh_danh") == citizen["so_dinh_danh"]
                and record.get("ho_va_ten") == citizen["ho_va_ten"]
                and record.get("ngay_sinh") == citizen["ngay_sinh"]
            )
        self.check(verified == len(dossiers), f"{verified}/{len(dossiers)} applicants verified")
        self.check(
            found == len(dossiers),
            f"{found}/{len(dossiers)} records looked up with the applicant's name and birth date",
        )
        sample = (
            await self.post(
                "/v1/dancu/citizens/lookup",
                self.ask(citizens[0], dossiers[0]),
                OFFICER["tai_khoan"],
            )
        ).json()["cong_dan"]
        self.made += 1
        say(
            f"  e.g. {sample['ho_va_ten']}, born {sample['ngay_sinh']}, "
            f"{(sample.get('dan_toc') or {}).get('ten')}, resident in "
            f"{(sample.get('thuong_tru') or {}).get('ten_tinh')}"
        )

        wrong = dict(self.ask(citizens[1], dossiers[1]))
        born = datetime.fromisoformat(citizens[1]["ngay_sinh"])
        wrong["ngay_sinh"] = (born.replace(day=1 if born.day != 1 else 2)).date().isoformat()
        v = await self.post("/v1/dancu/citizens/verify", wrong, OFFICER["tai_khoan"])
        self.made += 1
        self.check(
            v.status_code == 200 and v.json()["ket_qua"]["khop"] is False,
            "a wrongly stated birth date does not verify",
        )
        unlicensed = dict(self.ask(citizens[0], dossiers[0]), ma_tthc=UNLICENSED)
        r = await self.post("/v1/dancu/citizens/lookup", unlicensed, OFFICER["tai_khoan"])
        self.made += 1
        self.check(
            r.status_code == 403 and r.json()["type"].endswith("dancu-procedure-not-licensed"),
            f"procedure {UNLICENSED} is not licensed to query: the platform's code 004, "
            "as its own problem type",
        )
        await self.usage()

    async def refusals(self, dossier: dict[str, Any], citizen: dict[str, Any]) -> None:
        before = await self.platform_requests()
        body = self.ask(citizen, dossier)
        no_purpose = {k: v for k, v in body.items() if k not in ("ma_tthc", "ma_ho_so")}
        born = datetime.fromisoformat(citizen["ngay_sinh"])
        other_year = dict(body, ngay_sinh=born.replace(year=born.year - 1).date().isoformat())
        cases = [
            ("no officer named", body, None, 403, "X-Officer-Id"),
            ("an unregistered officer", body, "canbo.khongco", 403, "X-Officer-Id"),
            (f"the locked {MOVED['tai_khoan']}", body, MOVED["tai_khoan"], 403, "X-Officer-Id"),
            ("a look-up without purpose", no_purpose, OFFICER["tai_khoan"], 403, "ma_tthc"),
            (
                "a birth year the ID number contradicts",
                other_year,
                OFFICER["tai_khoan"],
                422,
                "so_dinh_danh",
            ),
        ]
        for what, payload, officer, status, field in cases:
            r = await self.post("/v1/dancu/citizens/lookup", payload, officer)
            named = [e["loc"] for e in r.json().get("errors", [])]
            self.check(
                r.status_code == status and field in named,
                f"{what}: refused {r.status_code} naming {', '.join(named) or '-'}",
            )
        after = await self.platform_requests()
        self.check(after == before, "none of the refused look-ups reached the platform")

    async def usage(self) -> None:
        month = datetime.now(VN).strftime("%Y-%m")
        report = (await self.api.get("/v1/dancu/usage", params={"month": month})).json()
        rows = {r["tai_khoan"]: r for u in report["units"] for r in u["rows"]}
        mine, moved = rows.get(OFFICER["tai_khoan"], {}), rows.get(MOVED["tai_khoan"], {})
        self.check(
            mine.get("answered", 0) + mine.get("failed", 0) == self.made
            and moved.get("refused") == 1,
            f"usage report {month}: {OFFICER['tai_khoan']} {mine.get('answered')} answered, "
            f"{mine.get('failed')} failed, {mine.get('refused')} refused; "
            f"{MOVED['tai_khoan']} {moved.get('refused')} refused — as made",
        )


class PopulationApplicants(PopulationChecks):
    """The citizens who apply in this run, taken from the simulated population database; the
    procedure its officers are not licensed to query is kept out of the dossiers."""

    order = 10

    async def play(self, ctx: DemoContext) -> None:
        ctx.shared["applicants"] = await self.applicants(ctx.size)
        ctx.shared.setdefault("reserved_procedures", set()).add(UNLICENSED)
