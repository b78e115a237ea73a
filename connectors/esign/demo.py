"""``lgsp demo``, eSign part: a dossier's result is signed, verified, and a tampered copy is
caught.

The result PDF is signed through ``POST /v1/esign/sign`` by the simulated remote signing
service (the key stays there; PAdES with a timestamp), verified through ``POST
/v1/esign/verify`` (integrity, chain to the sandbox root, revocation by OCSP, timestamp), then
one word of the signed file is changed and the verification must say ``invalid``. Needs a
client with the scopes ``esign:sign`` and ``esign:verify``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from gateway.core.demo import DemoContext, DemoPart, sample_pdf


class ResultSigning(DemoPart):
    order = 70
    scopes = ("esign:sign", "esign:verify")

    async def play(self, ctx: DemoContext) -> None:
        await self.run(ctx.shared["dossiers"][0], ctx.say)

    async def run(self, dossier: dict[str, Any] | None, say: Callable[[str], None]) -> None:
        ma_ho_so = (dossier or {}).get("ma_ho_so", "000.00.01.H22-240105-0007")
        say(f"▶ the result of {ma_ho_so} is signed remotely (PAdES-T), verified, then tampered")
        pdf = sample_pdf(f"KET QUA GIAI QUYET HO SO {ma_ho_so}")
        r = await self.api.post(
            "/v1/esign/sign",
            json={
                "document": base64.b64encode(pdf).decode(),
                "file_name": "ket-qua.pdf",
                "ma_ho_so": ma_ho_so,
                "reason": "Ký kết quả giải quyết thủ tục hành chính",
            },
        )
        signed = r.json() if r.status_code == 200 else {}
        if not self.check(
            signed.get("format") == "pades" and signed.get("timestamped") is True,
            f"result signed by {signed.get('signer_subject', '?')} with a timestamp "
            "(only the digest left the gateway)",
        ):
            return
        report = await self._verify(signed["signed_document"])
        sig = (report.get("signatures") or [{}])[0]
        self.check(
            report.get("verdict") == "valid"
            and sig.get("revocation") == "good"
            and (sig.get("timestamp") or {}).get("valid") is True,
            "signature verified: intact, chained to the trust anchor, not revoked, timestamped",
        )
        tampered = base64.b64decode(signed["signed_document"]).replace(b"KET QUA", b"KET QUY", 1)
        report = await self._verify(base64.b64encode(tampered).decode())
        sig = (report.get("signatures") or [{}])[0]
        self.check(
            report.get("verdict") == "invalid" and sig.get("integrity_ok") is False,
            "a copy with one word changed is reported invalid (integrity broken)",
        )

    async def _verify(self, document: str) -> dict[str, Any]:
        r = await self.api.post("/v1/esign/verify", json={"document": document})
        body: dict[str, Any] = r.json() if r.status_code == 200 else {}
        return body
