"""Fixtures of the eSign tests: the simulator mounted under ``/esign`` (the path its test
certificates name for CRLs and OCSP), reached in-process, and connectors configured for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from tenacity import wait_none

from connectors.esign import EsignConfig, EsignConnector
from connectors.esign.client_csc import CscSigner
from connectors.esign.client_hash import HashSigner
from connectors.esign.pki import SandboxPKI, sandbox_pki
from connectors.esign.sandbox import EsignSimulator, create_app, get_simulator


@pytest.fixture(scope="session")
def pki() -> SandboxPKI:
    return sandbox_pki()


@pytest.fixture
def esign_app() -> Any:
    return create_app()


@pytest.fixture
def sim(esign_app: Any) -> EsignSimulator:
    return get_simulator(esign_app)


@pytest.fixture
async def http(esign_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    outer = Starlette(routes=[Mount("/esign", app=esign_app)])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=outer), base_url="http://127.0.0.1:9000"
    ) as client:
        yield client


def make_connector(http: httpx.AsyncClient, **overrides: Any) -> EsignConnector:
    """A connector for the simulator; retries do not wait, approvals are polled without
    sleeping for at most two polls."""
    config = EsignConfig.model_validate({"approval_poll_seconds": 0.01, **overrides})
    signer: CscSigner | HashSigner
    if config.service == "csc":
        signer = CscSigner(config, http, retry_wait=wait_none())
    else:
        signer = HashSigner(config, http, retry_wait=wait_none())
    return EsignConnector(config, http, signer=signer)


@pytest.fixture
def connector(http: httpx.AsyncClient) -> EsignConnector:
    return make_connector(http)


@pytest.fixture
def hash_connector(http: httpx.AsyncClient) -> EsignConnector:
    return make_connector(http, service="hash", approval_wait_seconds=0)
