"""``POST /v1/esign/sign`` and ``/verify`` through the API, against the simulator."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest

from connectors.esign import EsignConfig, EsignConnector, HashSigner
from connectors.esign.documents import sample_pdf, sample_xml
from connectors.esign.sandbox import EsignSimulator, FaultConfig, get_simulator
from connectors.esign.tables import EsignSignature
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from tests.conftest import bearer

OTHER = b"Bien ban ban giao ho so, khong phai PDF hay XML\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def esign_simulator(sandbox_app: Any) -> EsignSimulator:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/esign":
            return get_simulator(route.app)
    raise LookupError("esign simulator not mounted")


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "esign:sign", "esign:verify")


async def test_sign_then_verify_a_pdf(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    answer = await api.post(
        "/v1/esign/sign",
        json={"document": b64(sample_pdf()), "ma_ho_so": "000.00.01.H22-240105-0007"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    signed = answer.json()
    assert signed["format"] == "pades"
    assert signed["timestamped"] is True
    assert "NGUYEN VAN HOP LE" in signed["signer_subject"]
    report = await api.post(
        "/v1/esign/verify", json={"document": signed["signed_document"]}, headers=headers
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["verdict"] == "valid", body
    assert body["format"] == "pades"
    assert body["exchange_id"]
    (sig,) = body["signatures"]
    assert sig["revocation"] == "good"
    assert sig["timestamp"]["valid"] is True
    # a tampered copy is detected
    tampered = base64.b64decode(signed["signed_document"]).replace(b"KET QUA", b"KET QUY", 1)
    report = await api.post("/v1/esign/verify", json={"document": b64(tampered)}, headers=headers)
    assert report.json()["verdict"] == "invalid"


async def test_sign_xml_and_a_detached_cms(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    xml = await api.post("/v1/esign/sign", json={"document": b64(sample_xml())}, headers=headers)
    assert xml.json()["format"] == "xades"
    checked = await api.post(
        "/v1/esign/verify", json={"document": xml.json()["signed_document"]}, headers=headers
    )
    assert checked.json()["verdict"] == "valid"
    other = b"plain file, neither PDF nor XML"
    cms = await api.post("/v1/esign/sign", json={"document": b64(other)}, headers=headers)
    assert cms.json()["format"] == "cms"
    assert cms.json()["signed_document"] is None
    checked = await api.post(
        "/v1/esign/verify",
        json={"document": b64(other), "signature": cms.json()["signature"]},
        headers=headers,
    )
    assert checked.json()["verdict"] == "valid"


async def test_revocation_unknown_when_the_responder_is_down(
    api: httpx.AsyncClient, headers: dict[str, str], sandbox_app: Any
) -> None:
    signed = await api.post("/v1/esign/sign", json={"document": b64(sample_xml())}, headers=headers)
    esign_simulator(sandbox_app).set_faults(FaultConfig(revocation_down=True))
    report = await api.post(
        "/v1/esign/verify", json={"document": signed.json()["signed_document"]}, headers=headers
    )
    assert report.json()["verdict"] == "indeterminate"
    assert report.json()["signatures"][0]["revocation"] == "unknown"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/esign/verify", {"document": "not base64!"}, "document"),
        ("/v1/esign/verify", {"document": b64(b"just some bytes")}, "document"),
        ("/v1/esign/verify", {"document": b64(b"x" * 10), "format": "cms"}, "signature"),
        (
            "/v1/esign/verify",
            {"document": b64(b"x" * 10), "signature": b64(b"not a cms")},
            "signature",
        ),
        ("/v1/esign/sign", {"document": b64(b"%PDF-1.7 broken")}, "document"),
        ("/v1/esign/sign", {"document": b64(b"<a><b></a>")}, "document"),
        ("/v1/esign/sign", {"document": b64(b"x" * 10), "format": "nope"}, "format"),
    ],
)
async def test_refusals_name_the_field(
    api: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    answer = await api.post(path, json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert any(field in e["loc"] for e in answer.json()["errors"]), answer.json()


async def test_scopes_are_required(api: httpx.AsyncClient, gateway: Gateway) -> None:
    only_verify = await bearer(gateway, "esign:verify")
    answer = await api.post(
        "/v1/esign/sign", json={"document": b64(sample_pdf())}, headers=only_verify
    )
    assert answer.status_code == 403
    answer = await api.post("/v1/esign/verify", json={"document": b64(sample_pdf())})
    assert answer.status_code == 401


def use_the_hash_service(gateway: Gateway) -> EsignConnector:
    connector = gateway.connector("esign")
    assert isinstance(connector, EsignConnector)
    connector.config = EsignConfig.model_validate(
        {**connector.config.model_dump(), "service": "hash", "approval_wait_seconds": 0}
    )
    connector.signer = HashSigner(connector.config, connector.http)
    return connector


async def run_approvals(gateway: Gateway) -> int:
    """One round of the connector's job, as the workers run it (leases aside)."""
    [job] = [j for s, j in DeliveryService(gateway).periodic_jobs() if s == "esign"]
    assert job.name == "esign.approvals"
    return await job.run()


