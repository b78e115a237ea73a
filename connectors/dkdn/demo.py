"""``lgsp demo``, business-registration part: an officer checks the enterprises behind dossiers.

Plays the one-stop officer receiving a dossier filed by an enterprise: looks up an active
enterprise, a dissolved one and a code the register does not hold, each look-up naming the
officer and the dossier it serves, and checks that each answer says what the register holds
("not found" and "dissolved" are answers, not errors). It shows first that a look-up naming no
officer is refused before the register is called.

The officer is the one the population-database part registers (``canbo.tiepnhan``); this
connector checks only that a well-formed login and a purpose are stated, so the part plays
whether or not that part ran.
"""

from __future__ import annotations

from typing import Any

from gateway.core.demo import DemoContext, DemoPart

OFFICER = "canbo.tiepnhan"
LOOKUP = "/v1/dkdn/enterprises/lookup"
#: a well-formed code the simulated register never issues
MISSING = "0999999999"
PURPOSE = {"ma_tthc": "1.001612", "ma_ho_so": "000.00.01.H22-260105-0001"}


class EnterpriseChecks(DemoPart):
    order = 45
    scopes = ("dkdn:lookup",)

    async def play(self, ctx: DemoContext) -> None:
        dossiers = ctx.shared.get("dossiers") or []
        purpose = (
            {"ma_tthc": dossiers[0]["ma_tthc"], "ma_ho_so": dossiers[0]["ma_ho_so"]}
            if dossiers
            else PURPOSE
        )
        active = await self.enterprise("ACT")
        dissolved = await self.enterprise("DIS")
        ctx.say("▶ an officer checks the enterprises filing dossiers (business register)")
        before = await self.platform_requests()
        r = await self.api.post(LOOKUP, json={"ma_so_doanh_nghiep": active["code"], **purpose})
        named = [e["loc"] for e in r.json().get("errors", [])]
        self.check(
            r.status_code == 403 and "X-Officer-Id" in named,
            f"a look-up naming no officer: refused {r.status_code} naming {', '.join(named)}",
        )
        self.check(await self.platform_requests() == before, "the refused look-up never reached it")

        found = await self.ask(active["code"], purpose)
        firm = found.get("doanh_nghiep") or {}
        self.check(
            found.get("ket_qua") == "found"
            and firm.get("ten") == active["name"]
            and firm.get("tinh_trang", {}).get("trang_thai") == "active"
            and [p["ho_ten"] for p in firm.get("nguoi_dai_dien", [])] == active["representatives"]
            and any(line["chinh"] for line in firm.get("nganh_nghe", [])),
            f"{active['code']}: {firm.get('ten')}, active, "
            f"{len(firm.get('nganh_nghe', []))} lines of business",
        )
        gone = await self.ask(dissolved["code"], purpose)
        status = (gone.get("doanh_nghiep") or {}).get("tinh_trang", {})
        self.check(
            gone.get("ket_qua") == "found"
            and status.get("trang_thai") == "dissolved"
            and status.get("con_hoat_dong") is False,
            f"{dissolved['code']}: dissolved ({status.get('ten')}), answered 200",
        )
        missing = await self.ask(MISSING, purpose)
        self.check(
            missing.get("ket_qua") == "not_found" and missing.get("doanh_nghiep") is None,
            f"{MISSING}: not in the register, answered 200 not_found",
        )

    async def enterprise(self, status: str) -> dict[str, Any]:
        r = await self.sim.get("/dkdn/_sandbox/enterprises", params={"status": status, "limit": 1})
        r.raise_for_status()
        return dict(r.json()["enterprises"][0])

    async def platform_requests(self) -> int:
        return int((await self.sim.get("/dkdn/_sandbox/stats")).json()["received"])

    async def ask(self, code: str, purpose: dict[str, str]) -> dict[str, Any]:
        r = await self.api.post(
            LOOKUP,
            json={"ma_so_doanh_nghiep": code, **purpose},
            headers={"X-Officer-Id": OFFICER},
        )
        if r.status_code != 200:
            self.check(False, f"{code}: HTTP {r.status_code} {r.text[:200]}")
            return {}
        return dict(r.json())
