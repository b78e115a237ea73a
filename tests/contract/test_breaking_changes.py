"""No breaking change to the API without a new major version (issue 21): the served document is
compared with the last release's (``tests/snapshots/openapi-<version>.json``; 0.1.0 is the
first, taken once the contract was typed). What a generated client relies on must not go: an
operation, an operation id, a success answer or a field of it, a value of an answered enum;
and what it sends must stay enough: no new required parameter or request field, no request
field's type narrowed. Additions are free. The platforms' callbacks are not compared: the
platforms call them with their own packets, not a client generated from this document. A
deliberate break bumps the major version and adds the new release's document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.api.main import create_app
from gateway.core.runtime import Gateway
from gateway.core.store.state import MemoryStateStore
from tests.conftest import make_settings

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
RELEASE = SNAPSHOTS / "openapi-0.1.0.json"
METHODS = ("get", "put", "post", "delete", "patch")


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
        seen += 1
    return schema


def _properties(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    schema = _resolve(document, schema)
    found = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        found.update(_properties(document, part))
    return found


def _required(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    return set(_resolve(document, schema).get("required", []))


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in ``new`` breaks a client made from ``old``."""
    problems: list[str] = []
    for path, item in old["paths"].items():
        if path.startswith("/callbacks/"):
            # called by the platforms with their own packets, not by clients generated from
            # this document (their bodies were documented after 0.1.0: they always had one)
            continue
        for method in (m for m in METHODS if m in item):
            where = f"{method.upper()} {path}"
            before = item[method]
            after = new["paths"].get(path, {}).get(method)
            if after is None:
                problems.append(f"{where}: removed")
                continue
            if before.get("operationId") != after.get("operationId"):
                problems.append(f"{where}: operationId {before.get('operationId')} renamed")
            problems += _compare_parameters(where, before, after)
            problems += _compare_request(old, new, where, before, after)
            problems += _compare_answers(old, new, where, before, after)
    return problems


def _compare_parameters(where: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    had = {(p["in"], p["name"]) for p in before.get("parameters", [])}
    return [
        f"{where}: new required parameter {p['in']} {p['name']}"
        for p in after.get("parameters", [])
        if p.get("required") and (p["in"], p["name"]) not in had
    ]


def _json_schema(operation_part: dict[str, Any]) -> dict[str, Any] | None:
    content = operation_part.get("content", {})
    for media in ("application/json", "application/problem+json"):
        if media in content:
            schema: dict[str, Any] = content[media].get("schema", {})
            return schema
    return None


def _compare_request(
    old: dict[str, Any],
    new: dict[str, Any],
    where: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> list[str]:
    was = _json_schema(before.get("requestBody", {}))
    now = _json_schema(after.get("requestBody", {}))
    if was is None or now is None:
        return [f"{where}: the request body is now required"] if now and not was else []
    problems = [
        f"{where}: request field {name} is now required"
        for name in sorted(_required(new, now) - _required(old, was))
    ]
    old_props, new_props = _properties(old, was), _properties(new, now)
    for name, schema in old_props.items():
        kept = new_props.get(name)
        if kept is None and _resolve(new, now).get("additionalProperties") is False:
            problems.append(f"{where}: request field {name} is refused now")
        elif kept is not None:
            a, b = _resolve(old, schema).get("type"), _resolve(new, kept).get("type")
            if a and b and a != b:
                problems.append(f"{where}: request field {name} changed type {a} -> {b}")
    return problems


def _compare_answers(
    old: dict[str, Any],
    new: dict[str, Any],
    where: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> list[str]:
    problems: list[str] = []
    for status, answer in before.get("responses", {}).items():
        if not status.startswith("2"):
            continue
        now_answer = after.get("responses", {}).get(status)
        if now_answer is None:
            problems.append(f"{where}: answer {status} removed")
            continue
        was, now = _json_schema(answer), _json_schema(now_answer)
        if was is None or now is None:
            continue
        old_props, new_props = _properties(old, was), _properties(new, now)
        for name, schema in old_props.items():
            if name not in new_props:
                problems.append(f"{where}: answer {status} lost the field {name}")
                continue
            lost = set(_resolve(old, schema).get("enum", [])) - set(
                _resolve(new, new_props[name]).get("enum", [])
            )
            if lost and _resolve(new, new_props[name]).get("enum"):
                problems.append(f"{where}: answer {status} field {name} lost {sorted(lost)}")
        for name in sorted(_required(old, was) - _required(new, now)):
            problems.append(f"{where}: answer {status} field {name} no longer always given")
    return problems


async def _served(tmp_path: Path) -> dict[str, Any]:
    gw = Gateway(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"), state=MemoryStateStore()
    )
    try:
        document: dict[str, Any] = create_app(gw, run_workers=False, start=False).openapi()
    finally:
        await gw.aclose()
    return json.loads(json.dumps(document))


async def test_nothing_of_the_last_release_is_broken(tmp_path: Path) -> None:
    release = json.loads(RELEASE.read_text(encoding="utf-8"))
    assert (
        release["info"]["version"].split(".")[0]
        == (await _served(tmp_path))["info"]["version"].split(".")[0]
    ), "a new major version: add its document as the release to compare with"
    assert breaking_changes(release, await _served(tmp_path)) == []


async def test_the_check_names_what_breaks(tmp_path: Path) -> None:
    release = json.loads(RELEASE.read_text(encoding="utf-8"))
    broken = await _served(tmp_path)
    sync = broken["paths"]["/v1/dvcqg/dossiers"]["post"]
    sync["operationId"] = "dvcqg-push"
    del broken["paths"]["/v1/dvcqg/procedures/{ma_tthc}"]
    broken["components"]["schemas"]["Accepted"]["properties"].pop("links")
    broken["components"]["schemas"]["HoSo"]["required"].append("so_bien_nhan")
    sync.setdefault("parameters", []).append(
        {"in": "header", "name": "X-Officer-Id", "required": True, "schema": {"type": "string"}}
    )
    found = breaking_changes(release, broken)
    assert "GET /v1/dvcqg/procedures/{ma_tthc}: removed" in found
    assert "POST /v1/dvcqg/dossiers: operationId dvcqg-sync-dossier renamed" in found
    assert "POST /v1/dvcqg/dossiers: answer 202 lost the field links" in found
    assert "POST /v1/dvcqg/dossiers: request field so_bien_nhan is now required" in found
    assert "POST /v1/dvcqg/dossiers: new required parameter header X-Officer-Id" in found
