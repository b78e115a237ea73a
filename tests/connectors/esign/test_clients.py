"""The two remote signing clients against the simulator: credentials, refusals, re-login,
asynchronous approval (SmartCA), and what never reaches the exchange log."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from connectors.esign import ApprovalPending, EsignConfig, EsignConnector, SigningRefused
from connectors.esign.client_csc import CscSigner
from connectors.esign.client_hash import HashSigner
from connectors.esign.errors import EXPIRED, UNKNOWN_TRANSACTION
from connectors.esign.sandbox import EsignSimulator, FaultConfig, SandboxPKI, create_app
from gateway.core.errors import (
    InvalidInput,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.recording import RecordingTransport
from gateway.core.log.exchange_log import Crossing
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
    assert answer.json()["state"] == "approved"
    webhook = answer.json()["webhook"]  # what SmartCA would POST to the provider (§3.5)
    assert webhook["message"] == "SUCCESS"
    assert webhook["signed_files"][0]["doc_id"] == transaction_id
    signature = await signer.outcome(transaction_id, DIGEST, "sha256")
    assert len(signature) == 256
    assert signature == base64.b64decode(webhook["signed_files"][0]["signature_value"])


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


async def test_hash_expired_and_unknown_transactions_are_refused(
    hash_connector: EsignConnector, sim: EsignSimulator, http: httpx.AsyncClient
) -> None:
    sim.set_faults(FaultConfig(auto_approve=False))
    signer = signer_of(hash_connector)
    assert isinstance(signer, HashSigner)
    transaction_id = await signer.submit(DIGEST, "sha256", description="t")
    with pytest.raises(ApprovalPending):
        await signer.outcome(transaction_id, DIGEST, "sha256")
    await http.post(f"/esign/_sandbox/transactions/{transaction_id}/expire")
    with pytest.raises(SigningRefused, match="expired") as expired:
        await signer.outcome(transaction_id, DIGEST, "sha256")
    assert expired.value.code == EXPIRED
    with pytest.raises(SigningRefused) as unknown:
        await signer.outcome("no-such-transaction", DIGEST, "sha256")
    assert unknown.value.code == UNKNOWN_TRANSACTION


async def test_smartca_wrong_sp_password_is_a_configuration_refusal(
    http: httpx.AsyncClient,
) -> None:
    connector = make_connector(http, service="hash", sp_password=SecretStr("wrong"))
    with pytest.raises(SigningRefused, match="SP_ID, SP_PASSWORD and USER_ID") as refused:
        await connector.signer.credential()
    assert refused.value.code == "401"


async def test_smartca_unknown_holder_is_refused(http: httpx.AsyncClient) -> None:
    connector = make_connector(http, service="hash", user_id="001099999999")
    with pytest.raises(SigningRefused, match="USER_ID"):
        await connector.signer.credential()


async def test_smartca_serial_number_chooses_among_the_holder_certificates(
    http: httpx.AsyncClient, pki: SandboxPKI, sim: EsignSimulator
) -> None:
    several = make_connector(http, service="hash", user_id="lgsp-sandbox-all")
    with pytest.raises(SigningRefused, match="SERIAL_NUMBER") as ambiguous:
        await several.signer.credential()
    assert sim.serial_of("valid") in ambiguous.value.detail
    # upper-case, as an operator may copy it from a certificate viewer
    serial = sim.serial_of("valid").upper()
    chosen = make_connector(http, service="hash", user_id="lgsp-sandbox-all", serial_number=serial)
    credential = await chosen.signer.credential()
    assert credential.certificate == pki.signer("valid").certificate
    assert credential.chain[1:] == (pki.intermediate.certificate, pki.root.certificate)
    assert len(await chosen.signer.sign_digest(DIGEST, "sha256", description="t")) == 256
    missing = make_connector(http, service="hash", serial_number="abcdef")
    with pytest.raises(SigningRefused, match="no certificate with serial number"):
        await missing.signer.credential()


async def test_smartca_refuses_a_certificate_not_in_force(
    http: httpx.AsyncClient, sim: EsignSimulator
) -> None:
    connector = make_connector(
        http, service="hash", user_id="lgsp-sandbox-all", serial_number=sim.serial_of("expired")
    )
    await connector.signer.credential()  # listed, as the service lists it
    with pytest.raises(SigningRefused, match="SERIAL_NUMBER") as refused:
        await connector.signer.sign_digest(DIGEST, "sha256", description="t")
    assert refused.value.code == "403"


async def test_smartca_paths_are_configurable(esign_app: Any) -> None:
    """A deployment whose provider serves SmartCA under another prefix (a proxy) sets the
    paths; the simulator is mounted there to prove every call follows them."""
    outer = Starlette(routes=[Mount("/proxy/esign", app=esign_app)])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=outer), base_url="http://127.0.0.1:9000"
    ) as http:
        connector = make_connector(
            http,
            service="hash",
            base_url="http://127.0.0.1:9000/proxy",
            smartca_certificate_path="/esign/sca/sp769/v1/credentials/get_certificate",
            smartca_sign_path="/esign/sca/sp769/v1/signatures/sign",
            smartca_status_path="/esign/sca/sp769/v1/signatures/sign/{transaction_id}/status",
        )
        assert await connector.signer.sign_digest(DIGEST, "sha256", description="t")


def test_smartca_status_path_must_name_the_transaction() -> None:
    with pytest.raises(ValueError, match="transaction_id"):
        EsignConfig.model_validate({"smartca_status_path": "/sca/sp769/v1/status"})


async def test_pin_password_and_tokens_never_reach_the_exchange_log(
    esign_app: object,
) -> None:
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


async def test_the_sp_password_never_reaches_the_exchange_log(esign_app: Any) -> None:
    """SmartCA takes the provider's password in every body: the recorded copies blank it,
    escaped or not, and nothing else of the request is lost."""
    recorded: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        recorded.append(crossing)

    secret = 'pa"ss\\wörd'  # JSON escapes it
    app = create_app(sp_password=secret)
    inner = httpx.ASGITransport(app=Starlette(routes=[Mount("/esign", app=app)]))
    async with httpx.AsyncClient(
        transport=RecordingTransport(inner, connector="esign", sink=sink)
    ) as http:
        connector = make_connector(http, service="hash", sp_password=SecretStr(secret))
        assert await connector.signer.sign_digest(DIGEST, "sha256", description="t")
    operations = [c.operation.rsplit(":", 1)[-1] for c in recorded]
    assert operations == [
        "esign.smartca.get_certificate",
        "esign.smartca.sign",
        "esign.smartca.status",
    ]
    requests = b"".join(c.request or b"" for c in recorded)
    for form in (secret.encode(), b'pa\\"ss', "wörd".encode(), b"w\\u00f6rd"):
        assert form not in requests
    assert requests.count(b'"sp_password":"***"') == 2
    assert b'"sp_id":"lgsp-sandbox-sp"' in requests
    assert DIGEST.hex().encode() in requests


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
    assert sim.transactions["sig-1"].files[0].digest == DIGEST
    assert sim.transactions["sig-1"].files[0].file_type == "pdf"  # no format: a PDF's
    xml = await hash_connector.deliver(
        "request_signature", {**payload, "signature_id": "sig-2", "format": "xades"}
    )
    assert sim.transactions[xml.upstream_ref or ""].files[0].file_type == "xml"
    assert hash_connector.periodic_jobs(object())[0].name == "esign.approvals"
    assert connector.periodic_jobs(object()) == []
