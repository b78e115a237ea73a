"""Golden packets of VNPT SmartCA (``tests/golden/esign/``, sources in its ``SOURCES.md``):

(a) what the gateway sends, compared with what the public client SmartCA769.cs sends for the
    same holder and hash: the same fields, the same JSON types, the same values but for the
    ids each side makes up;
(b) what SmartCA answers (VNPT's integration document's samples, and the status messages
    public readers tell apart), read by the gateway's reader;
(c) the public client's own requests, and the document's sample request, accepted by the
    simulator, and signed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.hashes import SHA256
from starlette.applications import Starlette
from starlette.routing import Mount

from connectors.esign import SigningRefused, profiles
from connectors.esign.client_csc import load_chain
from connectors.esign.client_hash import HashSigner
from connectors.esign.sandbox import SandboxPKI
from gateway.core.errors import InvalidUpstreamAnswer
from schemas import esign as wire
from tests.connectors.esign.conftest import make_connector

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "esign"
#: the hash of VNPT's sample requests (Doc §3.3), signed in the golden status answer
HASH = bytes.fromhex("3cab0a7c77da32d278f4e85053176d847064cc84b0f1528aa96438a3edf92060")
DESCRIPTION = "Ký kết quả hồ sơ 000.00.01.H22-240105-0007"
#: where the gateway deliberately differs from SmartCA769 (SOURCES.md says why)
OWN_IDS = {"transaction_id"}
OWN_SIGN_FILE_FIELDS = {"doc_id"}


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def types_of(value: Any) -> Any:
    """The JSON shape of ``value``: its keys and the JSON type of every leaf."""
    if isinstance(value, dict):
        return {k: types_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [types_of(v) for v in value]
    return type(value).__name__


class Captured(httpx.AsyncBaseTransport):
    """The requests the gateway sent, as (method, path, JSON body)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.method, request.url.path, body))
        return await self.inner.handle_async_request(request)


async def our_packets(esign_app: Any) -> list[tuple[str, str, Any]]:
    """What the gateway sends the simulator to have HASH signed: get_certificate, sign,
    status, under the transaction id the public client's fixture names."""
    public = golden("public/sign.request.json")
    inner = httpx.ASGITransport(app=Starlette(routes=[Mount("/esign", app=esign_app)]))
    captured = Captured(inner)
    async with httpx.AsyncClient(transport=captured, base_url="http://127.0.0.1:9000") as http:
        connector = make_connector(http, service="hash", serial_number="4001")
        signer = connector.signer
        assert isinstance(signer, HashSigner)
        transaction_id = await signer.submit(
            HASH,
            "sha256",
            description=DESCRIPTION,
            transaction_id=public["transaction_id"],
            format="pades",
        )
        assert await signer.outcome(transaction_id, HASH, "sha256")
    return captured.sent


# --- (a) what the gateway sends -------------------------------------------------------------


async def test_our_sign_request_is_the_public_clients_for_the_same_hash(esign_app: Any) -> None:
    sent = await our_packets(esign_app)
    (method, path, ours) = next(s for s in sent if s[1].endswith("/signatures/sign"))
    assert (method, path) == ("POST", "/esign/sca/sp769/v1/signatures/sign")
    public = golden("public/sign.request.json")
    assert types_of(ours) == types_of(public)  # every field, nesting and JSON type
    assert list(ours) == list(public)  # even in SmartCA769's ReqSign order
    assert ours == public | {"sign_files": ours["sign_files"]}
    (file,) = ours["sign_files"]
    (theirs,) = public["sign_files"]
    assert {k: v for k, v in file.items() if k not in OWN_SIGN_FILE_FIELDS} == {
        k: v for k, v in theirs.items() if k not in OWN_SIGN_FILE_FIELDS
    }
    assert file["data_to_be_signed"] == HASH.hex()  # lower-case hex (SmartCA769 L106)
    assert file["doc_id"] == public["transaction_id"]  # ours: the transaction's id
    assert ours == golden("gateway/sign.request.json")


