"""The example platform's part of ``lgsp demo``: one note sent and found on the platform."""

from __future__ import annotations

import asyncio
import time

from gateway.core.demo import DemoContext, DemoPart


class NoteTaking(DemoPart):
    order = 95
    scopes = ("example:write",)

    async def play(self, ctx: DemoContext) -> None:
        ctx.say("▶ a note to the example platform")
        r = await self.api.post("/v1/example/notes", json={"subject": "demo", "text": "xin chào"})
        self.check(r.status_code == 202, "the note is accepted (202)")
        deadline = time.monotonic() + 60  # the workers deliver it; a generous bound, not a race
        notes: list[dict[str, str]] = []
        while not notes and time.monotonic() < deadline:
            notes = (await self.sim.get("/example/_sandbox/notes")).json()["notes"]
            if not notes:
                await asyncio.sleep(0.05)
        self.check(notes == [{"subject": "demo", "text": "xin chào"}], "the platform keeps it")
