"""The two remote signing clients against the simulator: credentials, refusals, re-login,
asynchronous approval, and what never reaches the exchange log."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from pydantic import SecretStr

from connectors.esign import ApprovalPending, EsignConnector, SigningRefused
from connectors.esign.client_csc import CscSigner
from connectors.esign.client_hash import HashSigner
from connectors.esign.pki import SandboxPKI
from connectors.esign.sandbox import EsignSimulator, FaultConfig
from gateway.core.errors import (
    InvalidInput,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.exchange_log import Crossing
from gateway.core.http import RecordingTransport
from tests.connectors.esign.conftest import make_connector

DIGEST = hashlib.sha256(b"ho so").digest()


def signer_of(connector: EsignConnector) -> CscSigner | HashSigner:
    assert isinstance(connector.signer, CscSigner | HashSigner)
    return connector.signer


async def test_csc_lists_and_reads_the_credential(
    connector: EsignConnector, pki: SandboxPKI
) -> None:
    signer = signer_of(connector)
    assert isinstance(signer, CscSigner)
    assert "valid" in await signer.list_credentials()
    credential = await signer.credential()
    assert credential.certificate == pki.signer("valid").certificate
    assert credential.chain[1] == pki.intermediate.certificate


async def test_csc_wrong_password_is_an_auth_error(http: httpx.AsyncClient) -> None:
    connector = make_connector(http, password=SecretStr("not-the-password"))
    with pytest.raises((UpstreamAuthError, SigningRefused)):
        await connector.signer.credential()


async def test_csc_wrong_pin_is_refused(http: httpx.AsyncClient) -> None:
    connector = make_connector(http, pin=SecretStr("0000"))
    with pytest.raises(SigningRefused, match="PIN"):
        await connector.signer.sign_digest(DIGEST, "sha256", description="t")


async def test_csc_unknown_credential_is_refused(http: httpx.AsyncClient) -> None:
    connector = make_connector(http, credential_id="nobody")
    with pytest.raises(SigningRefused):
        await connector.signer.credential()


async def test_csc_logs_in_again_when_the_token_is_dropped(
    connector: EsignConnector, sim: EsignSimulator
) -> None:
    await connector.signer.credential()
    sim.tokens.clear()  # the service forgot every token (expiry, restart)
    signature = await connector.signer.sign_digest(DIGEST, "sha256", description="t")
    assert signature
    assert sim.stats.logins == 2


async def test_service_down_is_transient_after_retries(
    http: httpx.AsyncClient, sim: EsignSimulator
) -> None:
    sim.set_faults(FaultConfig(service_down=True))
    for service in ("csc", "hash"):
        connector = make_connector(http, service=service, read_retry_attempts=2)
        with pytest.raises(TransientUpstreamError):
            await connector.signer.credential()


async def test_hash_service_signs_when_approved_at_once(hash_connector: EsignConnector) -> None:
    signature = await hash_connector.signer.sign_digest(DIGEST, "sha256", description="t")
    assert len(signature) == 256


async def test_hash_pending_then_approved(
    hash_connector: EsignConnector, sim: EsignSimulator, http: httpx.AsyncClient
) -> None:
    sim.set_faults(FaultConfig(auto_approve=False))
    signer = signer_of(hash_connector)
    assert isinstance(signer, HashSigner)
    with pytest.raises(ApprovalPending) as pending:
        await signer.sign_digest(DIGEST, "sha256", description="Ký kết quả")
    (transaction_id,) = sim.transactions
    assert transaction_id in pending.value.detail
    assert sim.transactions[transaction_id].description == "Ký kết quả"
    answer = await http.post(f"/esign/_sandbox/transactions/{transaction_id}/approve")
    assert answer.json()["callback"]["state"] == "approved"
    signature = await signer.outcome(transaction_id, DIGEST, "sha256")
    assert len(signature) == 256


async def test_hash_denied_is_refused(
    hash_connector: EsignConnector, sim: EsignSimulator, http: httpx.AsyncClient
) -> None:
    sim.set_faults(FaultConfig(auto_approve=False))
    signer = signer_of(hash_connector)
    assert isinstance(signer, HashSigner)
    transaction_id = await signer.submit(DIGEST, "sha256", description="t")
    await http.post(f"/esign/_sandbox/transactions/{transaction_id}/deny")
    with pytest.raises(SigningRefused, match="denied"):
        await signer.outcome(transaction_id, DIGEST, "sha256")


async def test_hash_polls_until_approved(http: httpx.AsyncClient, sim: EsignSimulator) -> None:
    sim.set_faults(FaultConfig(auto_approve=False))
    polls = 0

    async def approve_on_second_poll(_seconds: float) -> None:
        nonlocal polls
        polls += 1
        if polls == 2:
            (transaction_id,) = sim.transactions
            await http.post(f"/esign/_sandbox/transactions/{transaction_id}/approve")

    connector = make_connector(http, service="hash", approval_wait_seconds=60)
    signer = HashSigner(connector.config, http, sleep=approve_on_second_poll)
    assert await signer.sign_digest(DIGEST, "sha256", description="t")
    assert polls == 2


async def test_hash_wrong_api_key(http: httpx.AsyncClient) -> None:
    connector = make_connector(http, service="hash", api_key=SecretStr("wrong"))
    with pytest.raises(UpstreamAuthError):
        await connector.signer.credential()


async def test_pin_password_and_tokens_never_reach_the_exchange_log(
    esign_app: object,
) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    recorded: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        recorded.append(crossing)

    inner = httpx.ASGITransport(app=Starlette(routes=[Mount("/esign", app=esign_app)]))
    async with httpx.AsyncClient(
        transport=RecordingTransport(inner, connector="esign", sink=sink)
    ) as http:
        connector = make_connector(
            http, pin=SecretStr("sandbox-esign-pin"), password=SecretStr("sandbox-esign-password")
        )
        await connector.signer.sign_digest(DIGEST, "sha256", description="t")
    assert recorded
    text = b"".join((c.request or b"") + (c.response or b"") for c in recorded)
    assert b"sandbox-esign-pin" not in text
    assert b"sandbox-esign-password" not in text
    assert b'"access_token": "***"' in text
    assert b'"SAD": "***"' in text


async def test_request_signature_deliveries(
    connector: EsignConnector, hash_connector: EsignConnector, sim: EsignSimulator
) -> None:
    payload = {"signature_id": "sig-1", "digest": DIGEST.hex(), "description": "Ký"}
    with pytest.raises(PermanentUpstreamError, match="hash service"):
        await connector.deliver("request_signature", payload)  # the CSC service signs at once
    with pytest.raises(InvalidInput):
        await hash_connector.deliver("request_signature", {**payload, "digest": "zz"})
    delivered = await hash_connector.deliver("request_signature", payload)
    assert delivered.upstream_ref == "sig-1"
    assert sim.transactions["sig-1"].digest == DIGEST
    assert hash_connector.periodic_jobs(object())[0].name == "esign.approvals"
    assert connector.periodic_jobs(object()) == []
