"""The qlvb routes in the OpenAPI document: the callback's example is a status package the
connector reads, the declared states are the mapping's, the answers' examples are valid."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import BaseModel

from connectors.qlvb.edxml import parse_status
from connectors.qlvb.mapping import STATUS_BY_CODE, report_from_wire
from connectors.qlvb.routes import (
    CALLBACK_EXAMPLE,
    DocumentAccepted,
    DocumentState,
    DossierDocuments,
    RecallState,
    StatusAnswer,
)


def test_the_callback_example_is_a_status_package_the_connector_reads() -> None:
    report = report_from_wire(parse_status(CALLBACK_EXAMPLE.encode(), max_bytes=65536))
    assert (report.code, report.status) == ("05", "processing")


def test_the_declared_states_are_the_mappings() -> None:
    declared = set(get_args(DocumentState)) | set(get_args(RecallState))
    assert set(STATUS_BY_CODE.values()) | {"queued", "sent"} == declared


@pytest.mark.parametrize("model", [DocumentAccepted, DossierDocuments, StatusAnswer])
def test_the_examples_are_valid_answers(model: type[BaseModel]) -> None:
    examples: Any = (model.model_config.get("json_schema_extra") or {}).get("examples")  # type: ignore[union-attr]
    assert examples
    for example in examples:
        assert model.model_validate(example).model_dump(mode="json") == example
