"""The contract others build on does not move by accident (issue 16): the OpenAPI document and
the ``lgsp --help`` tree are compared with committed copies. A deliberate change regenerates
them: ``LGSP_UPDATE_SNAPSHOTS=1 pytest tests/test_contract_snapshots.py``, and the diff is
reviewed with the change."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import pytest

from gateway.api.main import create_app
from gateway.cli import main as lgsp
from gateway.core.runtime import Gateway
from gateway.core.store.state import MemoryStateStore
from tests.conftest import make_settings

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("LGSP_UPDATE_SNAPSHOTS") == "1"


def _compare(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    committed = path.read_text(encoding="utf-8")
    assert text == committed, f"{name} changed: regenerate it deliberately (see module docstring)"


async def test_the_openapi_document_is_the_committed_one(tmp_path: Path) -> None:
    gw = Gateway(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"), state=MemoryStateStore()
    )
    try:
        document: dict[str, Any] = create_app(gw, run_workers=False, start=False).openapi()
    finally:
        await gw.aclose()
    # paths and schemas in a stable order: where a router is mounted from is not the contract
    _compare("openapi.json", json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True))


def _help_tree(command: click.Command, path: list[str]) -> list[str]:
    with click.Context(command, info_name=" ".join(path), terminal_width=100) as ctx:
        lines = [f"==== {' '.join(path)}", command.get_help(ctx), ""]
        if isinstance(command, click.Group):
            for name in sorted(command.list_commands(ctx)):
                sub = command.get_command(ctx, name)
                assert sub is not None
                lines += _help_tree(sub, [*path, name])
    return lines


def test_the_cli_help_tree_is_the_committed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    _compare("lgsp-help.txt", "\n".join(_help_tree(lgsp, ["lgsp"])))
