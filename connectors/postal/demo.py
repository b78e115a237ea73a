"""``lgsp demo``, postal part: results delivered by post, fees collected on delivery.

Plays the one-stop centre and the postal service's sandbox: a dossier's result is sent to the
citizen by post with its fees collected on delivery (the order goes through the outbox; the
simulated postman picks it up, carries it and hands it over; each status arrives as a signed
webhook and reaches the case system as an event), another citizen's dossier is picked up at
home and brought to the centre, a forged webhook is refused and changes nothing, and the day's
cash-on-delivery reconciliation finds the collected amounts exactly as owed.

Used by :mod:`gateway.demo` (``PostalShipments(api, sim, check).run(dossiers, say)``); ``api``
is the case system's client of the running gateway (scopes ``postal:ship``, ``postal:read``,
``events:read``) and ``sim`` a client of the sandbox server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from gateway.core.demo import DemoContext, DemoPart

AGENCY = "000.00.01.H22"
FEE = 58_000  # lệ phí + phí gửi trả kết quả, collected from the citizen on delivery
CITIZEN = {
    "ho_va_ten": "Nguyễn Văn An",
    "dia_chi": "12 Lê Lợi, phường Gia Cẩm",
    "ma_tinh": "25",
    "ma_huyen": "227",
    "so_dien_thoai": "0912345678",
}
#: how long to wait for the gateway's workers and the simulator's webhooks
WAIT_SECONDS = 30.0


class PostalShipments(DemoPart):
    order = 80
    scopes = ("postal:ship", "postal:read")

    async def play(self, ctx: DemoContext) -> None:
        await self.run(ctx.shared["dossiers"], ctx.say)

    async def run(self, dossiers: list[dict[str, Any]], say: Callable[[str], None]) -> None:
        """``dossiers``: at least two of the demo's dossiers (``ma_ho_so`` is used)."""
        say("▶ results by post (VNPost, service HCC), fees collected on delivery")
        webhook_url = str(self.api.base_url).rstrip("/") + "/callbacks/postal/vnpost"
        config = (await self.sim.get("/postal/_sandbox/config")).json()
        config["webhook_url"] = webhook_url
        (await self.sim.put("/postal/_sandbox/config", json=config)).raise_for_status()
        cursor = await self._cursor()

        delivery = await self.ship(dossiers[-1]["ma_ho_so"], "delivery", FEE, "Kết quả TTHC")
        if delivery is None:
            return
        created = await self.wait_status(delivery, {"created"})
        self.check(
            created == "created",
            f"order {delivery['order_number']} created through the outbox (status {created})",
        )
        day = await self.carry(delivery["order_number"])
        final = await self.wait_status(delivery, {"delivered"})
        self.check(final == "delivered", f"the postman delivered it and collected {FEE:,} VND")
        types = await self._event_types(cursor)
        self.check(
            "postal.delivered" in types,
            f"the case system was told: {', '.join(types) or 'nothing'}",
        )

        pickup = await self.ship(dossiers[0]["ma_ho_so"], "pickup", 0, "Hồ sơ TTHC")
        if pickup is None:
            return
        await self.wait_status(pickup, {"created"})
        await self.carry(pickup["order_number"])
        final = await self.wait_status(pickup, {"delivered"})
        self.check(final == "delivered", f"dossier {pickup['order_number']} picked up at home")

        await self.forged(delivery)
        if day is not None:
            await self.reconcile(day)

    async def ship(self, ma_ho_so: str, flow: str, fee: int, what: str) -> dict[str, Any] | None:
        body = {
            "ma_ho_so": ma_ho_so,
            "flow": flow,
            "ma_dvc": AGENCY,
            "cong_dan": CITIZEN,
            "noi_dung": what,
            "tien_thu_ho": fee,
        }
        r = await self.api.post("/v1/postal/shipments", json=body)
        ok = self.check(r.status_code == 202, f"{flow} of {ma_ho_so} accepted ({r.status_code})")
        return dict(r.json()) if ok else None

    async def carry(self, order_number: str) -> date | None:
        """The simulated postman: picked up, in transit, out for delivery, delivered."""
        last: dict[str, Any] = {}
        for _ in range(4):
            r = await self.sim.post(f"/postal/_sandbox/orders/{order_number}/advance")
            if r.status_code != 200:
                self.check(False, f"the simulator could not advance {order_number}: {r.text}")
                return None
            last = r.json()
        stamp = str(last["Tracking"][-1]["time"])
        return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))

    async def wait_status(self, shipment: dict[str, Any], wanted: set[str]) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        status = "?"
        while time.monotonic() < deadline:
            r = await self.api.get(f"/v1/postal/shipments/{shipment['shipment_id']}")
            status = str(r.json().get("status"))
            if status in wanted:
                return status
            await asyncio.sleep(0.1)
        return status

    async def forged(self, shipment: dict[str, Any]) -> None:
        r = await self.sim.post(
            "/postal/_sandbox/webhooks/forge",
            json={"order_number": shipment["order_number"], "status_code": "7"},
        )
        seq = r.json()["seq"]
        answered: Any = None
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and not isinstance(answered, int):
            answered = (await self.sim.get("/postal/_sandbox/webhooks")).json()[seq]["pushed"]
            await asyncio.sleep(0.05)
        view = (await self.api.get(f"/v1/postal/shipments/{shipment['shipment_id']}")).json()
        self.check(
            answered == 401 and view["status"] == "delivered",
            f'a forged webhook ("returned") refused with {answered}; still {view["status"]}',
        )

    async def reconcile(self, day: date) -> None:
        r = await self.api.get("/v1/postal/reconciliation", params={"date": day.isoformat()})
        report = r.json() if r.status_code == 200 else {}
        theirs = report.get("totals", {}).get("theirs", {})
        self.check(
            report.get("ok") is True,
            f"cash on delivery {day.isoformat()}: {theirs.get('amount')} VND collected, as owed",
        )

    async def _cursor(self) -> int:
        """The pull inbox's end now: only the events after it are this part's."""
        cursor = 0
        while True:
            r = await self.api.get("/v1/events", params={"after": cursor, "limit": 1000})
            if r.status_code != 200 or not r.json()["events"]:
                return cursor
            cursor = int(r.json()["next"])

    async def _event_types(self, cursor: int) -> list[str]:
        params: dict[str, str | int] = {"after": cursor, "types": "postal.created,postal.delivered"}
        r = await self.api.get("/v1/events", params=params)
        if r.status_code != 200:
            return []
        return [str(e["type"]) for e in r.json().get("events", [])]
