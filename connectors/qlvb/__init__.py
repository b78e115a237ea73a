"""Connector of the province's document management and operations software (quản lý văn bản và
điều hành, QLVB): a dossier's documents sent to agencies as edXML packages (QCVN 102:2016/
BTTTT) through the document exchange axis, and their processing statuses brought back.

Public surface: the configuration, the connector and its client, the canonical document and
status mapping, the problem types, and :data:`SPEC`, which the core registry lists.

Quality (kept true; see ``tests/golden/qlvb/SOURCES.md`` and
``docs/research/issue-23-sources.md`` section 1):

=====================================  ============================================================
profile cited from the public record   the edXML tree, header fields, DocumentId rule, Bussiness,
                                       status packages and codes from the VXP-SDK samples
                                       (``PVN-Organization/API-Gateway-iOffice``) and Bkav-edoc
                                       (``QuangChuIT/edoc-integrator``: samples, Checker.java
                                       limits); the operation names from the VXP SDK
                                       (ServiceTest.java)
this project's own profile             the HTTP wire under the SDK's operations, the ErrorCode
                                       values, the pushed status callback and its HMAC, the
                                       DocumentType table's defaults, SHA-256 signatures
independent simulator                  :mod:`connectors.qlvb.sandbox`, its own lxml reading;
                                       validates strictly, de-duplicates by DocumentId, verifies
                                       signatures, produces status packages on command
golden packets both ways               ``tests/golden/qlvb/``, ``tests/connectors/qlvb/
                                       test_golden.py``
error table                            :mod:`connectors.qlvb.errors`
conformance suite, faults, redaction   ``tests/conformance``; the simulator's latency, 5xx,
                                       timeouts, drops, malformed and wrongly signed statuses;
                                       the secret sent only as a header (never recorded)
=====================================  ============================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from connectors.qlvb.client import QlvbClient
from connectors.qlvb.config import PLACEHOLDER_SECRETS, Agency, QlvbConfig
from connectors.qlvb.connector import QlvbConnector
from connectors.qlvb.errors import (
    ERROR_TABLE,
    QlvbDocumentConflict,
    QlvbDocumentUnknown,
    StatusInvalid,
    StatusRejected,
)
from connectors.qlvb.mapping import STATUS_BY_CODE, NguoiKy, StatusReport, TepDinhKem, VanBanGui
from gateway.core.connector import ConnectorSpec

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "ERROR_TABLE",
    "PLACEHOLDER_SECRETS",
    "SPEC",
    "STATUS_BY_CODE",
    "Agency",
    "NguoiKy",
    "QlvbClient",
    "QlvbConfig",
    "QlvbConnector",
    "QlvbDocumentConflict",
    "QlvbDocumentUnknown",
    "StatusInvalid",
    "StatusRejected",
    "StatusReport",
    "TepDinhKem",
    "VanBanGui",
]


def _build(config: Any, http: httpx.AsyncClient) -> QlvbConnector:
    return QlvbConnector(QlvbConfig.model_validate(config), http)


def _sandbox_app() -> FastAPI:
    # imported here so that production never loads the simulator
    from connectors.qlvb.sandbox import create_app

    app: FastAPI = create_app()
    return app


def _routers() -> list[Any]:
    from connectors.qlvb import routes

    return [routes.router]


def _demo_parts() -> list[Any]:
    from connectors.qlvb.demo import DocumentExchange

    return [DocumentExchange]


SPEC = ConnectorSpec(
    slug="qlvb",
    title="Quản lý văn bản và điều hành (edXML, QCVN 102:2016)",
    config_model=QlvbConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    sandbox_config=lambda base: {"base_url": base, "poll_interval_seconds": 1.0},
    placeholder_secrets=PLACEHOLDER_SECRETS,
    scopes={
        "qlvb:send": "send dossiers' documents to agencies' document management",
        "qlvb:read": "read the documents sent and their processing statuses",
    },
    tables="connectors.qlvb.tables",
    routers=_routers,
    demo_parts=_demo_parts,
)
