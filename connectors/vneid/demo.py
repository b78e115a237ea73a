"""``lgsp demo``, identity part: the applicants log in before their dossiers are submitted.

The first applicant holds a level-2 VNeID account, the second a level-1 account at the DVCQG
single sign-on. Each logs in through the gateway (the authorisation request the public callers
send, plus a nonce and PKCE where advertised; the provider's login page played by the
simulator; the callback verified), and the identity that comes back must be the applicant's.
The second logs in again at a DVCQG SSO that behaves as the public callers meet it (PKCE
ignored, no nonce in the ID token), then tries a procedure that requires level 2 and is
refused; and a provider that signs a token with the wrong key is caught.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from gateway.core.demo import DemoContext, DemoPart

REDIRECT = {
    "vneid": "http://127.0.0.1:8080/dang-nhap/vneid",
    "dvcqg": "http://127.0.0.1:8080/dang-nhap/dvcqg",
}


class CitizenLogins(DemoPart):
    order = 30
    scopes = ("identity:login",)

    async def play(self, ctx: DemoContext) -> None:
        await self.run(ctx.shared["applicants"], ctx.say)

    async def enrol(self, applicant: dict[str, Any], level: int) -> None:
        """The applicant's account at the simulated providers (a real one exists already)."""
        r = await self.sim.post(
            "/vneid/_sandbox/citizens",
            json={
                "so_dinh_danh": applicant["so_dinh_danh"],
                "ho_va_ten": applicant["ho_va_ten"],
                "ngay_sinh": applicant["ngay_sinh"],
                "level": level,
            },
        )
        r.raise_for_status()

    async def faults(self, switches: dict[str, Any]) -> None:
        """The simulated providers' switches (``{}``: behave as by default)."""
        (await self.sim.put("/vneid/_sandbox/faults", json=switches)).raise_for_status()

    async def login(self, provider: str, applicant: dict[str, Any], **start: Any) -> httpx.Response:
        r = await self.api.post(
            f"/v1/identity/{provider}/authorize",
            json={"redirect_uri": REDIRECT[provider], **start},
        )
        r.raise_for_status()
        url = r.json()["authorization_url"]
        page = await self.sim.get(f"{url}&{urlencode({'login_hint': applicant['so_dinh_danh']})}")
        if page.status_code != 302:
            raise RuntimeError(f"the provider's login page answered {page.status_code}")
        back = parse_qs(urlsplit(page.headers["location"]).query)
        return await self.api.post(
            f"/v1/identity/{provider}/callback",
            json={"code": back["code"][0], "state": back["state"][0]},
        )

    async def run(self, applicants: list[dict[str, Any]], say: Any) -> None:
        say("▶ applicants log in before submitting (VNeID and DVCQG SSO, OpenID Connect)")
        first, second = applicants[0], applicants[1]
        await self.enrol(first, 2)
        await self.enrol(second, 1)
        r = await self.login("vneid", first, muc_dam_bao_toi_thieu=2)
        who = r.json().get("dinh_danh", {}) if r.status_code == 200 else {}
        self.check(
            who.get("so_dinh_danh") == first["so_dinh_danh"]
            and who.get("ho_va_ten") == first["ho_va_ten"]
            and who.get("muc_dam_bao") == 2,
            f"{first['ho_va_ten']} logged in with VNeID at level 2 "
            "(state, nonce, PKCE, signature, claims checked)",
        )
        r = await self.login("dvcqg", second)
        who = r.json().get("dinh_danh", {}) if r.status_code == 200 else {}
        self.check(
            who.get("so_dinh_danh") == second["so_dinh_danh"] and who.get("muc_dam_bao") == 1,
            f"{second['ho_va_ten']} logged in with DVCQG SSO at level 1",
        )
        await self.faults({"legacy_provider": True, "provider": "dvcqg"})
        r = await self.login("dvcqg", second)
        await self.faults({})
        who = r.json().get("dinh_danh", {}) if r.status_code == 200 else {}
        self.check(
            who.get("so_dinh_danh") == second["so_dinh_danh"],
            "DVCQG SSO as OpenCPS and PASETO meet it (PKCE ignored, no nonce in the ID token): "
            "the login still checks out",
        )
        r = await self.login("dvcqg", second, muc_dam_bao_toi_thieu=2)
        self.check(
            r.status_code == 403 and r.json()["type"].endswith("identity-assurance-too-low"),
            "a level-1 account is refused where level 2 is required",
        )
        await self.faults({"bad_signature": True})
        r = await self.login("vneid", first)
        await self.faults({})
        self.check(
            r.status_code == 502 and r.json()["type"].endswith("identity-token-rejected"),
            "an ID token with a forged signature is refused",
        )
