"""The dependency rule of DESIGN.md, and the promises of the OpenAPI document, as tests.

Imports are read from the source with :mod:`ast` (nothing is imported to check them), so a
lazy import inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors import REGISTRY as CONNECTOR_PACKAGES
from gateway.api.main import create_app
from gateway.core.registry import load_specs
from gateway.core.runtime import Gateway
from gateway.core.settings import DEV_DATA_KEY, DEV_SIGNING_KEY, DEV_WEBHOOK_SECRET
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in the file, relative ones resolved.

    ``from a.b import c`` yields both ``a.b`` and ``a.b.c`` (``c`` may be a module).
    """
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def _sources(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts)


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _violations(folder: str, forbidden: Any) -> list[str]:
    found = []
    for path in _sources(folder):
        for line, name in _imports(path):
            why = forbidden(path, name)
            if why:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name} ({why})")
    return sorted(set(found))


def test_the_sources_are_found() -> None:
    # a rule over an empty list of files would pass for the wrong reason
    assert _sources("connectors")
    assert _sources("schemas")
    assert _sources("gateway/core")
    imports = {name for _, name in _imports(ROOT / "connectors/dvcqg/connector.py")}
    assert "gateway.core.connector" in imports


def test_relative_imports_are_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "connectors" / "alpha"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .client import Client\n")
    (pkg / "client.py").write_text("from ..beta import thing\nfrom . import mapping\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert {n for _, n in _imports(pkg / "__init__.py")} >= {"connectors.alpha.client"}
    assert {n for _, n in _imports(pkg / "client.py")} >= {
        "connectors.beta",
        "connectors.alpha.mapping",
    }


def test_connectors_depend_only_on_the_core_and_schemas() -> None:
    """``connectors.*`` import ``gateway.core`` and ``schemas``; never the API, the CLI, the
    demo or the sandbox server, and never each other."""

    def forbidden(path: Path, name: str) -> str | None:
        parts = path.relative_to(ROOT).parts
        own = parts[1] if len(parts) > 2 else None  # connectors/<slug>/...
        if _within(name, "gateway") and not _within(name, "gateway.core"):
            return "connectors may use gateway.core only"
        if _within(name, "connectors") and name != "connectors":
            other = name.split(".")[1]
            if other != own:
                return f"another connector package ({other})"
        return None

    assert _violations("connectors", forbidden) == []


def test_schemas_import_nothing_from_the_gateway_or_connectors() -> None:
    def forbidden(_path: Path, name: str) -> str | None:
        if _within(name, "gateway", "connectors"):
            return "schemas are the platforms' packets and stand alone"
        return None

    assert _violations("schemas", forbidden) == []


def test_the_core_never_imports_the_api_or_the_cli() -> None:
    def forbidden(_path: Path, name: str) -> str | None:
        if _within(name, "gateway.api", "gateway.cli", "gateway.demo", "gateway.sandbox"):
            return "the core is what the API and the CLI are built on"
        if _within(name, "connectors") and name != "connectors":
            return "the core reaches connectors through the registry only"
        return None

    assert _violations("gateway/core", forbidden) == []


#: what a simulator may import from this repository: its own package and the shared plumbing of
#: simulators (bodies, faults, control routes), which carries no platform's vocabulary
SIMULATOR_MAY_USE = ("gateway.core.http.simulators",)


def _simulator_rule(path: Path, name: str) -> str | None:
    """Why ``name`` may not be imported by the simulator module at ``path`` (None: it may)."""
    parts = path.relative_to(ROOT).parts  # connectors/<slug>/sandbox/...
    own = f"connectors.{parts[1]}.sandbox"
    if _within(name, "schemas"):
        return "a simulator models its platform with its own models, never schemas/"
    if _within(name, "connectors") and name != "connectors" and not _within(name, own):
        return "a simulator never imports its connector (or another connector)"
    if _within(name, "gateway") and name != "gateway" and not _within(name, *SIMULATOR_MAY_USE):
        return f"a simulator may use only {', '.join(SIMULATOR_MAY_USE)} of the gateway"
    return None


def _simulator_violations() -> list[str]:
    packages = sorted((ROOT / "connectors").glob("*/sandbox"))
    return sorted(
        found
        for package in packages
        for found in _violations(str(package.relative_to(ROOT)), _simulator_rule)
    )


def _platform_words() -> list[str]:
    """The registered connectors' slugs, and the platforms' own names."""
    slugs = [name.rpartition(".")[2] for name in CONNECTOR_PACKAGES]
    return [*slugs, "vnpost", "smartca", "vnpt", "viettel"]


def test_the_core_names_no_platform() -> None:
    """``gateway/core`` is plumbing: no module, name, string or comment of it names a platform
    (as a whole word; ``design`` is not ``esign``)."""
    words = re.compile(rf"\b({'|'.join(_platform_words())})\b", re.IGNORECASE)
    found = []
    for path in _sources("gateway/core"):
        if words.search(path.stem):
            found.append(f"{path.relative_to(ROOT)}: the module's name")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = words.search(line)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert found == []


def test_the_tests_of_a_platform_live_in_its_folder() -> None:
    """``tests/connectors/<slug>/`` holds everything about one platform: no test module
    elsewhere is named after one."""
    words = re.compile(rf"({'|'.join(_platform_words())})", re.IGNORECASE)
    elsewhere = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("test_*.py")
        if path.parent.parts[-2:-1] != ("connectors",) and words.search(path.stem)
    ]
    assert elsewhere == []


