"""What every part of ``lgsp demo`` holds: the case system's client of the running gateway
(``api``), a client of the sandbox server (``sim``), and the demo's checker (``check(ok,
what)`` prints the line and remembers a failure)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

__all__ = ["Check", "DemoPart"]

Check = Callable[[bool, str], bool]


class DemoPart:
    def __init__(self, api: httpx.AsyncClient, sim: httpx.AsyncClient, check: Check) -> None:
        self.api = api
        self.sim = sim
        self.check = check