async def test_our_certificate_and_status_requests_are_the_public_clients(
    esign_app: Any,
) -> None:
    sent = await our_packets(esign_app)
    (method, path, ours) = sent[0]
    assert (method, path) == ("POST", "/esign/sca/sp769/v1/credentials/get_certificate")
    public = golden("public/get_certificate.request.json")
    assert types_of(ours) == types_of(public)
    assert list(ours) == list(public)
    assert {k: v for k, v in ours.items() if k not in OWN_IDS} == {
        k: v for k, v in public.items() if k not in OWN_IDS
    }
    assert {k: v for k, v in ours.items() if k not in OWN_IDS} == {
        k: v for k, v in golden("gateway/get_certificate.request.json").items() if k not in OWN_IDS
    }
    (method, path, ours) = sent[-1]
    transaction_id = golden("public/sign.request.json")["transaction_id"]
    assert (method, path) == (
        "POST",
        f"/esign/sca/sp769/v1/signatures/sign/{transaction_id}/status",
    )
    assert ours == golden("public/status.request.json") == {}


# --- (b) what SmartCA answers, read by the gateway ---------------------------------------------


def test_the_certificate_answer_is_read_and_a_serial_number_chooses() -> None:
    answer = wire.HashCertificateAnswer.model_validate(
        golden("platform/get_certificate.answer.json")
    )
    assert answer.status_code == 200
    assert [c.service_type for c in answer.data.user_certificates] == ["SMARTCA", "ESEAL", "ESEAL"]
    with pytest.raises(SigningRefused, match="3 certificates") as ambiguous:
        profiles.choose_certificate(answer, None, "001099012345")
    assert "5401010100000000000000000000a001" in ambiguous.value.detail
    chosen = profiles.choose_certificate(answer, "5401010100000000000000000000A001", "u")
    chain = load_chain(profiles.chain_of(chosen))
    assert len(chain) == 3  # cert_data, chain_data.ca_cert, chain_data.root_cert
    assert chain[0].serial_number == int(chosen.serial_number, 16)
    chain[0].verify_directly_issued_by(chain[1])
    chain[1].verify_directly_issued_by(chain[2])


def test_the_short_certificate_answer_with_a_null_root_is_read() -> None:
    answer = wire.HashCertificateAnswer.model_validate(
        golden("platform/get_certificate.root-null.answer.json")
    )
    only = profiles.choose_certificate(answer, None, "u")  # the holder's only certificate
    assert len(load_chain(profiles.chain_of(only))) == 2
    assert only.service_type is None  # §4.2 leaves it out: not required


def test_the_sign_answer_is_read() -> None:
    answer = wire.HashSignAnswer.model_validate(golden("platform/sign.answer.json"))
    assert answer.status_code == 200
    assert answer.data is not None
    assert answer.data.transaction_id == "SP_CA_123456"
    assert answer.data.tran_code == "acd9be84-60e7-4645-83ab-fb7079b71626"


def test_the_signed_status_answer_gives_each_documents_signature() -> None:
    answer = wire.HashTransaction.model_validate(golden("platform/status.signed.answer.json"))
    certificate = x509.load_der_x509_certificate(
        base64.b64decode(
            golden("platform/get_certificate.answer.json")["data"]["user_certificates"][0][
                "cert_data"
            ]
        )
    )
    for doc_id in ("30c-7401-2562", "29a-7749-1325"):
        found = profiles.outcome_of(answer, doc_id)
        assert found.state == "approved"
        signature = base64.b64decode(found.signature or "")
        # the value is RSA PKCS#1 v1.5 over the hash's DigestInfo, as the gateway expects
        key = certificate.public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(signature, HASH, padding.PKCS1v15(), Prehashed(SHA256()))
    with pytest.raises(InvalidUpstreamAnswer, match="none for document"):
        profiles.outcome_of(answer, "another-document")


@pytest.mark.parametrize(
    ("fixture", "state"),
    [("status.pending.answer.json", "pending"), ("status.expired.answer.json", "expired")],
)
def test_pending_and_expired_status_answers(fixture: str, state: str) -> None:
    answer = wire.HashTransaction.model_validate(golden(f"platform/{fixture}"))
    assert profiles.outcome_of(answer, "SP_CA_123456").state == state


def test_answers_are_read_tolerantly() -> None:
    """A number as a string, a null message, one object where a list was assumed, fields the
    gateway does not know: read, not refused."""
    raw = golden("platform/status.signed.answer.json")
    first = raw["data"]["signatures"][0]
    loose = {
        "status_code": "200",
        "message": None,
        "data": {"transaction_id": None, "signatures": first, "extra": 1},
        "trace_id": "x",
    }
    answer = wire.HashTransaction.model_validate(loose)
    assert profiles.outcome_of(answer, "anything").state == "approved"  # the only one


