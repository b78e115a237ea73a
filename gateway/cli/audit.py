"""``lgsp audit``: the tamper-evident exchange log, verified, exported and sealed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from gateway.cli.progress import page_progress
from gateway.core.commands import run
from gateway.core.errors import InvalidInput
from gateway.core.local_time import month_bounds, parse_day
from gateway.core.log.anchoring import anchoring_status
from gateway.core.log.audit import TrustedKeys, export_chain, verify_database, verify_export
from gateway.core.log.offline import MAX_ANCHOR_DELAY_SECONDS, TsaTrust, render
from gateway.core.log.reads import audit_reads
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow


@click.group()
def audit() -> None:
    """The tamper-evident exchange log."""


def _print_report(report: Any) -> None:
    click.echo(render(report), err=not report.ok)


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
@click.option(
    "--trusted-keys",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="trusted checkpoint keys from outside the evidence: a file of lines "
    "'<key id> <public key> [<valid from> [<valid to>]]'",
)
@click.option(
    "--since",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="an earlier export (or witness copy) this chain must extend, entry for entry",
)
@click.option(
    "--tsa-cert",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="PEM certificate(s) of the trusted timestamp authority or its issuing CA (default: "
    "LGSP_AUDIT__TSA_CERTS): the RFC 3161 anchors are checked against the checkpoints",
)
@click.option(
    "--max-anchor-delay",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="longest a checkpoint may wait for its timestamp before the chain is not called "
    "intact (default: LGSP_AUDIT__MAX_ANCHOR_DELAY_SECONDS, offline 3600)",
)
@click.option("--json", "as_json", is_flag=True)
def audit_verify(
    export_dir: Path | None,
    from_export: Path | None,
    public_key: str | None,
    trusted_keys: Path | None,
    since: Path | None,
    tsa_cert: Path | None,
    max_anchor_delay: float | None,
    as_json: bool,
) -> None:
    """Recompute the hash chain; exit 0 only when it is intact. Offline (--from-export) the
    trusted keys must come from outside the export (--trusted-keys or --public-key). With a
    timestamp authority (--tsa-cert, or configured), the anchors must match the checkpoints and
    cover the head; the gaps in anchoring are listed."""
    if public_key and trusted_keys:
        raise click.UsageError("give --public-key or --trusted-keys, not both")
    try:
        trusted = (
            TrustedKeys.load(trusted_keys)
            if trusted_keys
            else TrustedKeys.single(public_key)
            if public_key
            else None
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--trusted-keys") from None
    try:
        tsa = TsaTrust.load(tsa_cert) if tsa_cert is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tsa-cert") from None
    if from_export is not None:
        report = verify_export(
            from_export,
            trusted,
            since=since,
            tsa=tsa,
            max_anchor_delay_seconds=max_anchor_delay or MAX_ANCHOR_DELAY_SECONDS,
        )
    else:

        async def body(gw: Gateway) -> Any:
            settings = gw.settings.audit
            with page_progress("verifying") as on_page:
                result = await verify_database(
                    gw.db,
                    gw.public_key,
                    authenticator=gw.cipher.entries,
                    trusted=trusted,
                    since=since,
                    tsa=tsa or (gw.anchorer.trust if gw.anchorer is not None else None),
                    max_anchor_delay_seconds=max_anchor_delay or settings.max_anchor_delay_seconds,
                    on_page=on_page,
                )
            if export_dir is not None and result.ok:
                with page_progress("exporting") as on_page:
                    await export_chain(
                        gw.db, export_dir, gw.public_key, signer=gw.signer, on_page=on_page
                    )
            return result

        report = run(body)
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        _print_report(report)
    sys.exit(0 if report.ok else 1)


@audit.command("export")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@click.option(
    "--month",
    default=None,
    help="YYYY-MM (Việt Nam time): only the rounds sealed that month, opened by the checkpoint "
    "that closed the month before (a monthly archive, linked to the previous one)",
)
@click.option(
    "--dossier",
    default=None,
    help="only the entries of this dossier (ma_ho_so) and the attempts made for them, each "
    "with its sealing round as the proof that it is in the signed chain",
)
@click.option("--connector", default=None, help="only the entries of this platform (its slug)")
@click.option("--json", "as_json", is_flag=True, help="the count and directory as JSON")
def audit_export(
    out: Path, month: str | None, dossier: str | None, connector: str | None, as_json: bool
) -> None:
    """Export the sealed chain, its checkpoints and anchors, a signed manifest, the public key
    and the standalone verifier (verify.py) for offline verification."""
    if month is not None:
        try:
            month_bounds(month)
        except InvalidInput as exc:
            raise click.BadParameter(exc.errors[0].msg, param_hint="--month") from None
    for value, hint in ((dossier, "--dossier"), (connector, "--connector")):
        if value is not None and not 0 < len(value) <= 64:
            raise click.BadParameter("1 to 64 characters", param_hint=hint)

    async def body(gw: Gateway) -> int:
        with page_progress("exporting") as on_page:
            return await export_chain(
                gw.db,
                out,
                gw.public_key,
                signer=gw.signer,
                month=month,
                dossier=dossier,
                connector=connector,
                on_page=on_page,
            )

    count = run(body)
    if as_json:
        click.echo(json.dumps({"entries": count, "out": str(out)}, ensure_ascii=False))
        return
    click.echo(
        f"{count} entries exported to {out}; verify with: lgsp audit verify --from-export {out}"
    )


@audit.command("anchor")
@click.option("--json", "as_json", is_flag=True)
def audit_anchor(as_json: bool) -> None:
    """Timestamp the newest checkpoint now (the workers do this every anchor interval) and
    show how far the anchors reach."""

    async def body(gw: Gateway) -> dict[str, Any]:
        if gw.anchorer is None:
            raise click.UsageError(
                "no timestamp authority is configured (LGSP_AUDIT__TSA_URL, LGSP_AUDIT__TSA_CERTS)"
            )
        seq = await gw.anchorer.anchor_once()
        status = await anchoring_status(gw.db)
        return {"anchored_seq": seq, **status.as_dict(utcnow())}

    result = run(body)
    if as_json:
        click.echo(json.dumps(result))
        return
    if result["anchored_seq"] is not None:
        click.echo(f"checkpoint seq {result['anchored_seq']} anchored")
    click.echo(
        f"last anchor: seq {result['last_anchored_seq']} at {result['last_anchor_at']}; "
        f"{result['unanchored_checkpoints']} checkpoint(s) waiting"
        + (f" since {result['unanchored_since']}" if result["unanchored_since"] else "")
    )
    if result["unanchored_checkpoints"] and result["anchored_seq"] is None:
        sys.exit(1)


@audit.command("seal")
@click.option("--json", "as_json", is_flag=True, help="the count as JSON")
def audit_seal(as_json: bool) -> None:
    """Seal pending entries now (the workers do this continuously)."""
    from gateway.core.delivery.workers import DeliveryService

    count = run(lambda gw: DeliveryService(gw).seal_once())
    if as_json:
        click.echo(json.dumps({"sealed": count}))
        return
    click.echo(f"{count} entries sealed")


@audit.command("reads")
@click.option("--from", "start", default=None, help="first day, YYYY-MM-DD (Việt Nam time)")
@click.option("--to", "end", default=None, help="last day, YYYY-MM-DD (Việt Nam time)")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True)
def audit_reads_command(start: str | None, end: str | None, limit: int, as_json: bool) -> None:
    """Who read which decrypted body, when and why (granted or refused), newest first."""
    try:
        first = parse_day(start, "--from") if start else None
        last = parse_day(end, "--to") if end else None
    except InvalidInput as exc:
        raise click.BadParameter(exc.errors[0].msg) from None
    reads = run(lambda gw: audit_reads(gw.db, start=first, end=last, limit=limit))
    if as_json:
        click.echo(json.dumps({"reads": reads}, ensure_ascii=False))
        return
    if not reads:
        click.echo("no reads")
    for r in reads:
        click.echo(
            f"{r['at']}  {r['outcome']:8} {r['client']} / {r['person'] or '-'}  "
            f"{r['entry_id']} ({r['which']})  reason: {r['reason'] or '-'}"
            + (f"  refused: {r['refused']}" if r["refused"] else "")
        )
