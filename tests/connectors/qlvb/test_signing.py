"""XML-DSig both ways: our packages signed through the registry's document signer (the eSign
connector against its simulator) and verified by the QLVB simulator; the simulator's status
packages required to be signed by a trusted certificate, a wrongly signed one refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from lxml import etree

from connectors.qlvb.edxml import DS
from connectors.qlvb.mapping import VanBanGui
from connectors.qlvb.signing import SignatureProblem, sign_package, verify_package
from gateway.core.errors import PermanentUpstreamError
from gateway.core.runtime import Gateway
from gateway.core.store.state import StateStore
from tests.conftest import bearer, serving, started_gateway
from tests.connectors.qlvb.support import (
    DOCUMENT_ID,
    DOCUMENTS,
    DOSSIER,
    Axis,
    axis_of,
    document,
    poll,
)


async def gateway_with(
    database_url: str, state_store: StateStore, sandbox_app: Any, **qlvb: Any
) -> Gateway:
    return await started_gateway(database_url, state_store, sandbox_app, connectors={"qlvb": qlvb})


async def deliver_all(gw: Gateway, api: httpx.AsyncClient) -> None:
    app = api._transport.app  # type: ignore[attr-defined]
    while await app.state.delivery.run_once():
        pass


async def test_a_package_signed_by_esign_is_verified_by_the_simulator(
    database_url: str, state_store: StateStore, sandbox_app: Any, platform: httpx.AsyncClient
) -> None:
    axis = axis_of(sandbox_app, platform)
    gw = await gateway_with(database_url, state_store, sandbox_app, signature="xmldsig")
    try:
        headers = await bearer(gw, "qlvb:send", "qlvb:read")
        async with serving(gw) as api:
            r = await api.post(DOCUMENTS, json=document(), headers=headers)
            assert r.status_code == 202, r.text
            await deliver_all(gw, api)
            kept = axis.sim.documents[DOCUMENT_ID]
            # the simulator verified the XAdES enveloped signature the eSign connector made
            assert kept.received.signer is not None
            assert axis.sim.received[-1]["signer"] == kept.received.signer
            doc = (await api.get(f"{DOCUMENTS}/{DOSSIER}", headers=headers)).json()
            assert doc["documents"][0]["status"] == "sent"
    finally:
        await gw.aclose()


async def test_a_tampered_signed_package_is_refused_by_the_simulator(
    database_url: str, state_store: StateStore, sandbox_app: Any, platform: httpx.AsyncClient
) -> None:
    axis = axis_of(sandbox_app, platform)
    gw = await gateway_with(database_url, state_store, sandbox_app, signature="xmldsig")
    try:
        connector = gw.connector("qlvb")
        signer = connector._document_signer()  # type: ignore[attr-defined]
        assert signer is not None
        package = connector.package(VanBanGui.model_validate(document()))  # type: ignore[attr-defined]
        signed = await sign_package(signer, package)
        root = etree.fromstring(signed)
        assert root.find(f"{{{DS}}}Signature") is not None  # the root's last child (XAdES)
        verify_package(signed, root, trusted=[], required=True)
        tampered = signed.replace(b"Tr\xe1\xba\xa7n V\xc4\x83n B\xc3\xacnh", b"Someone Else")
        assert tampered != signed
        with pytest.raises(SignatureProblem):
            verify_package(tampered, etree.fromstring(tampered), trusted=[], required=True)
        with pytest.raises(PermanentUpstreamError) as refused:
            await connector.client.send_edoc(tampered)  # type: ignore[attr-defined]
        assert refused.value.code == "SIGNATURE_INVALID"
    finally:
        await gw.aclose()
    assert axis.sim.stats.refused == 1


async def test_status_packages_must_be_signed_by_a_trusted_certificate(
    database_url: str, state_store: StateStore, sandbox_app: Any, platform: httpx.AsyncClient
) -> None:
    axis: Axis = axis_of(sandbox_app, platform)
    gw = await gateway_with(
        database_url,
        state_store,
        sandbox_app,
        require_status_signature=True,
        trusted_certificates=[axis.sim.certificate_pem],
    )
    try:
        headers = await bearer(gw, "qlvb:send", "qlvb:read")
        async with serving(gw) as api:
            assert (await api.post(DOCUMENTS, json=document(), headers=headers)).status_code == 202
            await deliver_all(gw, api)
            await axis.advance()  # 01, unsigned: refused, acknowledged "fail"
            axis.sim.config = axis.sim.config.model_copy(update={"sign_statuses": True})
            await axis.advance(code="03")  # signed: applied
            axis.sim.set_faults(axis.sim.faults.model_copy(update={"bad_signature_rate": 1.0}))
            await axis.advance(code="04")  # signed then altered: refused
            assert await poll(gw) == 3
            assert axis.sim.stats.acknowledged == {"fail": 2, "done": 1}
            doc = (await api.get(f"{DOCUMENTS}/{DOSSIER}", headers=headers)).json()
            recipient = doc["documents"][0]["recipients"][0]
            assert recipient["status"] == "registered"
            assert [h["status_code"] for h in recipient["history"]] == ["03"]
    finally:
        await gw.aclose()


async def test_xmldsig_without_a_signer_waits_for_one() -> None:
    from connectors.qlvb import QlvbConfig, QlvbConnector
    from gateway.core.errors import TransientUpstreamError

    transport = httpx.MockTransport(lambda request: httpx.Response(500))
    async with httpx.AsyncClient(transport=transport) as http:
        connector = QlvbConnector(QlvbConfig(signature="xmldsig"), http)
        connector.bind(object())  # a gateway holding no document signer
        with pytest.raises(TransientUpstreamError) as waiting:
            await connector.deliver("send_document", document())
    assert waiting.value.code == "no-signer"
