"""Connector of EMC, the government's system for monitoring and measuring the provision and use
of digital government services (Hệ thống giám sát, đo lường mức độ cung cấp và sử dụng dịch vụ
Chính phủ số): per-dossier events, computed from what the gateway already knows, and the
monthly report.

Public surface: the configuration, the connector and its client, the code tables, the
canonical event, the report, and :data:`SPEC`, which the core registry lists.

Quality (kept true; see ``tests/golden/emc/SOURCES.md`` and
``docs/research/issue-23-sources.md`` §3):

=====================================  ============================================================
profile cited from the public record   ``emc-tracking``: ``POST /TrackingMCDT``, its fields and
                                       codes from PASETO ``EMCRequestBody.cs``, ``EMCService.cs``,
                                       ``emc.json`` (:mod:`connectors.emc.codes`); confidence
                                       medium (one deployed caller)
this project's own profile             the monthly aggregate (``submit_monthly_report``) and its
                                       endpoint; the HTTP-status error table beyond "2xx is
                                       success"; ``Data`` carrying the event's exchange id
where events come from                 delivered DVCQG dossier syncs in the core outbox, payments
                                       and ratings in the core events (:mod:`.tracking`); no
                                       import of another connector
independent simulator                  :mod:`connectors.emc.sandbox`, its own models, strict
                                       validation, de-duplication, faults over HTTP
golden packets both ways               ``tests/golden/emc/``, ``test_golden.py``
error table                            :mod:`connectors.emc.errors`
conformance suite, faults, redaction   ``tests/conformance``, the simulator's faults, the owner's
                                       ID number masked in every log line and detail
=====================================  ============================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from connectors.emc.client import EmcClient
from connectors.emc.config import PRODUCTION_TRACKING_URL, EmcConfig, production_refusals
from connectors.emc.connector import EmcConnector
from connectors.emc.errors import ERROR_TABLE, EmcNotConfigured
from connectors.emc.mapping import SuKienHoSo, to_wire
from gateway.core.connector import ConnectorSpec

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "ERROR_TABLE",
    "PRODUCTION_TRACKING_URL",
    "SPEC",
    "EmcClient",
    "EmcConfig",
    "EmcConnector",
    "EmcNotConfigured",
    "SuKienHoSo",
    "to_wire",
]

#: the SiteId, province and agency the simulator knows
SANDBOX_SITE_ID = 3800


def _build(config: Any, http: httpx.AsyncClient) -> EmcConnector:
    return EmcConnector(EmcConfig.model_validate(config), http)


def _sandbox_app() -> FastAPI:
    from connectors.emc.sandbox import create_app

    app: FastAPI = create_app()
    return app


def _sandbox_config(base: str) -> dict[str, Any]:
    return {
        "tracking_url": f"{base}/TrackingMCDT",
        "aggregate_url": f"{base}/aggregate",
        "site_id": SANDBOX_SITE_ID,
        "ma_tinh": "38",
        "ma_don_vi": "000.00.00.H56",
    }


def _routers() -> list[Any]:
    from connectors.emc import routes

    return [routes.router]


def _cli_commands() -> list[tuple[tuple[str, ...], Any]]:
    from connectors.emc.cli import report_emc

    return [(("report",), report_emc)]


def _demo_parts() -> list[Any]:
    from connectors.emc.demo import EmcTracking

    return [EmcTracking]


SPEC = ConnectorSpec(
    slug="emc",
    title="EMC (giám sát, đo lường dịch vụ Chính phủ số)",
    config_model=EmcConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    sandbox_config=_sandbox_config,
    production_refusals=production_refusals,
    scopes={
        "emc:submit": "send dossier events to EMC, run the scan, submit the monthly report",
        "emc:read": "read the monthly EMC report",
    },
    tables="connectors.emc.tables",
    routers=_routers,
    cli_commands=_cli_commands,
    demo_parts=_demo_parts,
)
