"""Connector of the National Business Registration Database (Cơ sở dữ liệu quốc gia về đăng ký
doanh nghiệp): enterprise look-ups by enterprise code (= tax code, MST).

Public surface: the configuration, the connector, the canonical models the case system speaks,
its problem types, and :data:`SPEC`, which the core registry lists. Everything else is private
to the package.

Quality (issue 23):

=====================================  ==========================================================
profile cited from the public record   ``profile``: ``ngsp`` (OpenCPS rc-3.0
                                       ``ApplicantManagementImpl.java``, ``ConstantUtils.java``;
                                       the default), ``lgsp-entcert`` (PASETO
                                       ``GetTraCuuThongTinDoanhNghiepQuery*.cs``), ``lgsp-hcm``
                                       (the HCM LGSP envelope); ``docs/research/
                                       issue-23-sources.md`` section 2. Our own profile: status
                                       ids other than ``ACT``, registered capital, the items of
                                       ``BusinessActivities``, officer and purpose
independent simulator                  ``sandbox/``: its own register (300 enterprises, every
                                       status, branches), answer writers, token endpoint
golden packets both ways               ``tests/golden/dkdn/`` (SOURCES.md),
                                       ``tests/connectors/dkdn/test_golden.py``
complete error table                   :mod:`.errors` (HTTP statuses, the HCM envelope's
                                       ``Status``; "not found" and "dissolved" are answers)
conformance suite                      ``tests/conformance`` (check, config, errors, redaction)
faults covered                         latency, 5xx, rate limit, timeouts, drops, malformed
                                       answers, expired or refused tokens, open breaker
diagnostics redacted                   consumer secret redacted from the token request's record,
                                       the token blanked in its answer's; headers never recorded
=====================================  ==========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from connectors.dkdn.config import PLACEHOLDER_SECRET, DkdnConfig
from connectors.dkdn.connector import DkdnConnector
from connectors.dkdn.errors import EnterpriseCodeRefused, MalformedAnswer
from connectors.dkdn.models import DoanhNghiep, TinhTrang, YeuCauDoanhNghiep
from gateway.core.connector import ConnectorSpec

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "SPEC",
    "DkdnConfig",
    "DkdnConnector",
    "DoanhNghiep",
    "EnterpriseCodeRefused",
    "MalformedAnswer",
    "TinhTrang",
    "YeuCauDoanhNghiep",
]


def _build(config: Any, http: httpx.AsyncClient) -> DkdnConnector:
    return DkdnConnector(DkdnConfig.model_validate(config), http)


def _sandbox_app() -> FastAPI:
    # imported here so that production never loads the simulator
    from connectors.dkdn.sandbox import create_app

    return create_app()


def _routers() -> list[Any]:
    """The connector's API routes (imported late: they import this package)."""
    from connectors.dkdn import routes

    return [routes.router]


def _demo_parts() -> list[Any]:
    """The connector's part of ``lgsp demo``."""
    from connectors.dkdn.demo import EnterpriseChecks

    return [EnterpriseChecks]


SPEC = ConnectorSpec(
    slug="dkdn",
    title="Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp (CSDLQG về đăng ký doanh nghiệp)",
    config_model=DkdnConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    sandbox_config=lambda base: {"base_url": base},
    placeholder_secrets=frozenset({PLACEHOLDER_SECRET}),
    scopes={"dkdn:lookup": "look up enterprises in the business registration database"},
    routers=_routers,
    demo_parts=_demo_parts,
)
