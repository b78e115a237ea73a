"""`lgsp demo` is the main job: it must pass on the embedded default, and fail loudly when a
check does not hold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import connectors.dvcqg.demo as demo_module
from connectors.dancu.sandbox.state import DEFAULT_PROCEDURES, UNLICENSED_PROCEDURE
from connectors.dvcqg.sandbox import CATALOGUE
from gateway.demo import run_demo


def _in_thread(**kwargs: object) -> int:
    # a thread of its own: run_demo starts its own event loop (asyncio.run)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: run_demo(**kwargs)).result()  # type: ignore[arg-type]


def test_demo_passes_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _in_thread(dossiers=4, seed=11, keep=tmp_path) == 0
    out = capsys.readouterr().out
    assert "DEMO PASSED" in out
    assert "4/4 dossiers hold exactly the history [2, 4, 5, 4, 9, 10]" in out
    assert "chain intact" in out
    assert "lgsp audit verify: the exchange log's hash chain is intact and fully sealed" in out
    assert (tmp_path / "lgsp-demo.db").exists()
    # issue 23: an enterprise look-up, an EMC monthly submission, a document to document
    # management with its statuses back
    assert "lines of business" in out
    assert "not in the register, answered 200 not_found" in out
    assert "EMC received the 2024-01 figures exactly as computed locally" in out
    assert "(processed)" in out
    assert "the case system was told: qlvb.sent" in out


def test_the_demo_dossiers_use_only_procedures_the_population_database_licenses() -> None:
    """The DVCQG part picks a procedure for each dossier from the portal simulator's catalogue,
    less the one the population database simulator deliberately does not license; each of the
    others must be licensed, whatever the seed (seed 5 once picked an unlicensed one)."""
    usable = {p.MATTHC for p in CATALOGUE} - {UNLICENSED_PROCEDURE}
    assert usable <= DEFAULT_PROCEDURES


def test_demo_fails_when_the_portal_loses_a_dossier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the expected life has a stage the case system never sends: the final check must fail
    life = (*demo_module.LIFE, ("dang_xu_ly", 4, "Bước không bao giờ được gửi"))
    monkeypatch.setattr(demo_module, "LIFE", demo_module.LIFE)
    original = demo_module.DossierLifecycle.verify

    async def verify_with_extra_stage(self, dossiers):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(demo_module, "LIFE", life)
        await original(self, dossiers)

    monkeypatch.setattr(demo_module.DossierLifecycle, "verify", verify_with_extra_stage)
    assert _in_thread(dossiers=2, seed=3, keep=tmp_path) == 1
    assert "DEMO FAILED" in capsys.readouterr().out
