"""Connector of the identity platforms: VNeID and the DVCQG single sign-on (OpenID Connect).

Public surface: the configuration, the connector, the login flow, the canonical identity, its
problem types, and :data:`SPEC`, which the core registry lists.

Quality (kept true by the tests named):

=====================================  ========================================================
wire profile cited from public record  one profile, :mod:`connectors.vneid.mapping` (OpenCPS
                                       rc-3.0, PASETO, fat2fast/yii2-auth); acr_values per
                                       provider in :class:`VneidConfig`
independent simulator                  :mod:`connectors.vneid.sandbox` (own providers, own ID
                                       check); ``tests/connectors/vneid/test_sandbox.py``
golden packets both ways               ``tests/golden/vneid/``, ``test_golden.py``
complete error table                   :data:`connectors.vneid.connector.ERROR_TABLE`
conformance suite                      ``tests/conformance``
faults covered                         every simulator switch,
                                       ``tests/connectors/vneid/test_routes.py``
diagnostics redacted                   no token, code, verifier, secret or ID number in logs,
                                       errors or the exchange log (``test_client.py``, routes)
=====================================  ========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from connectors.vneid import login
from connectors.vneid.config import PLACEHOLDER_SECRETS, PROVIDERS, VneidConfig
from connectors.vneid.connector import VneidConnector
from connectors.vneid.errors import (
    AssuranceTooLow,
    CodeRejected,
    IdTokenRejected,
    LoginStateInvalid,
    UserinfoMismatch,
)
from connectors.vneid.models import DinhDanh, LoaiTaiKhoan
from gateway.core.connector import ConnectorSpec

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "PROVIDERS",
    "SPEC",
    "AssuranceTooLow",
    "CodeRejected",
    "DinhDanh",
    "IdTokenRejected",
    "LoaiTaiKhoan",
    "LoginStateInvalid",
    "UserinfoMismatch",
    "VneidConfig",
    "VneidConnector",
    "login",
]


def _build(config: Any, http: httpx.AsyncClient) -> VneidConnector:
    return VneidConnector(VneidConfig.model_validate(config), http)


def _sandbox_app() -> FastAPI:
    # imported here so that production never loads the simulator
    from connectors.vneid.sandbox import create_app

    return create_app()


def _routers() -> list[Any]:
    """The connector's API routes (imported late: they import this package)."""
    from connectors.vneid import routes

    return [routes.router]


def _demo_parts() -> list[Any]:
    """The connector's parts of ``lgsp demo``."""
    from connectors.vneid.demo import CitizenLogins

    return [CitizenLogins]


SPEC = ConnectorSpec(
    slug="vneid",
    title="Định danh điện tử: VNeID và đăng nhập một lần DVCQG (OpenID Connect)",
    config_model=VneidConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    sandbox_config=lambda base: {"vneid_issuer": f"{base}/vneid", "dvcqg_issuer": f"{base}/dvcqg"},
    placeholder_secrets=PLACEHOLDER_SECRETS,
    # the citizen's browser is sent to the provider, and ID tokens name the provider as issuer
    direct_only=True,
    scopes={
        "identity:login": "start and finish citizens' logins (VNeID, DVCQG SSO)",
        "identity:tokens": "read the provider tokens the gateway keeps for a login",
    },
    routers=_routers,
    demo_parts=_demo_parts,
)
