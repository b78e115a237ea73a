"""The Prometheus alerting rules (issue 20): deploy/prometheus/lgsp-alerts.yaml, the same file
as the chart's files/alerts.yaml; each alert complete (expr, for, severity, summary, description,
a runbook section), reading only metrics, labels and label values the gateway exposes, and unit
tested with promtool (deploy/prometheus/lgsp-alerts.test.yaml: a case where it fires and one
where it does not). ``promtool`` comes with Debian's ``prometheus`` package; without it those
two tests skip, saying so."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import promql

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "lgsp-alerts.yaml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "lgsp-alerts.test.yaml"
CHART_RULES = ROOT / "helm" / "lgsp-gateway" / "files" / "alerts.yaml"
RUNBOOK = ROOT / "docs" / "runbook.md"
SEVERITIES = {"critical", "warning", "info"}
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def alerts() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub and GitLab give the ``##`` headings of ``markdown``."""
    out: set[str] = set()
    for heading in re.findall(r"^##\s+(.+?)\s*$", markdown, flags=re.MULTILINE):
        text = unicodedata.normalize("NFC", heading).strip().lower()
        text = re.sub(r"[^\w\- ]", "", text)
        out.add(text.replace(" ", "-"))
    return out


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not on PATH (Debian: apt-get install prometheus)")
    return found


def test_the_chart_renders_the_same_rules_as_the_plain_file() -> None:
    assert CHART_RULES.read_bytes() == RULES.read_bytes(), (
        "deploy/prometheus/lgsp-alerts.yaml and helm/lgsp-gateway/files/alerts.yaml differ: "
        "edit one, copy it over the other"
    )


def test_every_alert_is_complete() -> None:
    names = [rule.get("alert") for rule in alerts()]
    assert len(names) >= 15
    assert all(names), names
    assert len(set(names)) == len(names), names
    for rule in alerts():
        name = rule["alert"]
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, name
        assert isinstance(rule["expr"], str), name
        assert rule["expr"].strip(), name
        assert DURATION.match(str(rule["for"])), (name, rule["for"])
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}, name
        assert annotations["summary"].strip(), name
        assert annotations["description"].strip(), name
        assert annotations["runbook_url"] == f"docs/runbook.md#{name.lower()}", name


def test_the_alerts_read_only_what_the_gateway_exposes() -> None:
    exposed = promql.exposed()
    used: set[str] = set()
    for rule in alerts():
        names = promql.metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= set(exposed), (rule["alert"], names - set(exposed))
        assert promql.matcher_problems(rule["expr"], exposed) == [], rule["alert"]
        used |= names
    # the list: breakers, queue, dead letters, deliveries, platforms, API, sealing,
    # anchoring, officer spikes, maintenance
    assert used >= {
        "lgsp_circuit_state",
        "lgsp_outbox_oldest_pending_seconds",
        "lgsp_outbox_items",
        "lgsp_deliveries_total",
        "lgsp_upstream_request_seconds_count",
        "lgsp_http_requests_total",
        "lgsp_log_seal_refusals_total",
        "lgsp_log_entries_sealed_total",
        "lgsp_log_unanchored_checkpoints",
        "lgsp_log_anchor_lag_seconds",
        "lgsp_log_anchor_rounds_total",
        "lgsp_officer_alerts_total",
        "lgsp_connector_maintenance",
    }


def test_the_rule_tests_feed_series_the_gateway_exposes() -> None:
    exposed = promql.exposed()
    for case in load(RULE_TESTS)["tests"]:
        for series in case["input_series"]:
            selector = series["series"]
            (name,) = promql.metric_names(selector)
            assert name in exposed, selector
            # every label of the metric, as a scrape gives it (plus the target's instance)
            labels = {m.label for m in promql.matchers(selector)}
            assert labels == exposed[name].labels | {"instance"}, selector
            problems = promql.matcher_problems(selector, exposed)
            assert [p for p in problems if "no label 'instance'" not in p] == [], selector


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in load(RULE_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - fires == set(), "no case where these fire"
    assert names - quiet == set(), "no case where these do not fire"
    assert load(RULE_TESTS)["rule_files"] == [RULES.name]


def test_every_alert_has_its_runbook_section() -> None:
    runbook = RUNBOOK.read_text(encoding="utf-8")
    sections = anchors(runbook)
    names = {rule["alert"] for rule in alerts()}
    for name in names:
        assert name.lower() in sections, f"docs/runbook.md has no '## {name}'"
    # no section for an alert that is gone
    documented = set(re.findall(r"^##\s+(Lgsp\w+)\s*$", runbook, flags=re.MULTILINE))
    assert documented == names
    # each section says what to run
    for name, body in re.findall(r"^##\s+(Lgsp\w+)\s*\n(.*?)(?=^##\s|\Z)", runbook, re.M | re.S):
        assert "`lgsp " in body or "`kubectl " in body or "`curl " in body, name
        assert "scalate" in body, f"{name}: when to escalate, to whom"


def test_promtool_checks_the_rules() -> None:
    done = subprocess.run(
        [promtool(), "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in done.stdout


def test_promtool_unit_tests_pass() -> None:
    done = subprocess.run(
        [promtool(), "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
