"""Exports selected by dossier or connector (issue 17): each selected entry comes with its
sealing round, opened and closed by signed checkpoints, so the selection verifies on its own;
marks, rows and checkpoints tampered with are named. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.core.delivery.workers import DeliveryService
from gateway.core.log.audit import TrustedKeys, export_chain, verify_export
from gateway.core.runtime import Gateway
from tests.audit import Tables, build_log, put_tables, take_tables
from tests.audit.test_offline_verifier import _alone, _run_alone
from tests.audit.test_tamper_cli import lgsp
from tests.factories import ma_ho_so


@pytest.fixture(scope="module")
def built() -> dict[str, Tables]:
    """The log of each backend, built by the first test that needs it."""
    return {}


@pytest.fixture
async def in_rounds(
    backend: str, gateway: Gateway, api: httpx.AsyncClient, built: dict[str, Tables]
) -> None:
    """The log of :func:`sealed_in_rounds`, built once per backend, then put back row for row
    in each test's own emptied database."""
    if (tables := built.get(backend)) is not None:
        await put_tables(gateway, tables)
        return
    await sealed_in_rounds(gateway, api)
    built[backend] = await take_tables(gateway)


async def sealed_in_rounds(gateway: Gateway, api: httpx.AsyncClient) -> None:
    """Three dossiers, each accepted, delivered and sealed in a round of its own, then more
    traffic of the first dossier and a fourth one's in a fourth round."""
    for n in (1, 2, 3):
        await build_log(gateway, api, dossiers=1, first=n, refusal=n == 2)
        await DeliveryService(gateway).seal_once()
    await build_log(gateway, api, dossiers=1, first=1, refusal=False)
    await build_log(gateway, api, dossiers=1, first=4, refusal=False)
    await DeliveryService(gateway).seal_once()


def rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "entries.jsonl").read_text().splitlines()]


def rewrite(out: Path, records: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    (out / "entries.jsonl").write_text(text, encoding="utf-8")


async def test_a_dossier_selection_verifies_alone(
    in_rounds: None, gateway: Gateway, tmp_path: Path
) -> None:
    wanted = ma_ho_so(1)
    out = tmp_path / "dossier"
    exported = await export_chain(
        gateway.db, out, gateway.public_key, signer=gateway.signer, dossier=wanted
    )
    records = rows(out)
    assert len(records) == exported
    picked = [r for r in records if r["selected"]]
    own = [r for r in picked if r["ma_ho_so"] == wanted]
    assert own, "the dossier's own entries"
    assert all(
        r["ma_ho_so"] == wanted or r["parent_id"] in {o["entry_id"] for o in own} for r in picked
    )
    # rounds 1 and 4 only: dossiers 2 and 3 were sealed in rounds of their own; dossier 4's
    # entries share round 4, exported as its proof, not selected
    assert not any(r["ma_ho_so"] in (ma_ho_so(2), ma_ho_so(3)) for r in records)
    assert any(r["ma_ho_so"] == ma_ho_so(4) and not r["selected"] for r in records)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["selection"] == {"dossier": wanted}
    assert manifest["selected"] == len(picked)
    assert len(manifest["segments"]) == 2

    trusted = TrustedKeys.single(gateway.public_key)
    report = verify_export(out, trusted)
    assert report.ok, report.problem
    assert report.extra["selected"] == len(picked)
    assert report.extra["opening_seq"] > 0  # the second segment opens on a signed checkpoint

    # the standalone verifier reads selections too
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{gateway.signer.key_id} {gateway.public_key}\n")
    alone = _run_alone(_alone(tmp_path), out / "verify.py", str(out), "--trusted-keys", str(keys))
    assert alone.returncode == 0, alone.stdout + alone.stderr


async def test_a_connector_selection_by_the_cli(
    in_rounds: None, gateway: Gateway, tmp_path: Path
) -> None:
    out = tmp_path / "portal"
    done = await lgsp(gateway, "audit", "export", "--out", str(out), "--connector", "dvcqg")
    assert done.exit_code == 0, done.output
    picked = [r for r in rows(out) if r["selected"]]
    assert picked
    assert {r["connector"] for r in picked} == {"dvcqg"}
    checked = await lgsp(
        gateway, "audit", "verify", "--from-export", str(out), "--public-key", gateway.public_key
    )
    assert checked.exit_code == 0, checked.output
    assert "chain intact" in checked.output


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        ("edit a selected entry", "altered"),
        ("unmark a selected entry", "selection"),
        ("mark an entry of another dossier", "selection"),
        ("drop a proof entry", "missing"),
        ("drop the closing checkpoint", "missing"),
        ("drop the last closing checkpoint", "uncovered"),
        ("drop the opening checkpoint", "missing"),
    ],
)
async def test_a_tampered_selection_is_named(
    in_rounds: None, gateway: Gateway, tmp_path: Path, tamper: str, kind: str
) -> None:
    out = tmp_path / "dossier"
    await export_chain(
        gateway.db, out, gateway.public_key, signer=gateway.signer, dossier=ma_ho_so(1)
    )
    records = rows(out)
    manifest = json.loads((out / "manifest.json").read_text())
    first_segment, second_segment = manifest["segments"]
    selected = next(r for r in records if r["selected"])
    proof = next(r for r in records if not r["selected"])  # dossier 4's, in round 4
    cps = (out / "checkpoints.jsonl").read_text().splitlines(keepends=True)
    if tamper == "edit a selected entry":
        selected["detail"] = "edited"
    elif tamper == "unmark a selected entry":
        selected["selected"] = False
    elif tamper == "mark an entry of another dossier":
        proof["selected"] = True
    elif tamper == "drop a proof entry":
        records = [r for r in records if r["seq"] != first_segment[1] - 1]
    elif tamper == "drop the closing checkpoint":
        kept = [c for c in cps if json.loads(c)["seq"] != first_segment[1]]
        (out / "checkpoints.jsonl").write_text("".join(kept))
    elif tamper == "drop the last closing checkpoint":
        kept = [c for c in cps if json.loads(c)["seq"] != second_segment[1]]
        (out / "checkpoints.jsonl").write_text("".join(kept))
    elif tamper == "drop the opening checkpoint":
        kept = [c for c in cps if json.loads(c)["seq"] != second_segment[0]]
        (out / "checkpoints.jsonl").write_text("".join(kept))
    rewrite(out, records)
    # the chain is checked before the manifest: the tamper itself is named, not the file
    report = verify_export(out, TrustedKeys.single(gateway.public_key))
    assert report.problem is not None, tamper
    assert report.problem.kind == kind, report.problem


async def test_without_its_manifest_a_selection_is_not_intact(
    in_rounds: None, gateway: Gateway, tmp_path: Path
) -> None:
    """The segments are a selection's only because its signed manifest says so: without it,
    the gaps between them are missing entries."""
    out = tmp_path / "dossier"
    await export_chain(
        gateway.db, out, gateway.public_key, signer=gateway.signer, dossier=ma_ho_so(1)
    )
    (out / "manifest.json").unlink()
    report = verify_export(out, TrustedKeys.single(gateway.public_key))
    assert report.problem is not None
    assert report.problem.kind == "missing"