def test_every_migration_names_what_it_serves() -> None:
    """One linear history; each migration says which connector it serves (or the core)."""
    versions = sorted((ROOT / "gateway" / "migrations" / "versions").glob("[0-9]*.py"))
    owners = {*(_platform_words()[: len(CONNECTOR_PACKAGES)]), "core"}
    previous = None
    for path in versions:
        text = path.read_text(encoding="utf-8")
        served = re.search(r"^Serves: (\w+)$", text, re.MULTILINE)
        assert served is not None, f"{path.name}: no 'Serves: <slug or core>' line"
        assert served.group(1) in owners, f"{path.name}: serves {served.group(1)!r}"
        down = re.search(r"^down_revision[^=]*= ['\"]?([\w]+|None)", text, re.MULTILINE)
        assert down is not None
        assert down.group(1) == (previous or "None"), f"{path.name}: not after {previous}"
        previous = re.search(r"^revision[^=]*= ['\"](\w+)", text, re.MULTILINE).group(1)  # type: ignore[union-attr]


def test_every_connector_has_its_simulator_in_a_package_of_its_own() -> None:
    # the independence rule below reads connectors/<slug>/sandbox/; a simulator left in a
    # module beside the connector (connectors/<slug>/sandbox*.py) would escape it
    for package in sorted((ROOT / "connectors").iterdir()):
        if not (package / "__init__.py").exists():
            continue
        assert (package / "sandbox" / "__init__.py").exists(), package.name
        assert not list(package.glob("sandbox*.py")), package.name


def test_simulators_never_import_the_connectors_wire_models() -> None:
    """A simulator that imports the connector's models (or ``schemas/``) can only agree with
    the connector; it must be able to disagree (issue 14)."""
    assert _simulator_violations() == []


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("schemas.payment", False),
        ("schemas", False),
        ("connectors.payment.client", False),
        ("connectors.payment", False),
        ("connectors.postal.sandbox.wire", False),
        ("gateway.core.http.recording", False),
        ("connectors.payment.sandbox.wire", True),
        ("gateway.core.http.simulators", True),
        ("fastapi", True),
    ],
)
def test_the_simulator_rule_catches_an_import_of_the_wire_models(name: str, allowed: bool) -> None:
    # the rule itself, on a simulator module of the payment connector
    path = ROOT / "connectors" / "payment" / "sandbox" / "app.py"
    assert (_simulator_rule(path, name) is None) is allowed


