"""Connector of the DVCQG online payment platform (Nền tảng thanh toán trực tuyến).

Public surface: the configuration, the connector and its client, the checksum, the problem
types, and :data:`SPEC`, which the core registry lists. Everything else is private.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from connectors.payment.checksum import Checksum
from connectors.payment.client import PaymentClient
from connectors.payment.config import PLACEHOLDER_SECRETS, Beneficiary, PaymentConfig
from connectors.payment.connector import PaymentConnector
from connectors.payment.errors import (
    ERROR_TABLE,
    CallbackRejected,
    CallbackStale,
    PaymentChecksumRefused,
    PaymentNotFound,
    PaymentReferenceConflict,
)
from gateway.core.connector import ConnectorSpec

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "ERROR_TABLE",
    "PLACEHOLDER_SECRETS",
    "SPEC",
    "Beneficiary",
    "CallbackRejected",
    "CallbackStale",
    "Checksum",
    "PaymentChecksumRefused",
    "PaymentClient",
    "PaymentConfig",
    "PaymentConnector",
    "PaymentNotFound",
    "PaymentReferenceConflict",
]


def _build(config: Any, http: httpx.AsyncClient) -> PaymentConnector:
    # the registry validates the section with config_model first; accept a plain dict too
    return PaymentConnector(PaymentConfig.model_validate(config), http)


def _sandbox_app() -> FastAPI:
    # imported here so that production never loads the simulator
    from connectors.payment.sandbox import create_app

    app: FastAPI = create_app()
    return app


def _routers() -> list[Any]:
    """The connector's API routes (imported late: they import this package)."""
    from connectors.payment import routes, routes_portal

    return [routes.router, routes_portal.router]


def _cli_commands() -> list[tuple[tuple[str, ...], Any]]:
    """The connector's ``lgsp`` commands, each with the group it goes in."""
    from connectors.payment.cli import reconcile_payments

    return [(("reconcile",), reconcile_payments)]


def _demo_parts() -> list[Any]:
    """The connector's parts of ``lgsp demo``."""
    from connectors.payment.demo import FeePayments

    return [FeePayments]


SPEC = ConnectorSpec(
    slug="payment",
    title="Nền tảng thanh toán trực tuyến DVCQG",
    config_model=PaymentConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    sandbox_config=lambda base: {"base_url": base},
    placeholder_secrets=PLACEHOLDER_SECRETS,
    scopes={
        "payment:create": "create fee payments on the DVCQG payment platform",
        "payment:read": "read payments and their status history",
    },
    tables="connectors.payment.tables",
    routers=_routers,
    demo_parts=_demo_parts,
    cli_commands=_cli_commands,
)
