"""``lgsp connectors``: the registered connectors, their state and a reachability check."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from gateway.core.commands import run
from gateway.core.health import connector_health, off_connectors, wire_profile
from gateway.core.log.anchoring import anchoring_status
from gateway.core.logging import mask_text
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow


@click.group()
def connectors() -> None:
    """Registered connectors."""


async def _health(gw: Gateway) -> dict[str, Any]:
    """The answer of ``GET /v1/connectors`` (each connector's health, the log's anchoring),
    each connector with its asynchronous operations too."""
    anchoring: dict[str, Any] = {"configured": gw.anchorer is not None}
    if gw.anchorer is not None:
        anchoring["authority"] = gw.anchorer.authority
        anchoring.update((await anchoring_status(gw.db)).as_dict(utcnow()))
    health = await connector_health(gw)
    for item in health:
        item["operations"] = sorted(gw.connectors[item["slug"]].operations)
    return {"connectors": health, "off": off_connectors(gw), "audit": {"anchoring": anchoring}}


@connectors.command("list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="the fields of GET /v1/connectors (health, circuit, outbox, maintenance), as JSON",
)
def connectors_list(as_json: bool) -> None:
    """Each connector: its wire profile, its circuit and its asynchronous operations."""
    if as_json:
        # the health figures read the exchange log and the outbox: the schema must be current
        click.echo(json.dumps(run(_health), ensure_ascii=False))
        return

    async def body(gw: Gateway) -> None:
        for slug, spec in gw.specs.items():
            state = (await gw.breakers[slug].state()).value
            ops = ", ".join(sorted(gw.connectors[slug].operations)) or "none (synchronous only)"
            wire = " ".join(f"{k}={v}" for k, v in wire_profile(gw.configs[slug]).items())
            click.echo(f"{slug:8} {spec.title}  {wire}  circuit={state}  operations: {ops}")
        for item in off_connectors(gw):
            click.echo(f"{item['slug']:8} {item['title']}  off (LGSP_CONNECTORS_OFF)")

    run(body, check_schema=False)


@connectors.command("check")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="slug, ok, latency_ms, detail as JSON")
def connectors_check(slug: str, as_json: bool) -> None:
    """Reach the platform and say whether it answers (exit 1 when it does not).

    A connector left out by LGSP_CONNECTORS_OFF, or an unknown one: one line, exit 2."""

    # migrate like any writer: each call of the check is an exchange-log entry, and on a
    # database not yet upgraded those entries were lost (with a traceback on stderr)
    result = run(lambda gw: gw.connector(slug).check())
    if as_json:
        answer = {
            "slug": slug,
            "ok": result.ok,
            "latency_ms": round(result.latency_ms, 2),
            "detail": mask_text(result.detail),
        }
        click.echo(json.dumps(answer, ensure_ascii=False))
        sys.exit(0 if result.ok else 1)
    click.echo(
        f"{slug}: {'ok' if result.ok else 'FAILED'} ({result.latency_ms:.0f} ms) {result.detail}"
    )
    sys.exit(0 if result.ok else 1)
