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
from connectors.esign.sandbox import (
    EsignSimulator,
    SandboxPKI,
    create_app,
    get_simulator,
    sandbox_pki,
    sign_prehashed,
)
from connectors.esign.signer import SigningCredential
from schemas.esign import SignatureFormat


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


class LocalSigner:
    """A :class:`~connectors.esign.signer.RemoteSigner` holding a test key in memory (for
    tests that need a signer the services would refuse, e.g. a revoked one)."""

    def __init__(self, pki: SandboxPKI, name: str = "valid") -> None:
        self._pki = pki
        self._name = name
        #: digests signed so far (the tests check what left the gateway)
        self.signed: list[tuple[bytes, str]] = []

    async def credential(self) -> SigningCredential:
        return SigningCredential(self._name, tuple(self._pki.chain(self._name)))

    async def sign_digest(
        self,
        digest: bytes,
        algorithm: str,
        *,
        description: str,
        format: SignatureFormat | None = None,
    ) -> bytes:
        self.signed.append((digest, algorithm))
        return sign_prehashed(self._pki.signer(self._name).key, digest, algorithm)