async def test_the_clients_reader_end_to_end_on_the_golden_answers() -> None:
    """The client against the document's answers: the certificate chosen by its serial, the
    transaction the service names, the signature checked against the certificate."""
    status = golden("platform/status.signed.answer.json")
    status["data"]["signatures"] = status["data"]["signatures"][:1]  # one file, as SmartCA769 sends

    def platform(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/get_certificate"):
            return httpx.Response(200, json=golden("platform/get_certificate.answer.json"))
        if path.endswith("/signatures/sign"):
            return httpx.Response(200, json=golden("platform/sign.answer.json"))
        if path.endswith("/SP_CA_123456/status"):
            return httpx.Response(200, json=status)
        return httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(platform)) as http:
        connector = make_connector(
            http,
            service="hash",
            base_url="https://gwsca.example",
            serial_number="5401010100000000000000000000a001",
        )
        signer = connector.signer
        assert isinstance(signer, HashSigner)
        credential = await signer.credential()
        assert credential.credential_id == "5401010100000000000000000000a001"
        transaction_id = await signer.submit(HASH, "sha256", description=DESCRIPTION)
        assert transaction_id == "SP_CA_123456"  # the service's, polled with
        signature = await signer.outcome(transaction_id, HASH, "sha256")
        assert (
            base64.b64encode(signature).decode()
            == status["data"]["signatures"][0]["signature_value"]
        )
        with pytest.raises(InvalidUpstreamAnswer, match="does not verify"):
            await signer.outcome(transaction_id, hashlib.sha256(b"other").digest(), "sha256")


async def test_a_refused_provider_account_names_the_settings() -> None:
    answer = golden("platform/sp-credential-invalid.answer.json")
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _r: httpx.Response(200, json=answer))
    ) as http:
        connector = make_connector(http, service="hash")
        with pytest.raises(SigningRefused, match="SP_ID, SP_PASSWORD and USER_ID") as refused:
            await connector.signer.credential()
    assert refused.value.code == "401"


# --- (c) the public client's packets, accepted by the simulator -------------------------------


async def test_the_public_clients_packets_are_accepted_and_signed(
    http: httpx.AsyncClient, pki: SandboxPKI
) -> None:
    root = "/esign/sca/sp769/v1"
    cert = (
        await http.post(
            f"{root}/credentials/get_certificate",
            json=golden("public/get_certificate.request.json"),
        )
    ).json()
    assert cert["status_code"] == 200
    (listed,) = cert["data"]["user_certificates"]
    assert listed["serial_number"] == "4001"
    assert base64.b64decode(listed["cert_data"]) == pki.signer("valid").der
    assert set(listed) == set(
        golden("platform/get_certificate.answer.json")["data"]["user_certificates"][0]
    )
    public = golden("public/sign.request.json")
    signed = (await http.post(f"{root}/signatures/sign", json=public)).json()
    assert signed["status_code"] == 200
    assert signed["message"] == "sig_wait_for_user_confirm"
    assert signed["data"]["transaction_id"] == public["transaction_id"]
    assert set(signed["data"]) == {"transaction_id", "tran_code"}
    status = (
        await http.post(
            f"{root}/signatures/sign/{signed['data']['transaction_id']}/status",
            json=golden("public/status.request.json"),
        )
    ).json()
    assert status["message"] == "SUCCESS"
    (signature,) = status["data"]["signatures"]
    assert signature["doc_id"] == public["sign_files"][0]["doc_id"]
    assert signature["timestamp_signature"] is None
    pki.signer("valid").certificate.public_key().verify(
        base64.b64decode(signature["signature_value"]),
        HASH,
        padding.PKCS1v15(),
        Prehashed(SHA256()),
    )


async def test_the_documents_sample_batch_is_accepted(http: httpx.AsyncClient) -> None:
    root = "/esign/sca/sp769/v1"
    sample = golden("public/sign.doc-sample.request.json")
    signed = (await http.post(f"{root}/signatures/sign", json=sample)).json()
    assert signed["status_code"] == 200, signed
    status = (await http.post(f"{root}/signatures/sign/SP_CA_123456/status")).json()
    assert [s["doc_id"] for s in status["data"]["signatures"]] == ["30c-7401-2562", "29a-7749-1325"]
