"""Trust anchors from configuration, the health check, and the size bound."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from connectors.esign import EsignConnector
from connectors.esign.sandbox import SandboxPKI
from connectors.esign.verify_chain import load_trust_anchors
from gateway.core.errors import ConfigurationError, PayloadTooLarge
from tests.connectors.esign.conftest import make_connector


def test_anchors_from_a_file_inline_pem_and_sandbox(tmp_path: Path, pki: SandboxPKI) -> None:
    path = tmp_path / "root.pem"
    path.write_bytes(pki.root.pem)
    der = tmp_path / "root.der"
    der.write_bytes(pki.root.der)
    anchors = load_trust_anchors([str(path), str(der), pki.root.pem.decode(), "sandbox"])
    assert len({a.dump() for a in anchors}) == 1
    assert len(anchors) == 4


@pytest.mark.parametrize(
    ("entry", "message"),
    [("/no/such/file.pem", "cannot read"), ("-----BEGIN CERTIFICATE-----\nAAAA", "not a")],
)
def test_unreadable_anchors_name_the_setting(entry: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=r"TRUST_ANCHORS\[0\].*" + message):
        load_trust_anchors([entry])


async def test_check_names_the_credential_and_the_anchors(connector: EsignConnector) -> None:
    result = await connector.check()
    assert result.ok, result.detail
    assert "'valid'" in result.detail
    assert "LGSP Sandbox Root CA" in result.detail


async def test_check_fails_on_a_bad_anchor(http: httpx.AsyncClient) -> None:
    result = await make_connector(http, trust_anchors=["/no/such/file.pem"]).check()
    assert result.ok is False
    assert "TRUST_ANCHORS" in result.detail


async def test_documents_are_bounded(http: httpx.AsyncClient) -> None:
    connector = make_connector(http, max_document_bytes=1024)
    with pytest.raises(PayloadTooLarge):
        await connector.sign(b"x" * 1025)
    with pytest.raises(PayloadTooLarge):
        await connector.verify(b"%PDF-" + b"x" * 1025)


def test_production_refuses_trusting_the_sandbox_root() -> None:
    from connectors.esign import SPEC
    from gateway.core.errors import ConfigurationError
    from gateway.core.registry import build_config

    real = {
        "password": "a-real-password-2026",
        "pin": "a-real-pin-2026",
        "sp_password": "a-real-sp-password-2026",
    }
    with pytest.raises(ConfigurationError, match="LGSP_CONNECTORS__ESIGN__TRUST_ANCHORS"):
        build_config(SPEC, {**real, "trust_anchors": ["sandbox"]}, environment="production")
    assert build_config(SPEC, {"trust_anchors": ["sandbox"]}, environment="development")


def test_production_refuses_the_placeholder_sp_password() -> None:
    from connectors.esign import SPEC
    from gateway.core.errors import ConfigurationError
    from gateway.core.registry import build_config

    real = {"password": "a-real-password-2026", "pin": "a-real-pin-2026", "trust_anchors": []}
    with pytest.raises(ConfigurationError, match="SP_PASSWORD"):
        build_config(SPEC, real, environment="production")
    assert build_config(
        SPEC, {**real, "sp_password": "a-real-sp-password-2026"}, environment="production"
    )
