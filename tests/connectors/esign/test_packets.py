"""Detached JWS over RFC 8785 canonical packets: signed, checked, and each refusal."""

from __future__ import annotations

import pytest
import structlog

from connectors.esign import EsignConnector, PacketSignatureInvalid
from connectors.esign.packets import canonical, sign_packet, verify_packet
from connectors.esign.sandbox import EsignSimulator, FaultConfig, SandboxPKI
from tests.connectors.esign.conftest import LocalSigner

PACKET = {
    "MaHoSo": "000.00.01.H22-240105-0007",
    "TrangThaiHoSo": 2,
    "ChuHoSo": "Nguyễn Văn An",
    "TaiLieuNop": [{"TenTepDinhKem": "don.pdf", "IsDeleted": False}],
}


def test_canonical_form_ignores_key_order_and_spacing() -> None:
    reordered = dict(reversed(list(PACKET.items())))
    assert canonical(reordered) == canonical(PACKET)
    assert canonical({"b": 1, "a": [1.0, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()


async def test_signed_packet_is_checked(connector: EsignConnector) -> None:
    token = await sign_packet(PACKET, connector.signer, purpose="DongBoHoSoMC")
    assert token.count(".") == 2
    assert ".." in token  # the payload is detached
    report = await verify_packet(
        dict(reversed(list(PACKET.items()))), token, connector.verifier, source="dvcqg"
    )
    assert report.verdict == "valid"
    assert report.revocation == "good"
    assert "NGUYEN VAN HOP LE" in (report.signer_subject or "")


async def test_an_altered_packet_is_refused(connector: EsignConnector) -> None:
    token = await sign_packet(PACKET, connector.signer, purpose="t")
    altered = {**PACKET, "TrangThaiHoSo": 10}
    with (
        structlog.testing.capture_logs() as logs,
        pytest.raises(PacketSignatureInvalid, match="does not match"),
    ):
        await verify_packet(altered, token, connector.verifier, source="dvcqg")
    assert logs[0]["event"] == "esign.packet_signature_rejected"
    assert "Nguyễn" not in str(logs)


@pytest.mark.parametrize(
    "token",
    ["", "a.b.c", "a..b", "x" * 70_000, "eyJhbGciOiJub25lIn0..c2ln"],
)
async def test_malformed_tokens_are_refused(connector: EsignConnector, token: str) -> None:
    with pytest.raises(PacketSignatureInvalid):
        await verify_packet(PACKET, token, connector.verifier, source="dvcqg")


async def test_a_revoked_signer_is_refused(connector: EsignConnector, pki: SandboxPKI) -> None:
    token = await sign_packet(PACKET, LocalSigner(pki, "revoked"), purpose="t")
    with pytest.raises(PacketSignatureInvalid, match="revoked"):
        await verify_packet(PACKET, token, connector.verifier, source="dvcqg")


async def test_revocation_unknown_is_refused(
    connector: EsignConnector, sim: EsignSimulator
) -> None:
    token = await sign_packet(PACKET, connector.signer, purpose="t")
    sim.set_faults(FaultConfig(revocation_down=True))
    with pytest.raises(PacketSignatureInvalid, match="revocation status unknown"):
        await verify_packet(PACKET, token, connector.verifier, source="dvcqg")


async def test_a_token_of_another_packet_is_refused(connector: EsignConnector) -> None:
    token = await sign_packet({"MaHoSo": "other"}, connector.signer, purpose="t")
    with pytest.raises(PacketSignatureInvalid):
        await verify_packet(PACKET, token, connector.verifier, source="dvcqg")


def test_packets_without_canonical_form_are_refused() -> None:
    with pytest.raises(PacketSignatureInvalid):
        canonical({"n": float("nan")})
