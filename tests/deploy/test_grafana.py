"""The Grafana dashboard (issue 20): deploy/grafana/lgsp-gateway.json, the same file as the
chart's files/grafana-dashboard.json; it parses, its panel ids are unique, every query reads only
metrics, labels and values the gateway exposes, through the ``${datasource}`` variable, and
follows the ``connector`` variable wherever the metric has that label; with promtool on PATH,
every query is checked as PromQL too."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import promql

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "lgsp-gateway.json"
CHART_DASHBOARD = ROOT / "helm" / "lgsp-gateway" / "files" / "grafana-dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def panels() -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    out: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def queries() -> list[tuple[str, str]]:
    """(panel title, expression) of every query."""
    return [(p["title"], t["expr"]) for p in panels() for t in p.get("targets", [])]


def test_the_chart_provisions_the_same_dashboard() -> None:
    assert CHART_DASHBOARD.read_bytes() == DASHBOARD.read_bytes(), (
        "deploy/grafana/lgsp-gateway.json and helm/lgsp-gateway/files/grafana-dashboard.json "
        "differ: edit one, copy it over the other"
    )


def test_the_dashboard_and_its_variables() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39
    assert board["uid"] == "lgsp-gateway"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    connector = variables["connector"]
    assert connector["type"] == "query"
    assert connector["datasource"] == DATASOURCE
    assert connector["query"]["query"] == "label_values(lgsp_outbox_items, connector)"
    assert connector["includeAll"] is True
    assert connector["multi"] is True


def test_panel_ids_are_unique_and_the_panels_do_not_overlap() -> None:
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids)), ids
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard()["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]


def test_every_query_reads_what_the_gateway_exposes() -> None:
    exposed = promql.exposed()
    used: set[str] = set()
    for panel in panels():
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            names = promql.metric_names(target["expr"])
            assert names, (panel["title"], target["expr"])
            assert names <= set(exposed), (panel["title"], names - set(exposed))
            assert promql.matcher_problems(target["expr"], exposed) == [], panel["title"]
            used |= names
    assert used >= {
        "lgsp_circuit_state",
        "lgsp_outbox_items",
        "lgsp_outbox_oldest_pending_seconds",
        "lgsp_deliveries_total",
        "lgsp_upstream_request_seconds_bucket",
        "lgsp_http_requests_total",
        "lgsp_http_request_seconds_bucket",
        "lgsp_log_entries_sealed_total",
        "lgsp_log_seal_refusals_total",
        "lgsp_log_anchor_lag_seconds",
        "lgsp_log_unanchored_checkpoints",
        "lgsp_log_anchor_rounds_total",
    }


def test_the_connector_variable_filters_every_per_connector_query() -> None:
    exposed = promql.exposed()
    per_connector = 0
    for panel in panels():
        for target in panel.get("targets", []):
            expr = target["expr"]
            for m in promql.matchers(expr):
                if m.label == "connector":
                    assert (m.op, m.value) == ("=~", "$connector"), panel["title"]
            if "{{connector}}" not in target["legendFormat"]:
                continue  # a total over every platform (the exchange log's sealing)
            per_connector += 1
            filtered = {m.metric for m in promql.matchers(expr) if m.label == "connector"}
            for name in promql.metric_names(expr):
                assert "connector" in exposed[name].labels, (panel["title"], name)
                assert name in filtered, (panel["title"], name)
    assert per_connector >= 10


def test_the_platform_latency_quantiles() -> None:
    expressions = [e for _, e in queries() if "lgsp_upstream_request_seconds_bucket" in e]
    quantiles = {q for e in expressions for q in re.findall(r"histogram_quantile\(([0-9.]+),", e)}
    assert quantiles == {"0.5", "0.95", "0.99"}
    assert all("by (connector, le)" in e for e in expressions)


def test_promtool_parses_every_query(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not on PATH (Debian: apt-get install prometheus)")
    rules = [
        {
            "record": f"lgsp:dashboard:query{i}",
            "expr": expr.replace("$__rate_interval", "5m").replace("$connector", ".*"),
        }
        for i, (_, expr) in enumerate(queries())
    ]
    file = tmp_path / "dashboard-queries.yaml"
    file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        [promtool, "check", "rules", str(file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout
