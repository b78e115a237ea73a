"""Prometheus metrics (one registry per process; ``/metrics`` exposes it)."""

from __future__ import annotations

from prometheus_client import (
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

REGISTRY = CollectorRegistry(auto_describe=True)
# the process's own CPU, memory, open files and the Python runtime, beside the gateway's
REGISTRY.register(PROCESS_COLLECTOR)
REGISTRY.register(PLATFORM_COLLECTOR)

HTTP_REQUESTS = Counter(
    "lgsp_http_requests_total",
    "Northbound requests by route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "lgsp_http_request_seconds",
    "Northbound request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
UPSTREAM_LATENCY = Histogram(
    "lgsp_upstream_request_seconds",
    "Latency of calls to national platforms",
    ["connector", "ok"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "lgsp_deliveries_total",
    "Outbox delivery attempts by outcome (delivered, retry, dead, held)",
    ["connector", "outcome"],
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "lgsp_outbox_items",
    "Outbox items not yet delivered, by status",
    ["connector", "status"],
    registry=REGISTRY,
)
IN_MAINTENANCE = Gauge(
    "lgsp_connector_maintenance",
    "1 while the platform is in a maintenance window (its deliveries held)",
    ["connector"],
    registry=REGISTRY,
)
OLDEST_PENDING = Gauge(
    "lgsp_outbox_oldest_pending_seconds",
    "Age of the oldest item still waiting for delivery (0: none waits)",
    ["connector"],
    registry=REGISTRY,
)
CIRCUIT_STATE = Gauge(
    "lgsp_circuit_state",
    "The connector's circuit breaker: 0 closed, 1 half-open (a probe may go), 2 open, "
    "-1 unknown (the state store does not answer)",
    ["connector"],
    registry=REGISTRY,
)
CIRCUIT_OPEN = Gauge(
    "lgsp_circuit_open",
    "1 when the connector's circuit breaker is open or half-open",
    ["connector"],
    registry=REGISTRY,
)
SEALED = Counter("lgsp_log_entries_sealed_total", "Exchange-log entries sealed", registry=REGISTRY)
ANCHOR_ROUNDS = Counter(
    "lgsp_log_anchor_rounds_total",
    "Rounds of timestamping the newest checkpoint with the RFC 3161 authority, by outcome "
    "(anchored, failed)",
    ["outcome"],
    registry=REGISTRY,
)
UNANCHORED_CHECKPOINTS = Gauge(
    "lgsp_log_unanchored_checkpoints",
    "Signed checkpoints after the last one an RFC 3161 timestamp covers (queued for anchoring)",
    registry=REGISTRY,
)
ANCHOR_LAG = Gauge(
    "lgsp_log_anchor_lag_seconds",
    "How long the oldest checkpoint no timestamp covers has waited (0: all anchored)",
    registry=REGISTRY,
)
SEAL_REFUSALS = Counter(
    "lgsp_log_seal_refusals_total",
    "Exchange-log rows the sealer refused (mac: unauthenticated or edited; below-head: inserted "
    "under the sealed head) and rounds it refused (chain-reset: the chain is behind what was "
    "sealed, or the checkpoint it signed is gone; uncovered: sealed entries no checkpoint "
    "covers, appended outside the sealer)",
    ["reason"],
    registry=REGISTRY,
)
REFUSALS = Counter(
    "lgsp_refusals_total", "Refused northbound requests by reason", ["reason"], registry=REGISTRY
)

# usage governance of the population database (seed 004, Điều 8)
OFFICER_ALERTS = Counter(
    "lgsp_officer_alerts_total",
    "Usage alerts raised about officers, by kind (spike)",
    ["kind"],
    registry=REGISTRY,
)
OFFICER_LOOKUPS = Counter(
    "lgsp_officer_lookups_total",
    "Authorised population-database look-ups by the officer's unit",
    ["unit"],
    registry=REGISTRY,
)


def observe_upstream(connector: str, seconds: float, ok: bool) -> None:
    UPSTREAM_LATENCY.labels(connector, "true" if ok else "false").observe(seconds)
