"""Write ``requirements-runtime.lock``: the pins of ``requirements.lock`` that the gateway needs
to run (its dependencies and theirs, without the ``dev`` extra), for the container image.

    .venv/bin/python scripts/lock_runtime.py          # write it
    .venv/bin/python scripts/lock_runtime.py --check  # exit 1 when it is not up to date

The closure is read from the installed distributions' metadata (markers evaluated for Linux,
CPython 3.11, like the image), the versions from ``requirements.lock``, the one lock resolved
by ``uv pip compile`` (see its header): the runtime lock never pins anything the full lock does
not.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "requirements.lock"
RUNTIME = ROOT / "requirements-runtime.lock"
ENVIRONMENT = {"sys_platform": "linux", "platform_system": "Linux", "python_version": "3.11"}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def closure() -> set[str]:
    """The distributions ``lgsp-gateway`` needs at run time."""
    seen: set[str] = set()
    todo = [("lgsp-gateway", frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        key = _name(name)
        for requirement in metadata.requires(name) or []:
            req = Requirement(requirement)
            if req.marker is not None and not any(
                req.marker.evaluate({**ENVIRONMENT, "extra": extra}) for extra in (extras or {""})
            ):
                continue
            dep = _name(req.name)
            if dep not in seen:
                seen.add(dep)
                todo.append((req.name, frozenset(req.extras)))
            elif req.extras:
                todo.append((req.name, frozenset(req.extras)))
        seen.add(key)
    seen.discard("lgsp-gateway")
    return seen


def render() -> str:
    wanted = closure()
    lines = [
        "# The runtime subset of requirements.lock (scripts/lock_runtime.py): what the image",
        "# installs; the tests and the tools are in requirements.lock alone.",
    ]
    pinned = set()
    for line in FULL.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if match and _name(match.group(1)) in wanted:
            lines.append(f"{match.group(1)}=={match.group(2)}")
            pinned.add(_name(match.group(1)))
    missing = wanted - pinned
    if missing:
        raise SystemExit(f"requirements.lock pins none of {sorted(missing)}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = RUNTIME.read_text(encoding="utf-8") if RUNTIME.exists() else ""
        if current != text:
            print("requirements-runtime.lock is not up to date", file=sys.stderr)
            return 1
        return 0
    RUNTIME.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
