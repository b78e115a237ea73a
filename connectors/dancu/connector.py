"""The population-database connector: synchronous, officer-bound look-ups.

Nothing here changes state on the platform, so nothing goes through the outbox: ``operations``
is empty and :meth:`DancuConnector.deliver` refuses everything. The routes call
:meth:`lookup` and :meth:`verify` through :func:`gateway.core.delivery.intake.call_through` (circuit
breaker, exchange log) after the officer registry has authorised the officer; the connector
itself only speaks the platform's protocol. No citizen data is kept beyond the call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx
from lxml import etree

from connectors.dancu.client import LOOKUP, VERIFY, DancuClient, OfficerCredential
from connectors.dancu.config import DancuConfig
from connectors.dancu.errors import ERROR_TABLE
from connectors.dancu.models import CongDan, KetQuaXacThuc, YeuCauCongDan
from gateway.core.connector import CheckResult, Delivered, ErrorRule, PeriodicJob
from gateway.core.errors import PermanentUpstreamError
from gateway.core.http.safe_xml import untrusted_parser
from gateway.core.store.db import utcnow

__all__ = ["DancuConnector"]

_WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"


#: who the workers' locks of idle officers are recorded as
IDLE_ACTOR = "gateway:workers"


class DancuConnector:
    slug: ClassVar[str] = "dancu"
    operations: ClassVar[frozenset[str]] = frozenset()
    error_table: ClassVar[Mapping[str, ErrorRule]] = ERROR_TABLE

    def __init__(self, config: DancuConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.client = DancuClient(config, http)

    async def lookup(self, request: YeuCauCongDan, officer: OfficerCredential) -> CongDan:
        return await self.client.lookup(request, officer)

    async def verify(self, request: YeuCauCongDan, officer: OfficerCredential) -> KetQuaXacThuc:
        return await self.client.verify(request, officer)

    def periodic_jobs(self, gateway: Any) -> Sequence[PeriodicJob]:
        """The idle-account rule of seed 004, Điều 8 (an officer with no look-up for a year is
        locked), applied by the workers every ``idle_lock_interval_seconds`` (a day), each
        lock recorded in the chain with the actor ``gateway:workers`` and the reason."""
        settings = gateway.settings.governance
        if settings.idle_lock_interval_seconds <= 0:
            return []

        async def lock_idle() -> int:
            from connectors.dancu.governance import lock_idle as lock

            locked = await lock(
                gateway.db,
                now=utcnow(),
                idle_days=settings.idle_days,
                actor=IDLE_ACTOR,
                cipher=gateway.cipher,
            )
            return len(locked)

        return [PeriodicJob("lock-idle-officers", settings.idle_lock_interval_seconds, lock_idle)]

    async def check(self) -> CheckResult:
        """The endpoint serves a WSDL declaring both operations (no citizen is looked up:
        a health check must not be a query of personal data)."""
        started = time.perf_counter()
        try:
            text = await self.client.fetch_wsdl()
            # parsed only to list its operations
            root = etree.fromstring(text, parser=untrusted_parser())
            # (lxml-stubs does not declare DocInfo.doctype)
            if getattr(root.getroottree().docinfo, "doctype", ""):
                raise ValueError("the WSDL carries a DOCTYPE")
        except (httpx.HTTPError, etree.XMLSyntaxError, ValueError) as exc:
            return CheckResult(False, f"WSDL not served at the endpoint: {type(exc).__name__}")
        latency = (time.perf_counter() - started) * 1000
        declared = {
            op.get("name")
            for op in root.iterfind(f"{{{_WSDL_NS}}}portType/{{{_WSDL_NS}}}operation")
        }
        missing = sorted({LOOKUP, VERIFY} - declared)
        if missing:
            return CheckResult(False, f"the served WSDL lacks {', '.join(missing)}", latency)
        return CheckResult(True, "WSDL served with both look-up operations", latency)

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        raise PermanentUpstreamError(
            f"dancu delivers nothing through the outbox (asked for {operation!r}); "
            "look-ups are synchronous"
        )

    async def aclose(self) -> None:
        """The HTTP client is the gateway's; nothing else is held."""
