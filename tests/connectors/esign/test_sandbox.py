"""The simulator's PKI endpoints, its refusals of malformed requests, and its controls."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from connectors.esign.sandbox import SP_ID, SP_PASSWORD, EsignSimulator, SandboxPKI


async def ocsp_status(http: httpx.AsyncClient, pki: SandboxPKI, name: str) -> ocsp.OCSPResponse:
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(pki.signer(name).certificate, pki.intermediate.certificate, hashes.SHA1())
        .build()
    )
    answer = await http.post(
        "/esign/pki/ocsp", content=request.public_bytes(serialization.Encoding.DER)
    )
    assert answer.status_code == 200
    return ocsp.load_der_ocsp_response(answer.content)


async def test_ocsp_answers_good_and_revoked(http: httpx.AsyncClient, pki: SandboxPKI) -> None:
    good = await ocsp_status(http, pki, "valid")
    assert good.certificate_status == ocsp.OCSPCertStatus.GOOD
    revoked = await ocsp_status(http, pki, "revoked")
    assert revoked.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_reason == x509.ReasonFlags.key_compromise


async def test_ocsp_refuses_garbage_and_foreign_certificates(
    http: httpx.AsyncClient, pki: SandboxPKI
) -> None:
    answer = await http.post("/esign/pki/ocsp", content=b"garbage")
    assert (
        ocsp.load_der_ocsp_response(answer.content).response_status
        == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )
    foreign = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(pki.intermediate.certificate, pki.root.certificate, hashes.SHA1())
        .build()
    )
    answer = await http.post(
        "/esign/pki/ocsp", content=foreign.public_bytes(serialization.Encoding.DER)
    )
    assert (
        ocsp.load_der_ocsp_response(answer.content).response_status
        == ocsp.OCSPResponseStatus.UNAUTHORIZED
    )


async def test_crls_list_what_was_revoked(http: httpx.AsyncClient, pki: SandboxPKI) -> None:
    signing = x509.load_der_x509_crl((await http.get("/esign/pki/signing-ca.crl")).content)
    assert signing.get_revoked_certificate_by_serial_number(
        pki.signer("revoked").certificate.serial_number
    )
    assert signing.is_signature_valid(pki.intermediate.key.public_key())
    root = x509.load_der_x509_crl((await http.get("/esign/pki/root.crl")).content)
    assert list(root) == []
    pem = (await http.get("/esign/pki/root.pem")).content
    assert x509.load_pem_x509_certificate(pem) == pki.root.certificate


def test_the_pki_has_the_four_signers(pki: SandboxPKI) -> None:
    now = pki.built_at
    valid, expired, early = (
        pki.signer(n).certificate for n in ("valid", "expired", "not_yet_valid")
    )
    assert valid.not_valid_before_utc < now < valid.not_valid_after_utc
    assert expired.not_valid_after_utc < now
    assert early.not_valid_before_utc > now
    for name in ("valid", "revoked", "expired", "not_yet_valid"):
        pki.signer(name).certificate.verify_directly_issued_by(pki.intermediate.certificate)


async def test_services_refuse_off_schema_requests(http: httpx.AsyncClient) -> None:
    login = await http.post(
        "/esign/csc/v1/auth/login",
        headers={"Authorization": "Basic " + base64.b64encode(b"x:y").decode()},
    )
    assert login.status_code == 401
    assert login.json()["error"] == "access_denied"
    item = {"data_to_be_signed": "zz", "doc_id": "d", "file_type": "pdf", "sign_type": "hash"}
    sign: dict[str, Any] = {
        "sp_id": SP_ID,
        "sp_password": SP_PASSWORD,
        "user_id": "lgsp-sandbox",
        "transaction_id": "t-1",
        "sign_files": [item],
    }
    bad = await http.post("/esign/sca/sp769/v1/signatures/sign", json=sign)
    assert bad.status_code == 400
    assert bad.json()["status_code"] == 400  # BAD_REQUEST, an HTTP code (Doc §3.1)
    missing = await http.post(
        "/esign/sca/sp769/v1/signatures/sign", json={**sign, "sign_files": []}
    )
    assert missing.status_code == 400
    as_file = {**item, "data_to_be_signed": "AAAA", "sign_type": "file"}
    only_hash = await http.post(
        "/esign/sca/sp769/v1/signatures/sign", json={**sign, "sign_files": [as_file]}
    )
    assert "only sign_type hash" in only_hash.json()["message"]
    wrong = await http.post(
        "/esign/sca/sp769/v1/credentials/get_certificate",
        json={**sign, "sp_password": "wrong"},
    )
    assert wrong.status_code == 200
    assert wrong.json()["status_code"] == 401
    too_big = await http.post("/esign/tsa", content=b"x" * 70_000)
    assert too_big.status_code == 413


async def test_controls(http: httpx.AsyncClient, sim: EsignSimulator) -> None:
    r = await http.put("/esign/_sandbox/faults", json={"revocation_down": True})
    assert r.json()["revocation_down"] is True
    assert (await http.get("/esign/pki/root.crl")).status_code == 503
    await http.post("/esign/_sandbox/reset")
    assert sim.faults.revocation_down is False
    assert (await http.get("/esign/pki/root.crl")).status_code == 200
    stats = (await http.get("/esign/_sandbox/stats")).json()
    assert stats["crl"] == 1
    assert (await http.post("/esign/_sandbox/transactions/nope/approve")).status_code == 404


async def test_a_relayed_request_needs_no_provider_account(
    http: httpx.AsyncClient, sim: EsignSimulator
) -> None:
    """Through the sandbox's LGSP the LGSP holds the platform credential: a relayed request
    without sp_id/sp_password is served; the same without the relay's header is refused."""
    body = {"user_id": "lgsp-sandbox", "transaction_id": "t-2"}
    alone = await http.post("/esign/sca/sp769/v1/credentials/get_certificate", json=body)
    assert alone.json()["status_code"] == 401
    relayed = await http.post(
        "/esign/sca/sp769/v1/credentials/get_certificate",
        json=body,
        headers={"X-LGSP-Relay": "sandbox-lgsp-relay"},
    )
    assert relayed.json()["status_code"] == 200
    assert relayed.json()["data"]["user_certificates"][0]["serial_number"] == sim.serial_of("valid")
    token = await http.post(
        "/esign/csc/v1/credentials/list", json={}, headers={"X-LGSP-Relay": "sandbox-lgsp-relay"}
    )
    assert token.status_code == 200
    assert (await http.post("/esign/csc/v1/credentials/list", json={})).status_code == 401
