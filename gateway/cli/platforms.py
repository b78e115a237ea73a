"""``lgsp connectors``: the registered connectors, their state and a reachability check."""

from __future__ import annotations

import sys

import click

from gateway.core.commands import run
from gateway.core.health import wire_profile
from gateway.core.runtime import Gateway


@click.group()
def connectors() -> None:
    """Registered connectors."""


@connectors.command("list")
def connectors_list() -> None:
    async def body(gw: Gateway) -> None:
        for slug, spec in gw.specs.items():
            state = (await gw.breakers[slug].state()).value
            ops = ", ".join(sorted(gw.connectors[slug].operations)) or "none (synchronous only)"
            wire = " ".join(f"{k}={v}" for k, v in wire_profile(gw.configs[slug]).items())
            click.echo(f"{slug:8} {spec.title}  {wire}  circuit={state}  operations: {ops}")

    run(body, check_schema=False)


@connectors.command("check")
@click.argument("slug")
def connectors_check(slug: str) -> None:
    """Reach the platform and say whether it answers (exit 1 when it does not)."""

    # migrate like any writer: each call of the check is an exchange-log entry, and on a
    # database not yet upgraded those entries were lost (with a traceback on stderr)
    result = run(lambda gw: gw.connector(slug).check())
    click.echo(
        f"{slug}: {'ok' if result.ok else 'FAILED'} ({result.latency_ms:.0f} ms) {result.detail}"
    )
    sys.exit(0 if result.ok else 1)
