"""The portal's pushes in the OpenAPI document (issue 21): the routes read their bodies raw
(the signature covers the bytes), so the packet is declared by hand; it is the wire model the
route parses with, self-contained, and its example is a packet the model accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connectors.dvcqg.routes_portal import CITIZEN_PUSH_EXAMPLE, DOSSIER_PUSH_EXAMPLE
from gateway.api.main import create_app
from gateway.core.runtime import Gateway
from gateway.core.store.state import MemoryStateStore
from schemas import dvcqg as wire
from tests.conftest import make_settings


def test_the_examples_are_packets_the_wire_models_accept() -> None:
    assert wire.GuiHoSoTrucTuyen.model_validate(DOSSIER_PUSH_EXAMPLE).data[0].PhienBan == 1
    assert wire.CITIZEN_PUSH_ADAPTER.validate_python(CITIZEN_PUSH_EXAMPLE).service == (
        "GuiPhanAnhKienNghi"
    )


async def test_the_pushes_declare_their_packet_and_their_answer(tmp_path: Path) -> None:
    gw = Gateway(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"), state=MemoryStateStore()
    )
    try:
        document: dict[str, Any] = create_app(gw, run_workers=False, start=False).openapi()
    finally:
        await gw.aclose()
    for path, answer in [
        ("/callbacks/dvcqg/dossiers", "DossierPushAnswer"),
        ("/callbacks/dvcqg/citizens", "CitizenPushAnswer"),
    ]:
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]
        assert body["required"] is True
        media = body["content"]["application/json"]
        assert "$defs" not in json.dumps(media), "a request body's schema is self-contained"
        assert media["examples"]["push"]["value"]["madonvi"] == "000.00.01.H22"
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{answer}"}
    dossier = document["paths"]["/callbacks/dvcqg/dossiers"]["post"]["requestBody"]
    schema = dossier["content"]["application/json"]["schema"]
    assert schema["properties"]["data"]["items"]["properties"]["MaHoSo"]
