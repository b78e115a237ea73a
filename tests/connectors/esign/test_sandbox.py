"""The simulator's PKI endpoints, its refusals of malformed requests, and its controls."""

from __future__ import annotations

import base64

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from connectors.esign.pki import SandboxPKI
from connectors.esign.sandbox import EsignSimulator


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
    bad = await http.post(
        "/esign/hash/v1/sign",
        json={"user_id": "u", "credential_id": "valid", "hash": "zz", "hash_algorithm": "sha256"},
        headers={"Authorization": "Bearer sandbox-esign-api-key"},
    )
    assert bad.json()["status"] == 4001
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
