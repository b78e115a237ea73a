"""Connector of the public postal service (VNPost, Bưu chính công ích), service HCC: pick-up of
dossiers from citizens and delivery of results to them, with fees collected on delivery.

Public surface: the configuration, the connector and its client, the canonical models and
status mapping, the problem types, and :data:`SPEC`, which the core registry lists.

Quality (kept true; see ``tests/golden/postal/SOURCES.md``):

=====================================  ============================================================
profile cited from the public record   orders, quotes, answers, cancel and the tracking feed from
                                       OpenCPS rc-3.0 (VNPostManagementImpl.java and its NGSP SDK);
                                       the ``paseto`` order and the ``access_token`` header from
                                       PASETO; one module reads the choices
                                       (:mod:`connectors.postal.profiles`)
this project's own profile             status codes, webhooks, the COD statement, answer codes
                                       other than "100"/"101", the ``vnpost_token`` request
through the LGSP                       no VNPost token fetched nor sent; paths, or ``?service=``
independent simulator                  :mod:`connectors.postal.sandbox`, its own models; accepts
                                       relayed LGSP requests without a credential
golden packets both ways               ``tests/golden/postal/``, ``test_golden.py``
error table                            :mod:`connectors.postal.errors`
conformance suite, faults, redaction   ``tests/conformance``, the simulator's faults, secrets and
                                       tokens blanked in the exchange log
=====================================  ============================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from connectors.postal.client import PostalClient
from connectors.postal.config import PLACEHOLDER_SECRETS, Centre, PostalConfig
from connectors.postal.connector import CancelOrder, PostalConnector
from connectors.postal.errors import (
    ERROR_TABLE,
    PostalNotCancellable,
    PostalOrderConflict,
    PostalOrderNotFound,
    WebhookRejected,
)
from connectors.postal.mapping import (
    FLOWS,
    STATUS_BY_CODE,
    Citizen,
    Flow,
    QuoteIn,
    ShipmentEvent,
    ShipmentRequest,
    event_from_wire,
    order_number,
    receiver_summary,
)
from gateway.core.connector import ConnectorSpec

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "ERROR_TABLE",
    "FLOWS",
    "PLACEHOLDER_SECRETS",
    "SPEC",
    "STATUS_BY_CODE",
    "CancelOrder",
    "Centre",
    "Citizen",
    "Flow",
    "PostalClient",
    "PostalConfig",
    "PostalConnector",
    "PostalNotCancellable",
    "PostalOrderConflict",
    "PostalOrderNotFound",
    "QuoteIn",
    "ShipmentEvent",
    "ShipmentRequest",
    "WebhookRejected",
    "event_from_wire",
    "order_number",
    "receiver_summary",
]


def _build(config: Any, http: httpx.AsyncClient) -> PostalConnector:
    # the registry validates the section with config_model first; accept a plain dict too
    return PostalConnector(PostalConfig.model_validate(config), http)


def _sandbox_app() -> FastAPI:
    # imported here so that production never loads the simulator
    from connectors.postal.sandbox import create_app

    app: FastAPI = create_app()
    return app


def _routers() -> list[Any]:
    """The connector's API routes (imported late: they import this package)."""
    from connectors.postal import routes

    return [routes.router]


def _cli_commands() -> list[tuple[tuple[str, ...], Any]]:
    """The connector's ``lgsp`` commands, each with the group it goes in."""
    from connectors.postal.cli import reconcile_postal

    return [(("reconcile",), reconcile_postal)]


def _demo_parts() -> list[Any]:
    """The connector's parts of ``lgsp demo``."""
    from connectors.postal.demo import PostalShipments

    return [PostalShipments]


SPEC = ConnectorSpec(
    slug="postal",
    title="Bưu chính công ích (VNPost)",
    config_model=PostalConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    sandbox_config=lambda base: {"base_url": base},
    placeholder_secrets=PLACEHOLDER_SECRETS,
    scopes={
        "postal:ship": "order postal pick-ups and deliveries, cancel them",
        "postal:read": "read shipments, quotes and the cash-on-delivery reconciliation",
    },
    tables="connectors.postal.tables",
    routers=_routers,
    demo_parts=_demo_parts,
    cli_commands=_cli_commands,
)
