"""A minimal connector that exists only in the tests: a fake platform that keeps notes.

It shows what adding a platform takes (issue 16): this one folder, shaped like
``connectors/<slug>/``, and one line in :data:`connectors.REGISTRY` (the test adds the line).
From its ``SPEC`` alone the gateway gets its configuration, its outbox deliveries, its API
route and scope, its ``lgsp`` command, its demo part and its simulator; no other file names it.
"""

from __future__ import annotations

from typing import Any

from gateway.core.connector import ConnectorSpec
from tests.example_connector.connector import ExampleConfig, ExampleConnector


def _build(config: Any, http: Any) -> ExampleConnector:
    return ExampleConnector(config, http)


def _sandbox_app() -> Any:
    from tests.example_connector.sandbox import create_app

    return create_app()


def _routers() -> list[Any]:
    from tests.example_connector import routes

    return [routes.router]


def _cli_commands() -> list[tuple[tuple[str, ...], Any]]:
    from tests.example_connector.cli import example, notes_report

    return [((), example), (("report",), notes_report)]


def _demo_parts() -> list[Any]:
    from tests.example_connector.demo import NoteTaking

    return [NoteTaking]


SPEC = ConnectorSpec(
    slug="example",
    title="A platform that keeps notes (tests only)",
    config_model=ExampleConfig,
    factory=_build,
    sandbox_factory=_sandbox_app,
    sandbox_config=lambda base: {"base_url": base},
    scopes={"example:write": "send notes to the example platform"},
    routers=_routers,
    cli_commands=_cli_commands,
    demo_parts=_demo_parts,
)