async def deliver_all(gateway: Gateway) -> None:
    service = DeliveryService(gateway)
    while await service.run_once():
        pass


@pytest.mark.parametrize(("document", "kind"), [(sample_pdf(), "pades"), (OTHER, "cms")])
async def test_asynchronous_signing_through_the_outbox(
    api: httpx.AsyncClient,
    headers: dict[str, str],
    gateway: Gateway,
    sandbox_app: Any,
    document: bytes,
    kind: str,
) -> None:
    use_the_hash_service(gateway)
    sim = esign_simulator(sandbox_app)
    sim.set_faults(FaultConfig(auto_approve=False))
    inbox = await bearer(gateway, "events:read")
    answer = await api.post(
        "/v1/esign/sign",
        json={"document": b64(document), "ma_ho_so": "000.00.01.H22-240105-0011"},
        headers=headers,
    )
    assert answer.status_code == 202, answer.text
    signature_id = answer.json()["id"]
    assert answer.json()["status"] == "pending"
    path = f"/v1/esign/signatures/{signature_id}"
    assert (await api.get(path, headers=headers)).json()["status"] == "pending"
    assert sim.transactions == {}  # nothing asked before the outbox delivers
    assert await run_approvals(gateway) == 0  # not requested yet: left pending
    await deliver_all(gateway)
    assert list(sim.transactions) == [signature_id]  # the holder is asked, under our id
    (item,) = sim.transactions[signature_id].files
    assert item.file_type == ("pdf" if kind == "pades" else "cms")  # SmartCA's file_type
    await deliver_all(gateway)
    assert await run_approvals(gateway) == 0  # still awaiting the holder
    await sandbox_approve(sandbox_app, signature_id)
    assert await run_approvals(gateway) == 1
    view = (await api.get(path, headers=headers)).json()
    assert view["status"] == "signed", view
    assert view["format"] == kind
    if kind == "pades":
        checked = await api.post(
            "/v1/esign/verify", json={"document": view["signed_document"]}, headers=headers
        )
    else:
        checked = await api.post(
            "/v1/esign/verify",
            json={"document": b64(document), "signature": view["signature"]},
            headers=headers,
        )
    report = checked.json()
    assert report["verdict"] == "valid", report
    assert report["signatures"][0]["timestamp"]["valid"] is True
    events = (await api.get("/v1/events", headers=inbox)).json()
    signed = [e for e in events["events"] if e["type"] == "esign.signed"]
    assert [e["subject"] for e in signed] == [signature_id]
    assert signed[0]["data"]["ma_ho_so"] == "000.00.01.H22-240105-0011"


async def sandbox_approve(sandbox_app: Any, signature_id: str, action: str = "approve") -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as sim:
        answer = await sim.post(f"/esign/_sandbox/transactions/{signature_id}/{action}")
        assert answer.status_code == 200


async def requested(
    api: httpx.AsyncClient, headers: dict[str, str], gateway: Gateway, sandbox_app: Any
) -> str:
    """An XML signature asked of the hash service (manual approval), its request delivered."""
    use_the_hash_service(gateway)
    esign_simulator(sandbox_app).set_faults(FaultConfig(auto_approve=False))
    answer = await api.post("/v1/esign/sign", json={"document": b64(sample_xml())}, headers=headers)
    await deliver_all(gateway)
    signature_id: str = answer.json()["id"]
    return signature_id


async def test_a_denied_signature_fails_with_an_event(
    api: httpx.AsyncClient, headers: dict[str, str], gateway: Gateway, sandbox_app: Any
) -> None:
    signature_id = await requested(api, headers, gateway, sandbox_app)
    await sandbox_approve(sandbox_app, signature_id, "deny")
    assert await run_approvals(gateway) == 1
    view = (await api.get(f"/v1/esign/signatures/{signature_id}", headers=headers)).json()
    assert view["status"] == "failed"
    assert "denied" in view["detail"]
    assert view["signed_document"] is None
    inbox = await bearer(gateway, "events:read")
    events = (await api.get("/v1/events", headers=inbox)).json()["events"]
    assert [(e["type"], e["subject"]) for e in events] == [("esign.failed", signature_id)]


