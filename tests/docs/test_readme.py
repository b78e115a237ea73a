"""Every command block of the README runs as written (issue 21): the ``sh`` blocks, in order,
in one bash session started in a fresh directory that holds the repository's ``.venv`` (as a
reader's checkout does), with no ``LGSP_`` variable set: the embedded defaults, the simulators
of ``lgsp serve --sandbox`` on their documented ports. ``set -euo pipefail``, and ``curl -f``
in the blocks, make any failing command fail the test. The two commands at the top
(``bash scripts/demo``, ``bash scripts/test``) are what CI and ``tests/e2e/test_demo.py`` run,
so they are not run again here."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RUN_ELSEWHERE = ("bash scripts/demo", "bash scripts/test")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def blocks(text: str) -> list[str]:
    """The README's ``sh`` blocks, in order, but those run elsewhere."""
    found = re.findall(r"^```sh\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    return [b for b in found if not b.lstrip().startswith(RUN_ELSEWHERE)]


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_readme_names_its_blocks() -> None:
    found = blocks(README.read_text(encoding="utf-8"))
    assert len(found) >= 4
    assert any("lgsp serve --sandbox &" in b for b in found)


def test_every_command_block_runs_as_written(tmp_path: Path) -> None:
    if not (_free(8000) and _free(9000)):
        pytest.skip("the README's ports 8000 and 9000 are taken on this machine")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    script = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for n, block in enumerate(blocks(README.read_text(encoding="utf-8")), 1):
        script += [f"echo '### block {n}' >&2", block]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
    ran = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    where = re.findall(r"### block (\d+)", ran.stderr)
    assert ran.returncode == 0, (
        f"block {where[-1] if where else '?'} failed ({ran.returncode}):\n"
        f"{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    )
    out = ran.stdout
    assert '"ma_tthc":"1.001776"' in out.replace(" ", "") or '"1.001776"' in out
    assert '"exchange_id"' in out  # the exchange followed after the dossier was accepted
    assert '"payment_url"' in out
    assert (tmp_path / "lgsp.db").exists()  # the embedded default, as the README says
