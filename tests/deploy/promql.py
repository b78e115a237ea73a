"""What a PromQL expression reads (metric names, label matchers), and what the gateway exposes
(gateway.core.metrics.REGISTRY), for the tests of the alerting rules and the Grafana dashboard.

A small reading, not a parser: string literals, ranges and grouping clauses are taken out, then
every identifier is a function (followed by ``(``), a keyword, or a metric name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from prometheus_client.metrics import MetricWrapperBase

from gateway.core import metrics
from gateway.core.delivery import outbox
from gateway.core.registry import load_specs

FUNCTIONS = frozenset(
    {
        "abs",
        "absent",
        "avg",
        "avg_over_time",
        "ceil",
        "changes",
        "clamp_min",
        "count",
        "count_over_time",
        "delta",
        "deriv",
        "floor",
        "histogram_quantile",
        "idelta",
        "increase",
        "irate",
        "label_replace",
        "max",
        "max_over_time",
        "min",
        "min_over_time",
        "quantile",
        "rate",
        "resets",
        "round",
        "sort_desc",
        "sum",
        "sum_over_time",
        "time",
        "topk",
        "vector",
    }
)
KEYWORDS = frozenset({"and", "or", "unless", "offset", "bool"})

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SELECTOR = re.compile(
    r'(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)\s*\{((?:[^{}"]|"(?:[^"\\]|\\.)*")*)\}'
)
_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")

#: how each kind of metric is exposed (prometheus_client names a counter's family without
#: ``_total``, a histogram's without its series' suffixes)
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}


@dataclass(frozen=True)
class Matcher:
    metric: str
    label: str
    op: str
    value: str


@dataclass(frozen=True)
class Exposed:
    """A series name ``/metrics`` can show, its label names and its documentation."""

    name: str
    family: str
    labels: frozenset[str]
    documentation: str


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects."""
    text = _SELECTOR.sub(r"\1", _STRING.sub('""', expr))
    text = _GROUPING.sub(" ", _RANGE.sub(" ", text))
    names: set[str] = set()
    for name, call in _IDENT.findall(text):
        if name in KEYWORDS:
            continue
        if call:
            assert name in FUNCTIONS, f"unknown function {name}() in {expr!r}"
        else:
            names.add(name)
    return names


def matchers(expr: str) -> list[Matcher]:
    """The label matchers of every selector of ``expr`` that has some."""
    return [
        Matcher(metric, label, op, value)
        for metric, inside in _SELECTOR.findall(expr)
        for label, op, value in _MATCHER.findall(inside)
    ]


def exposed() -> dict[str, Exposed]:
    """Every series name the gateway's registry exposes: the gateway's own metrics (with their
    label names, even before any series is set) and the process and platform collectors'."""
    out: dict[str, Exposed] = {}
    for family in metrics.REGISTRY.collect():
        labels = frozenset(k for s in family.samples for k in s.labels)
        for suffix in _SUFFIXES.get(family.type, ("",)):
            name = family.name + suffix
            out[name] = Exposed(name, family.name, labels, family.documentation)
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            family = value._name  # the wrapper's own name and label names: no public accessor
            names = frozenset(value._labelnames)
            for suffix in _SUFFIXES[value._type]:
                name = family + suffix
                extra = {"le"} if suffix == "_bucket" else set()
                out[name] = Exposed(name, family, names | extra, value._documentation)
    return out


#: label values set in code, where the code has them as data
_KNOWN_VALUES: dict[tuple[str, str], frozenset[str]] = {
    ("lgsp_outbox_items", "status"): frozenset(outbox.HOLDING),
    # gateway.core.metrics.observe_upstream
    ("lgsp_upstream_request_seconds", "ok"): frozenset({"true", "false"}),
}
_PLAIN = re.compile(r"^[A-Za-z0-9_/{}-]+$")


def matcher_problems(expr: str, known: dict[str, Exposed]) -> list[str]:
    """What is wrong with the label matchers of ``expr``: a label the metric does not have, a
    value it never takes (a value of the table above, a registered connector's slug, else one
    the metric's documentation names; an HTTP status is three digits)."""
    problems: list[str] = []
    for m in matchers(expr):
        metric = known.get(m.metric)
        if metric is None:
            problems.append(f"{m.metric}: no such metric")
            continue
        if m.label not in metric.labels:
            problems.append(f"{m.metric} has no label {m.label!r} (it has {sorted(metric.labels)})")
            continue
        if m.op in ("!=", "!~") or "$" in m.value:
            continue  # an exclusion, or a Grafana variable
        values = m.value.split("|") if m.op == "=~" else [m.value]
        if not all(_PLAIN.match(v) for v in values):
            if not (m.label == "status" and re.fullmatch(r"[1-5]\.\.", m.value)):
                problems.append(f"{m.metric}{{{m.label}{m.op}{m.value!r}}}: unchecked pattern")
            continue
        for value in values:
            allowed = _KNOWN_VALUES.get((metric.family, m.label))
            if allowed is not None:
                ok = value in allowed
            elif m.label == "connector":
                ok = value in load_specs()
            elif m.label == "route":
                ok = value.startswith("/")  # a route template (the tests' series)
            elif m.label == "method":
                ok = value in ("GET", "POST", "PUT", "PATCH", "DELETE")
            elif m.label == "status":
                ok = re.fullmatch(r"[1-5][0-9][0-9]", value) is not None
            else:
                ok = re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", metric.documentation)
            if not ok:
                problems.append(f"{m.metric}{{{m.label}={value!r}}}: a value it never takes")
    return problems