def test_a_simulator_importing_its_connector_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a real file with a forbidden import, read the way the rule reads the tree
    package = tmp_path / "connectors" / "payment" / "sandbox"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text("from schemas import payment as wire\nfrom . import wire\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    found = _simulator_violations()
    assert found == [
        "connectors/payment/sandbox/app.py:1 imports schemas "
        "(a simulator models its platform with its own models, never schemas/)",
        "connectors/payment/sandbox/app.py:1 imports schemas.payment "
        "(a simulator models its platform with its own models, never schemas/)",
    ]


def _import_edges(path: Path, modules: set[str]) -> set[str]:
    """The repository modules ``path`` imports, at import time or lazily, outside ``if
    TYPE_CHECKING:`` blocks. ``from package import name`` is an edge to ``package.name`` when
    that is a module (the package itself is initialised first in any case, as a parent)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    edges: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                edges.update(alias.name for alias in child.names if alias.name in modules)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join([*base, child.module] if child.module else base)
                else:
                    target = child.module or ""
                for alias in child.names:
                    name = f"{target}.{alias.name}"
                    edges.add(name if name in modules else target)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return {edge for edge in edges if edge in modules and edge != module}


def _import_cycles() -> list[list[str]]:
    """The strongly connected groups of more than one module in the import graph of
    ``gateway``, ``connectors`` and ``schemas`` (Tarjan)."""
    paths = {
        _module_name(p): p
        for folder in ("gateway", "connectors", "schemas")
        for p in _sources(folder)
    }
    modules = set(paths)
    graph = {name: _import_edges(path, modules) for name, path in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(cycles)


#: no cycle is tolerated
KNOWN_CYCLES: list[list[str]] = []


def test_no_import_cycles() -> None:
    assert [cycle for cycle in _import_cycles() if cycle not in KNOWN_CYCLES] == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "gateway" / "core"
    package.mkdir(parents=True)
    (tmp_path / "gateway" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from gateway.core import b\n")
    (package / "b.py").write_text("def f() -> None:\n    from gateway.core.a import x\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gateway.core import a\n"
    )
    (package / "d.py").write_text("from gateway.core import c\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert _import_cycles() == [["gateway.core.a", "gateway.core.b"]]


def test_every_connector_package_is_checked() -> None:
    # the rules above read connectors/<slug>/; the registry must list exactly those packages
    on_disk = {
        f"connectors.{p.name}"
        for p in (ROOT / "connectors").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    }
    assert set(CONNECTOR_PACKAGES) == on_disk


# --- the OpenAPI document ---------------------------------------------------------------------


async def _openapi(tmp_path: Path) -> dict[str, Any]:
    gw = Gateway(make_settings(f"sqlite+aiosqlite:///{tmp_path}/openapi.db"))
    try:
        document: dict[str, Any] = create_app(gw, run_workers=False, start=False).openapi()
    finally:
        await gw.aclose()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in methods
    ]


async def test_operation_ids_are_unique_and_tag_prefixed(tmp_path: Path) -> None:
    operations = _operations(await _openapi(tmp_path))
    assert operations
    ids = [op.get("operationId") for _, _, op in operations]
    assert all(ids), [f"{m} {p}" for m, p, op in operations if not op.get("operationId")]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for method, path, op in operations:
        tag = op["tags"][0] if op.get("tags") else "default"
        assert re.fullmatch(rf"{re.escape(tag)}-[a-z][a-z0-9-]*", op["operationId"]), (
            f"{method} {path}: operationId {op['operationId']!r} is not '{tag}-<name>'"
        )


async def test_operation_ids_are_stable(tmp_path: Path) -> None:
    # generated clients must not churn: two builds give the same ids for the same routes
    first = {(m, p): op["operationId"] for m, p, op in _operations(await _openapi(tmp_path))}
    second = {(m, p): op["operationId"] for m, p, op in _operations(await _openapi(tmp_path))}
    assert first == second


async def test_openapi_carries_no_secret(tmp_path: Path) -> None:
    text = json.dumps(await _openapi(tmp_path), ensure_ascii=False)
    secrets = {"sandbox-secret", DEV_DATA_KEY, DEV_SIGNING_KEY, DEV_WEBHOOK_SECRET}
    for spec in load_specs().values():
        secrets |= set(spec.placeholder_secrets)
    assert [s for s in secrets if s in text] == []
