"""Connector of remote e-signing (eSign): PAdES, XAdES and detached CMS signatures made by a
remote service that holds the key, verification of signed documents, and signed packets.

Public surface: the configuration, the connector, the remote signer interface and its two
clients, the verifier, packet signing, the problem types, and :data:`SPEC`, which the core
registry lists. The simulator and its test PKI (:mod:`connectors.esign.sandbox`) are for tests,
the demo and the sandbox only.

Wire profiles (:mod:`connectors.esign.profiles`): ``SERVICE=csc`` (the default) is this
project's documented CSC profile (CSC API v1 names; no public Vietnamese client found on these
paths); ``SERVICE=hash`` with ``HASH_PROFILE=smartca`` (the default) speaks VNPT SmartCA's
public ``sp769`` API.

Quality, kept true:

=========================================  ===================================================
profile cited from the public record        smartca: yes, VNPT's integration document v4.1 and
                                            the public client ``SmartCA769.cs``
                                            (``huy1692003/BE-PCHY_2024``), status messages from
                                            ``5310101/ERS_EbhRemoteSigning``; csc: this
                                            project's own profile (CSC API v1 names)
independent simulator                       yes: ``sandbox/`` (own models, own test PKI, no
                                            ``schemas``)
golden packets both ways                    yes: ``tests/golden/esign`` (SOURCES.md), SmartCA
complete error table                        yes: :mod:`connectors.esign.errors` (SmartCA's
                                            200/400/401/403/500, CSC's ``error`` codes)
conformance suite                           yes (``tests/conformance``)
faults covered                              services down, wrong signatures, OCSP/CRL/TSA down,
                                            holder pending, denied, expired
diagnostics redacted                        password, PIN, SAD, tokens, ``sp_password`` never
                                            in errors, logs or the exchange log's copies
=========================================  ===================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from connectors.esign.client_csc import CscSigner
from connectors.esign.client_hash import HashSigner
from connectors.esign.config import PLACEHOLDER_SECRETS, SANDBOX_ANCHOR, SANDBOX_BASE, EsignConfig
from connectors.esign.connector import EsignConnector, SignedDocument
from connectors.esign.errors import (
    ERROR_TABLE,
    ApprovalPending,
    PacketSignatureInvalid,
    SigningRefused,
    UnsupportedDocument,
)
from connectors.esign.signer import RemoteSigner, SigningCredential
from connectors.esign.verify import Verifier
from gateway.core.connector import ConnectorSpec

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "ERROR_TABLE",
    "PLACEHOLDER_SECRETS",
    "SANDBOX_ANCHOR",
    "SPEC",
    "ApprovalPending",
    "CscSigner",
    "EsignConfig",
    "EsignConnector",
    "HashSigner",
    "PacketSignatureInvalid",
    "RemoteSigner",
    "SignedDocument",
    "SigningCredential",
    "SigningRefused",
    "UnsupportedDocument",
    "Verifier",
]


def _build(config: Any, http: httpx.AsyncClient) -> EsignConnector:
    # the registry validates the section with config_model first; accept a plain dict too
    return EsignConnector(EsignConfig.model_validate(config), http)


def _sandbox_app() -> FastAPI:
    # imported here so that production never loads the simulator
    from connectors.esign.sandbox import create_app

    app: FastAPI = create_app()
    return app


def _routers() -> list[Any]:
    """The connector's API routes (imported late: they import this package)."""
    from connectors.esign import routes

    return [routes.router]


def _demo_parts() -> list[Any]:
    """The connector's parts of ``lgsp demo``."""
    from connectors.esign.demo import ResultSigning

    return [ResultSigning]


SPEC = ConnectorSpec(
    slug="esign",
    title="Ký số từ xa (eSign): PAdES, XAdES, CMS",
    config_model=EsignConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    # trusting the sandbox's test root would accept anything the simulator signs
    production_refusals=lambda config: (
        ["trust_anchors"] if SANDBOX_ANCHOR in config.trust_anchors else []
    ),
    sandbox_config=lambda base: {
        "base_url": base,
        "tsa_url": f"{base}/tsa",
        "trust_anchors": [SANDBOX_ANCHOR],
        # the test certificates name the default sandbox address; reach wherever it runs
        "revocation_mirrors": {SANDBOX_BASE: base},
    },
    placeholder_secrets=PLACEHOLDER_SECRETS,
    scopes={
        "esign:sign": "sign documents with the remote signing service",
        "esign:verify": "verify signed documents (PDF, XML, CMS)",
    },
    tables="connectors.esign.tables",
    routers=_routers,
    demo_parts=_demo_parts,
)
