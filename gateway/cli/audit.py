"""``lgsp audit``: the tamper-evident exchange log, verified, exported and sealed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from gateway.core.commands import run
from gateway.core.log.audit import export_chain, verify_database, verify_export
from gateway.core.runtime import Gateway


@click.group()
def audit() -> None:
    """The tamper-evident exchange log."""


def _print_report(report: Any) -> None:
    if report.ok:
        click.echo(
            f"chain intact: {report.entries} entries, {report.checkpoints} signed checkpoints, "
            f"head seq {report.head_seq} {report.head_hash[:16]}…"
            + (f" ({report.unsealed} not yet sealed)" if report.unsealed else "")
        )
    else:
        p = report.problem
        click.echo(f"CHAIN BROKEN [{p.kind}] at seq {p.seq}: {p.message}", err=True)
        click.echo(f"({report.entries} entries verified before it)", err=True)


@audit.command("verify")
@click.option(
    "--export",
    "export_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="also export the verified chain to this directory",
)
@click.option(
    "--from-export",
    "from_export",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="verify an exported directory offline instead of the database",
)
@click.option("--public-key", default=None, help="trusted checkpoint key (base64 Ed25519)")
@click.option("--json", "as_json", is_flag=True)
def audit_verify(
    export_dir: Path | None, from_export: Path | None, public_key: str | None, as_json: bool
) -> None:
    """Recompute the hash chain; exit 0 only when it is intact."""
    if from_export is not None:
        report = verify_export(from_export, public_key)
    else:

        async def body(gw: Gateway) -> Any:
            result = await verify_database(
                gw.db, public_key or gw.public_key, authenticator=gw.cipher.entries
            )
            if export_dir is not None and result.ok:
                await export_chain(gw.db, export_dir, gw.public_key)
            return result

        report = run(body, migrate=False)
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        _print_report(report)
    sys.exit(0 if report.ok else 1)


@audit.command("export")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
def audit_export(out: Path) -> None:
    """Export the sealed chain, its checkpoints and the public key for offline verification."""

    async def body(gw: Gateway) -> int:
        return await export_chain(gw.db, out, gw.public_key)

    count = run(body, migrate=False)
    click.echo(
        f"{count} entries exported to {out}; verify with: lgsp audit verify --from-export {out}"
    )


@audit.command("seal")
def audit_seal() -> None:
    """Seal pending entries now (the workers do this continuously)."""
    from gateway.core.delivery.workers import DeliveryService

    count = run(lambda gw: DeliveryService(gw).seal_once())
    click.echo(f"{count} entries sealed")
