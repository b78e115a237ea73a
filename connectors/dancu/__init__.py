"""Connector of the National Population Database (Cơ sở dữ liệu quốc gia về dân cư).

Public surface: the configuration, the connector, the officer credential it needs, the
canonical models the case system speaks, its problem types, and :data:`SPEC`, which the core
registry lists. Everything else is private to the package.

Quality (issue 14):

=====================================  ==========================================================
profile cited from the public record   ``credential``: ``basic`` (a C# ``CallApi037``, a PHP
                                       ``traCuuThongTinCongDanC06``), ``lgsp`` (OpenCPS rc-3.0
                                       ``QLCDIntegrationActionImpl``), ``authhash`` (this
                                       project's own, the default); fields and names from the
                                       same sources (:mod:`.profile`)
independent simulator                  ``sandbox/``: its own request model, parser, credential
                                       checks, population, masking and WSDL
golden packets both ways               ``tests/golden/dancu/`` (OpenCPS, C#, PHP, PASETO's
                                       reader), ``tests/connectors/dancu/test_golden.py``
complete error table                   :mod:`.errors` (004/005 public; the rest this project's)
conformance suite                      ``tests/conformance`` (check, config, errors, redaction)
faults covered                         latency, 5xx, quota/busy codes, timeouts, drops,
                                       malformed and hostile answers, refused credentials
diagnostics redacted                   AuthHash redacted from the exchange log; Basic and LGSP
                                       credentials are headers (never recorded); ID numbers
                                       masked in logs and in the simulator's request log
=====================================  ==========================================================
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import httpx

from connectors.dancu.config import PLACEHOLDER_SECRET, DancuConfig
from connectors.dancu.connector import DancuConnector
from connectors.dancu.errors import (
    CitizenNotFound,
    OfficerCredentialRefused,
    OfficerNotPermitted,
    ProcedureNotLicensed,
)
from connectors.dancu.models import (
    CongDan,
    KetQuaXacThuc,
    YeuCauCongDan,
    check_consistency,
)
from connectors.dancu.profile import OfficerCredential, normalise_name
from gateway.core.connector import ConnectorSpec, ConsoleAlert, ConsoleAlerts

if TYPE_CHECKING:
    from fastapi import FastAPI

    from connectors.dancu.sandbox.population import Population

__all__ = [
    "SPEC",
    "CitizenNotFound",
    "CongDan",
    "DancuConfig",
    "DancuConnector",
    "KetQuaXacThuc",
    "OfficerCredential",
    "OfficerCredentialRefused",
    "OfficerNotPermitted",
    "ProcedureNotLicensed",
    "YeuCauCongDan",
    "check_consistency",
    "normalise_name",
]


def _build(config: Any, http: httpx.AsyncClient) -> DancuConnector:
    return DancuConnector(DancuConfig.model_validate(config), http)


def _sandbox_app() -> FastAPI:
    # imported here so that production never loads the simulator
    from connectors.dancu.sandbox import create_app

    return create_app(population=_sandbox_population())


@functools.cache
def _sandbox_population() -> Population:
    """The simulator's synthetic population, drawn once per process (it is immutable)."""
    from connectors.dancu.sandbox.population import Population

    return Population()


def _routers() -> list[Any]:
    """The connector's API routes (imported late: they import this package)."""
    from connectors.dancu import routes, routes_officers

    return [routes.router, routes_officers.router]


def _cli_commands() -> list[tuple[tuple[str, ...], Any]]:
    """The connector's ``lgsp`` commands, each with the group it goes in."""
    from connectors.dancu.cli import officers_group, report_dancu

    return [((), officers_group), (("report",), report_dancu)]


def _demo_parts() -> list[Any]:
    """The connector's parts of ``lgsp demo``."""
    from connectors.dancu.demo import PopulationApplicants, PopulationChecks

    return [PopulationApplicants, PopulationChecks]


async def _console_alerts(gw: Any) -> list[ConsoleAlert]:
    """The officer governance alerts (spikes), newest first, for the ops console."""
    from connectors.dancu.governance import list_alerts

    return [
        ConsoleAlert(
            ref=str(a.id),
            kind=a.kind,
            subject=a.officer,
            detail=a.detail + (" (locked)" if a.locked else ""),
            raised_at=a.created_at,
            acknowledged_by=a.acknowledged_by,
            acknowledged_at=a.acknowledged_at,
            acknowledged_note=a.acknowledged_note,
        )
        for a in await list_alerts(gw.db, limit=50)
    ]


async def _console_acknowledge(gw: Any, ref: str, actor: str, note: str | None) -> None:
    from connectors.dancu.governance import acknowledge_alert
    from gateway.core.errors import NotFound

    if not (ref.isascii() and ref.isdigit()):
        raise NotFound(f"no alert {ref}")
    await acknowledge_alert(gw.db, alert_id=int(ref), actor=actor, note=note)


SPEC = ConnectorSpec(
    slug="dancu",
    title="Cơ sở dữ liệu quốc gia về dân cư (CSDLQG về dân cư)",
    config_model=DancuConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    sandbox_config=lambda base: {"endpoint_url": f"{base}/ws"},
    placeholder_secrets=frozenset({PLACEHOLDER_SECRET}),
    scopes={
        "dancu:lookup": "look up and verify citizens in the population database",
        "officers:admin": "manage the officer registry (seed 004, Điều 8)",
        "governance:read": "usage reports, idle officers, spike alerts",
    },
    tables="connectors.dancu.tables",
    routers=_routers,
    demo_parts=_demo_parts,
    cli_commands=_cli_commands,
    console_alerts=ConsoleAlerts(
        title_vi="Cảnh báo tra cứu của cán bộ (CSDLQG về dân cư)",
        title_en="Officer look-up alerts (population database)",
        list=_console_alerts,
        acknowledge=_console_acknowledge,
    ),
)
