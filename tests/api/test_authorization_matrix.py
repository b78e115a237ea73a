"""Every operation of the API, three ways: no key, a key without the operation's scope, a key
with it (issue 15). Built from the app's own routes, so a new route is in the matrix the day it
is added; a route that needs no key must be on the short public list below, with its reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi.routing import APIRoute

from gateway.core.clients import known_scopes
from gateway.core.runtime import Gateway
from tests.conftest import bearer

#: routes answered without a client key, and why
PUBLIC = {
    ("GET", "/healthz"): "liveness probe of the orchestrator",
    ("GET", "/readyz"): "readiness probe of the orchestrator",
    ("GET", "/metrics"): "scraped by Prometheus inside the cluster",
    ("GET", "/v1/status"): "the public notice of maintenance (seed 003, Điều 9.3)",
    ("POST", "/callbacks/dvcqg/dossiers"): "the portal's push, checked by its packet signature",
    ("POST", "/callbacks/dvcqg/citizens"): "the portal's push, checked by its packet signature",
    ("POST", "/callbacks/payment/dvcqg"): "the payment platform, checked by its checksum",
    ("POST", "/callbacks/payment/dvcqg/bill"): "the payment platform, checked by its checksum",
    ("POST", "/callbacks/postal/vnpost"): "VNPost's webhook, checked by its signature",
    ("POST", "/callbacks/qlvb/status"): "the exchange axis's status push, checked by its HMAC",
}

#: the ops console's pages: no bearer key, but a session cookie from logging in with a key that
#: holds ops:read, read again at each request; actions need ops:admin and the session's CSRF
#: token (tests/console)
CONSOLE = {
    ("GET", "/ops"): "overview",
    ("GET", "/ops/"): "redirect to /ops",
    ("GET", "/ops/login"): "the login form",
    ("POST", "/ops/login"): "logging in with a key",
    ("POST", "/ops/logout"): "logging out",
    ("GET", "/ops/fragments/connectors"): "the connectors' table, refreshed",
    ("GET", "/ops/dlq"): "dead letters",
    ("POST", "/ops/dlq/{ref}/replay"): "ops:admin",
    ("POST", "/ops/dlq/{ref}/skip"): "ops:admin",
    ("GET", "/ops/alerts"): "the connectors' alerts",
    ("POST", "/ops/alerts/{slug}/{ref}/ack"): "ops:admin",
}

#: the authorisation policy: the scope each keyed operation requires (None: any client, e.g.
#: its own exchanges). Changing a route's scope, or adding a route, means changing this table.
POLICY: dict[tuple[str, str], str | None] = {
    ("GET", "/v1/connectors"): "ops:read",
    ("GET", "/v1/dlq"): "ops:read",
    ("POST", "/v1/dlq/{ref}/replay"): "ops:dlq",
    ("POST", "/v1/dlq/{ref}/skip"): "ops:dlq",
    ("GET", "/v1/maintenance"): "ops:read",
    ("GET", "/v1/reports/availability"): "ops:read",
    ("POST", "/v1/maintenance"): "ops:admin",
    ("POST", "/v1/maintenance/{window_id}/cancel"): "ops:admin",
    ("GET", "/v1/exchanges/{exchange_id}"): None,
    ("POST", "/v1/dvcqg/dossiers"): "dvcqg:sync",
    ("POST", "/v1/dvcqg/dossiers/{ma_ho_so}/steps"): "dvcqg:sync",
    ("GET", "/v1/dvcqg/dossiers/{ma_ho_so}"): "dvcqg:read",
    ("GET", "/v1/dvcqg/procedures/{ma_tthc}"): "dvcqg:read",
    ("GET", "/v1/dvcqg/online-dossiers/{ma_ho_so}"): "dvcqg:read",
    ("GET", "/v1/dvcqg/online-dossiers/{ma_ho_so}/files/{tep_dinh_kem_id}"): "dvcqg:read",
    ("POST", "/v1/dvcqg/feedback/{ma_phan_anh}/answer"): "dvcqg:sync",
    ("POST", "/v1/dvcqg/questions/{ma_cau_hoi}/answer"): "dvcqg:sync",
    ("GET", "/v1/dvcqg/feedback"): "dvcqg:read",
    ("GET", "/v1/dvcqg/ratings"): "dvcqg:read",
    ("POST", "/v1/dvcqg/results"): "dvcqg:sync",
    ("POST", "/v1/dancu/citizens/lookup"): "dancu:lookup",
    ("POST", "/v1/dancu/citizens/verify"): "dancu:lookup",
    ("POST", "/v1/identity/{provider}/authorize"): "identity:login",
    ("POST", "/v1/identity/{provider}/callback"): "identity:login",
    ("POST", "/v1/identity/{provider}/logout"): "identity:login",
    ("GET", "/v1/identity/sessions/{session_id}/tokens"): "identity:tokens",
    ("GET", "/v1/audit/verify"): "audit:read",
    ("GET", "/v1/audit/entries/{entry_id}/body"): "audit:read",
    ("GET", "/v1/audit/reads"): "audit:read",
    ("GET", "/v1/audit/head"): "audit:read",
    ("GET", "/v1/officers"): "officers:admin",
    ("GET", "/v1/officers/{tai_khoan}"): "officers:admin",
    ("PATCH", "/v1/officers/{tai_khoan}"): "officers:admin",
    ("POST", "/v1/officers/{tai_khoan}/lock"): "officers:admin",
    ("POST", "/v1/officers/{tai_khoan}/unlock"): "officers:admin",
    ("POST", "/v1/officers"): "officers:admin",
    ("PUT", "/v1/officers/{tai_khoan}/credential"): "officers:admin",
    ("GET", "/v1/governance/usage"): "governance:read",
    ("GET", "/v1/dancu/usage"): "governance:read",
    ("GET", "/v1/governance/idle"): "governance:read",
    ("GET", "/v1/governance/alerts"): "governance:read",
    ("POST", "/v1/governance/alerts/{alert_id}/ack"): "officers:admin",
    ("POST", "/v1/events/subscriptions"): "events:admin",
    ("GET", "/v1/events/subscriptions"): "events:admin",
    ("DELETE", "/v1/events/subscriptions/{name}"): "events:admin",
    ("POST", "/v1/events/subscriptions/{name}/rotate-secret"): "events:admin",
    ("GET", "/v1/events"): "events:read",
    ("POST", "/v1/events/ack"): "events:read",
    ("POST", "/v1/payments"): "payment:create",
    ("GET", "/v1/payments/reconciliation"): "payment:read",
    ("GET", "/v1/payments/{payment_id}"): "payment:read",
    ("POST", "/v1/payments/{payment_id}/refunds"): "payment:create",
    ("GET", "/v1/payments/{payment_id}/refunds"): "payment:read",
    ("POST", "/v1/payments/{payment_id}/refunds/{refund_id}/complete"): "payment:create",
    ("POST", "/v1/payments/{payment_id}/refunds/{refund_id}/reject"): "payment:create",
    ("POST", "/v1/postal/shipments"): "postal:ship",
    ("GET", "/v1/postal/shipments"): "postal:read",
    ("GET", "/v1/postal/shipments/{shipment_id}"): "postal:read",
    ("POST", "/v1/postal/shipments/{shipment_id}/cancel"): "postal:ship",
    ("POST", "/v1/postal/quotes"): "postal:read",
    ("GET", "/v1/postal/reconciliation"): "postal:read",
    ("POST", "/v1/emc/events"): "emc:submit",
    ("POST", "/v1/emc/tracking/scan"): "emc:submit",
    ("GET", "/v1/emc/reports/{month}"): "emc:read",
    ("POST", "/v1/emc/reports/{month}/submit"): "emc:submit",
    ("POST", "/v1/qlvb/documents"): "qlvb:send",
    ("GET", "/v1/qlvb/documents/{ma_ho_so}"): "qlvb:read",
    ("POST", "/v1/esign/verify"): "esign:verify",
    ("POST", "/v1/esign/sign"): "esign:sign",
    ("GET", "/v1/esign/signatures/{signature_id}"): "esign:sign",
    ("POST", "/v1/dkdn/enterprises/lookup"): "dkdn:lookup",
}


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from _routes(route.routes)


def _guards(route: APIRoute) -> list[str]:
    names: list[str] = []

    def walk(dependant: Any) -> None:
        for sub in dependant.dependencies:
            names.append(getattr(sub.call, "__name__", ""))
            walk(sub)

    walk(route.dependant)
    return names


def _scope_of(route: APIRoute) -> str | None:
    """The scope the route requires (``require_ops_read`` -> ``ops:read``), if any."""
    for name in _guards(route):
        if name.startswith("require_"):
            wanted = name.removeprefix("require_")
            matches = [s for s in known_scopes() if s.replace(":", "_") == wanted]
            assert len(matches) == 1, f"{route.path}: unknown guard {name}"
            return matches[0]
    return None


def _operations(app: Any) -> list[tuple[str, str, str | None, bool]]:
    """``(method, path, scope, needs a key)`` of every operation."""
    found = []
    for route in _routes(app.routes):
        keyed = _scope_of(route) is not None or "current_client" in _guards(route)
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, route.path, _scope_of(route), keyed))
    return found


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "zz-unknown-1", path)


async def test_the_matrix_covers_every_operation(app: Any) -> None:
    operations = _operations(app)
    assert len(operations) > 50
    open_ones = {(m, p) for m, p, _, keyed in operations if not keyed}
    assert open_ones == set(PUBLIC) | set(CONSOLE), (
        "a route without a key must be listed in PUBLIC (or CONSOLE), or guarded"
    )
    enforced = {(m, p): scope for m, p, scope, keyed in operations if keyed}
    assert enforced == POLICY


async def test_no_key_wrong_scope_right_scope(
    app: Any, api: httpx.AsyncClient, gateway: Gateway
) -> None:
    operations = [op for op in _operations(app) if op[3]]
    keys: dict[str, dict[str, str]] = {}
    for scope in sorted({s for _, _, s, _ in operations if s is not None}):
        keys[scope] = await bearer(gateway, scope)
    outsider = await bearer(gateway, "events:read")  # a real client, holding another scope
    failures = []
    for method, path, scope, _ in operations:
        url = _url(path)
        anonymous = await api.request(method, url, json={})
        if anonymous.status_code != 401:
            failures.append(f"{method} {path} without a key: {anonymous.status_code}")
        elif anonymous.headers.get("www-authenticate") != "Bearer":
            failures.append(f"{method} {path}: 401 without WWW-Authenticate: Bearer")
        if scope is None:
            continue  # any client may ask (e.g. its own exchanges)
        wrong = outsider if scope != "events:read" else keys.get("ops:read") or outsider
        refused = await api.request(method, url, json={}, headers=wrong)
        if refused.status_code != 403:
            failures.append(f"{method} {path} without {scope}: {refused.status_code}")
        elif refused.headers["content-type"] != "application/problem+json":
            failures.append(f"{method} {path}: 403 is not a problem document")
        allowed = await api.request(method, url, json={}, headers=keys[scope])
        if allowed.status_code in (401, 403) and "X-Officer-Id" not in allowed.text:
            failures.append(f"{method} {path} with {scope}: {allowed.status_code}")
        if allowed.status_code >= 500:
            failures.append(f"{method} {path} with {scope}: {allowed.status_code} (a crash)")
    assert len(operations) > 50
    assert failures == []


async def test_a_revoked_or_malformed_key_is_refused(api: httpx.AsyncClient) -> None:
    for header in ("Bearer", "Bearer lgsp_not-a-key", "Basic dXNlcjpwYXNz", "bearer  "):
        answer = await api.get("/v1/connectors", headers={"Authorization": header})
        assert answer.status_code == 401, header
