"""``lgsp demo``, payment part: a dossier's fee paid through the DVCQG payment platform.

Plays the case system, the national portal and the citizen: the portal asks what the dossier
owes (nothing yet); the case system registers the fee lines and gets the payment page's URL;
the portal asks again and is answered the bill, which the simulated portal checks (checksum,
totals, beneficiary account); a forger posts a callback with a wrong checksum, which is refused
and changes nothing; the citizen pays on the payment page and the platform's genuine callback
settles the payment; the case system reads ``payment.paid`` from its event inbox; the portal
learns nothing is owed any more; and the day's reconciliation against the platform's statement
finds no difference.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from gateway.core.demo import DemoContext, DemoPart

VN = timezone(timedelta(hours=7))
BILL = "/callbacks/payment/dvcqg/bill"
CALLBACK = "/callbacks/payment/dvcqg"
#: the sandbox's agency with a configured beneficiary account
AGENCY = "000.00.01.H22"
FEES: tuple[dict[str, Any], ...] = (
    {"noi_dung": "Lệ phí giải quyết thủ tục hành chính", "so_tien": 50_000},
    {"noi_dung": "Phí cấp bản sao kết quả", "so_tien": 8_000},
)


class FeePayments(DemoPart):
    order = 50
    scopes = ("payment:create", "payment:read")

    async def play(self, ctx: DemoContext) -> None:
        await self.run(ctx.shared["dossiers"][0], ctx.say)

    async def owed(self, ma_ho_so: str) -> dict[str, Any]:
        """The portal's look-up of what ``ma_ho_so`` owes, answered by the gateway and checked
        by the simulated portal; the answer's message."""
        asked = await self.sim.post("/payment/_sandbox/bill-requests", json={"MaHoSo": ma_ho_so})
        asked.raise_for_status()
        r = await self.api.post(BILL, content=asked.content)
        r.raise_for_status()
        verdict = await self.sim.post(
            f"/payment/_sandbox/bill-answers/{ma_ho_so}", content=r.content
        )
        verdict.raise_for_status()
        problems = verdict.json()["problems"]
        self.check(
            not problems,
            "the portal checks the gateway's signed bill answer"
            + (f": {'; '.join(problems)}" if problems else ""),
        )
        message: dict[str, Any] = r.json()["message"]
        return message

    async def run(self, dossier: dict[str, Any], say: Callable[[str], None]) -> None:
        ma_ho_so = dossier["ma_ho_so"]
        say(f"▶ the fee of dossier {ma_ho_so} is paid through the DVCQG payment platform")
        before = await self.owed(ma_ho_so)
        self.check(before["SoHoaDon"] == 0, "the portal asks what the dossier owes: nothing yet")

        r = await self.api.post(
            "/v1/payments",
            json={
                "ma_ho_so": ma_ho_so,
                "ma_tthc": dossier["ma_tthc"],
                "ma_dvc": AGENCY,
                "fee_lines": list(FEES),
                "payer": {"ho_va_ten": dossier["chu_ho_so"]},
                "return_url": f"https://motcua.example/ho-so/{ma_ho_so}",
            },
        )
        created = r.json()
        total = sum(line["so_tien"] for line in FEES)
        self.check(
            r.status_code == 201 and created["amount"] == total and bool(created["payment_url"]),
            f"the case system registers {total:,} VND of fees and gets the payment page",
        )
        if r.status_code != 201:
            return
        payment_id = created["payment_id"]
        bill = await self.owed(ma_ho_so)
        self.check(
            bill["SoHoaDon"] == 1 and bill["TongTien"] == total,
            f"the portal asks again: {bill['SoHoaDon']} bill of {bill['TongTien']:,} VND "
            f"to account {bill['HoaDon'][0]['TKThuHuong'] if bill['HoaDon'] else '-'}",
        )
        ref = bill["HoaDon"][0]["MaThamChieu"] if bill["HoaDon"] else ""

        forged = await self.sim.post(
            f"/payment/_sandbox/payments/{ref}/pay", json={"wrong_signature": True}
        )
        r = await self.api.post(CALLBACK, content=forged.content)
        view = (await self.api.get(f"/v1/payments/{payment_id}")).json()
        self.check(
            r.status_code == 401 and view["status"] == "pending",
            f"a forged callback (wrong checksum) is refused ({r.status_code} "
            f"{r.json().get('type', '')}) and the payment stays pending",
        )

        page = await self.sim.post(created["payment_url"], data={"action": "pay"})
        page.raise_for_status()
        sent = (await self.sim.get("/payment/_sandbox/callbacks")).json()
        genuine = [c["callback"] for c in sent if c["kind"] == "signed"][-1]
        r = await self.api.post(CALLBACK, json=genuine)
        view = (await self.api.get(f"/v1/payments/{payment_id}")).json()
        self.check(
            r.status_code == 200 and view["status"] == "paid",
            f"the citizen pays on the payment page; the platform's signed callback settles it "
            f"(transaction {view.get('ma_giao_dich')})",
        )
        inbox = (await self.api.get("/v1/events", params={"types": "payment.paid"})).json()
        paid = [e for e in inbox["events"] if e["data"]["payment_id"] == payment_id]
        self.check(len(paid) == 1, "the case system reads payment.paid from its event inbox")
        after = await self.owed(ma_ho_so)
        self.check(after["SoHoaDon"] == 0, "the portal asks once more: nothing is owed any more")

        today = datetime.now(UTC).astimezone(VN).date().isoformat()
        report = (await self.api.get("/v1/payments/reconciliation", params={"date": today})).json()
        self.check(
            report.get("ok") is True,
            f"the day's reconciliation against the platform's statement finds no difference "
            f"({len(report.get('findings', []))} findings)",
        )
