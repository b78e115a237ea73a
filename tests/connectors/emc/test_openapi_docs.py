"""The EMC routes' documented examples are what the models accept, and the routes are in the
OpenAPI document with their operation ids."""

from __future__ import annotations

from typing import Any

from connectors.emc.mapping import SuKienHoSo
from connectors.emc.report import MonthlyReport
from connectors.emc.tracking import ScanResult


def examples(model: Any) -> list[Any]:
    found: list[Any] = model.model_json_schema()["examples"]
    assert found
    return found


def test_the_examples_validate() -> None:
    for model in (SuKienHoSo, MonthlyReport, ScanResult):
        for example in examples(model):
            model.model_validate(example)


async def test_the_routes_are_documented(api: Any) -> None:
    document = (await api.get("/openapi.json")).json()
    ids = {
        op["operationId"]
        for path, item in document["paths"].items()
        if path.startswith("/v1/emc/")
        for op in item.values()
    }
    assert ids == {
        "emc-track-dossier",
        "emc-scan-syncs",
        "emc-monthly-report",
        "emc-submit-monthly-report",
    }