async def test_a_redelivery_asks_the_holder_once(
    api: httpx.AsyncClient, headers: dict[str, str], gateway: Gateway, sandbox_app: Any
) -> None:
    connector = use_the_hash_service(gateway)
    sim = esign_simulator(sandbox_app)
    sim.set_faults(FaultConfig(auto_approve=False))
    answer = await api.post("/v1/esign/sign", json={"document": b64(sample_xml())}, headers=headers)
    signature_id = answer.json()["id"]
    await deliver_all(gateway)
    (transaction,) = sim.transactions.values()
    payload = {
        "signature_id": signature_id,
        "digest": transaction.files[0].digest.hex(),
        "description": "",
    }
    await connector.deliver("request_signature", payload)  # at-least-once: again
    assert list(sim.transactions) == [signature_id]
    assert sim.stats.duplicates == 1


async def test_signatures_are_private_to_their_client(
    api: httpx.AsyncClient, headers: dict[str, str], gateway: Gateway, sandbox_app: Any
) -> None:
    use_the_hash_service(gateway)
    answer = await api.post("/v1/esign/sign", json={"document": b64(sample_xml())}, headers=headers)
    other = await bearer(gateway, "esign:sign")
    r = await api.get(f"/v1/esign/signatures/{answer.json()['id']}", headers=other)
    assert r.status_code == 404
    r = await api.get("/v1/esign/signatures/nope", headers=headers)
    assert r.status_code == 404


async def test_unsigned_pdf_is_invalid_with_a_reason(
    api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await api.post(
        "/v1/esign/verify", json={"document": b64(sample_pdf())}, headers=headers
    )
    assert answer.status_code == 200
    assert answer.json()["verdict"] == "invalid"
    assert answer.json()["reasons"] == ["the document carries no signature"]


async def test_the_demo_step_signs_verifies_and_catches_the_tampered_copy(
    app: Any, sandbox_app: Any, headers: dict[str, str]
) -> None:
    from connectors.esign.demo import ResultSigning

    outcomes: list[tuple[bool, str]] = []

    def check(ok: bool, what: str) -> bool:
        outcomes.append((ok, what))
        return ok

    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway", headers=headers
        ) as api,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
        ) as sim,
    ):
        await ResultSigning(api, sim, check).run({"ma_ho_so": "000.00.01.H22-240105-0009"}, print)
    assert len(outcomes) == 3
    assert all(ok for ok, _ in outcomes), outcomes


async def test_an_unapproved_signature_is_given_up_after_the_timeout(
    api: httpx.AsyncClient, headers: dict[str, str], gateway: Gateway, sandbox_app: Any
) -> None:
    signature_id = await requested(api, headers, gateway, sandbox_app)
    assert await run_approvals(gateway) == 0
    async with gateway.db.transaction() as session:  # requested long enough ago
        row = await session.get(EsignSignature, signature_id)
        assert row is not None
        row.created_at = row.created_at - timedelta(hours=1)
    assert await run_approvals(gateway) == 1
    view = (await api.get(f"/v1/esign/signatures/{signature_id}", headers=headers)).json()
    assert view["status"] == "failed"
    assert view["detail"] == "not approved in time"


async def test_a_signature_that_cannot_be_finished_fails(
    api: httpx.AsyncClient, headers: dict[str, str], gateway: Gateway, sandbox_app: Any
) -> None:
    from connectors.esign.deferred import PreparedSignature

    signature_id = await requested(api, headers, gateway, sandbox_app)
    await sandbox_approve(sandbox_app, signature_id)
    async with gateway.db.transaction() as session:  # the prepared document got damaged
        row = await session.get(EsignSignature, signature_id)
        assert row is not None
        (transaction,) = esign_simulator(sandbox_app).transactions.values()
        broken = PreparedSignature("xades", transaction.files[0].digest, {"xml": b64(b"<a>")})
        row.prepared_sealed = gateway.cipher.encrypt(
            broken.to_json(), f"esign-signature|{signature_id}|prepared".encode()
        )
    assert await run_approvals(gateway) == 1
    view = (await api.get(f"/v1/esign/signatures/{signature_id}", headers=headers)).json()
    assert view["status"] == "failed"
    assert "could not be embedded" in view["detail"]


async def test_the_same_idempotency_key_answers_the_first_signature_again(
    api: httpx.AsyncClient, headers: dict[str, str], sandbox_app: Any
) -> None:
    simulator = esign_simulator(sandbox_app)
    body = {"document": b64(sample_pdf("KET QUA 0007")), "timestamp": False}
    keyed = {**headers, "Idempotency-Key": "sign-0007"}
    first = await api.post("/v1/esign/sign", json=body, headers=keyed)
    assert first.status_code == 200, first.text
    signed_calls = simulator.stats.as_dict()
    again = await api.post("/v1/esign/sign", json=body, headers=keyed)
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()  # the same signed document, not a second signature
    assert simulator.stats.as_dict() == signed_calls
    other = await api.post(
        "/v1/esign/sign", json={**body, "document": b64(sample_pdf("KHAC"))}, headers=keyed
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["loc"] == "Idempotency-Key"
