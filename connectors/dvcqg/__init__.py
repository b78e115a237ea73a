"""Connector of the National Public Service Portal (Cổng Dịch vụ công quốc gia, DVCQG).

Public surface: the configuration, the connector, the canonical models the case system speaks,
and :data:`SPEC`, which the core registry lists. Everything else is private to the package.

Wire profiles (``LGSP_CONNECTORS__DVCQG__PROFILE``, see :mod:`connectors.dvcqg.profiles`):
``opencps`` sends exactly OpenCPS rc-3.0's DongBoHoSoMC packet; ``paseto`` (the default) adds
the newer fields PASETO sends. Both speak OpenCPS's envelope, ``dstcode`` header and look-ups.

Quality, kept true:

=========================================  ===================================================
profile cited from the public record        yes: OpenCPS ``DVCQGIntegrationActionImpl.java``
                                            (rc-3.0), PASETO ``SyncLocalDataToDVCQGService``;
                                            online dossiers, citizens' items, the data store
                                            are this project's own profile (no public source)
independent simulator                       yes: ``sandbox/`` (own models, no ``schemas``)
golden packets both ways                    yes: ``tests/golden/dvcqg`` (SOURCES.md)
complete error table                        yes: :mod:`connectors.dvcqg.errors` (+ "0" with
                                            "đã tồn tại" read as "exists", as PASETO does)
conformance suite                           yes (``tests/conformance``)
faults covered                              503, 500, late, dropped, malformed, expired session
diagnostics redacted                        password and session never in errors or logs
=========================================  ===================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import structlog

from connectors.dvcqg.config import PLACEHOLDER_SECRETS, DvcqgConfig
from connectors.dvcqg.connector import DvcqgConnector
from connectors.dvcqg.models import (
    BuocXuLy,
    CapNhatTienDo,
    HoSo,
    KenhThucHien,
    LoaiDoiTuong,
    ThuTuc,
    ThuTucChiTiet,
    TrangThaiHoSo,
)
from gateway.core.connector import Connector, ConnectorSpec
from gateway.core.errors import UpstreamError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "SPEC",
    "BuocXuLy",
    "CapNhatTienDo",
    "DvcqgConfig",
    "DvcqgConnector",
    "HoSo",
    "KenhThucHien",
    "LoaiDoiTuong",
    "ThuTuc",
    "ThuTucChiTiet",
    "TrangThaiHoSo",
]


def _build(config: Any, http: httpx.AsyncClient) -> DvcqgConnector:
    # the registry validates the section with config_model first; accept a plain dict too
    return DvcqgConnector(DvcqgConfig.model_validate(config), http)


def _sandbox_app() -> FastAPI:
    # imported here so that production never loads the simulator
    from connectors.dvcqg.sandbox import create_app

    return create_app()


async def _warm_catalogue(connector: Connector) -> None:
    """Load the procedure catalogue at start-up; a portal that is down must not stop the
    gateway (the catalogue loads on first use instead)."""
    if not isinstance(connector, DvcqgConnector):
        return
    try:
        await connector.catalogue.refresh()
    except UpstreamError as exc:
        structlog.get_logger().warning(
            "dvcqg.catalogue_warm_failed", error=type(exc).__name__, reason=exc.detail
        )


def _routers() -> list[Any]:
    """The connector's API routes (imported late: they import this package)."""
    from connectors.dvcqg import routes, routes_portal, routes_results

    return [routes.router, routes_portal.router, routes_results.router]


def _demo_parts() -> list[Any]:
    """The connector's parts of ``lgsp demo``."""
    from connectors.dvcqg.demo import CaseDossiers, DossierLifecycle
    from connectors.dvcqg.demo_portal import PortalCitizens

    return [CaseDossiers, PortalCitizens, DossierLifecycle]


SPEC = ConnectorSpec(
    slug="dvcqg",
    title="Cổng Dịch vụ công quốc gia (DVCQG)",
    config_model=DvcqgConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    sandbox_config=lambda base: {"base_url": base},
    on_start=_warm_catalogue,
    placeholder_secrets=PLACEHOLDER_SECRETS,
    scopes={
        "dvcqg:sync": "send dossiers and steps to the national portal",
        "dvcqg:read": "read dossiers and procedures from the portal",
    },
    tables="connectors.dvcqg.tables",
    routers=_routers,
    demo_parts=_demo_parts,
)
