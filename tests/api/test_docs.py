"""The API's documentation works on a network with no internet (issue 21): Swagger UI and
ReDoc come with their assets from the gateway, and the document says how to authenticate and
what every error looks like."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.api.docs import api_routes, guard
from gateway.core.runtime import Gateway
from tests.conftest import serving


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", ["/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"]),
        ("/redoc", ["/docs/assets/redoc.standalone.js"]),
    ],
)
async def test_the_docs_are_served_with_their_own_assets(
    gateway: Gateway, page: str, assets: list[str]
) -> None:
    async with serving(gateway) as api:
        html = await api.get(page)
        assert html.status_code == 200
        linked = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert set(assets) <= set(linked)
        assert not [u for u in linked if u.startswith(("http://", "https://", "//"))], linked
        assert "fonts.googleapis.com" not in html.text
        assert "'/openapi.json'" in html.text or '"/openapi.json"' in html.text
        for asset in assets:
            got = await api.get(asset)
            assert got.status_code == 200
            assert len(got.content) > 100_000


async def test_every_keyed_operation_names_its_scope_and_its_problems(gateway: Gateway) -> None:
    from gateway.api.main import create_app

    app = create_app(gateway, run_workers=False, start=False)
    document: dict[str, Any] = app.openapi()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    problem = {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in str(document)
    checked = 0
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        keyed, scope = guard(route)
        for method in route.methods or ():
            operation = document["paths"][route.path_format][method.lower()]
            responses = operation["responses"]
            if not keyed:
                assert "security" not in operation, route.path
                continue
            checked += 1
            assert operation["security"] == [{"bearer": [scope] if scope else []}]
            expected = {"401", "429"} | ({"403"} if scope else set())
            assert expected <= set(responses), (route.path, sorted(responses))
            for status in expected:
                content = responses[status]["content"]
                assert content == {"application/problem+json": {"schema": problem}}
    assert checked > 50
    # operation ids in one style
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert all(re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", i) for i in ids), ids


async def test_swagger_ui_authorize_then_try_it_out(gateway: Gateway) -> None:
    """What "Authorize" then "Try it out" sends: the bearer key, accepted."""
    from tests.conftest import bearer

    headers = await bearer(gateway, "ops:read")
    async with serving(gateway) as api:
        answered = await api.get("/v1/connectors", headers=headers)
        assert answered.status_code == 200
        refused = await api.get("/v1/connectors")
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"] == "Bearer"


async def test_headers_and_the_events_are_in_the_contract(gateway: Gateway) -> None:
    from gateway.api.main import create_app

    document: dict[str, Any] = create_app(gateway, run_workers=False, start=False).openapi()
    lookup = document["paths"]["/v1/dancu/citizens/lookup"]["post"]
    (officer,) = [p for p in lookup["parameters"] if p["name"] == "X-Officer-Id"]
    assert officer["required"] is True  # the route refuses without it (a recorded 403)
    sync = document["paths"]["/v1/dvcqg/dossiers"]["post"]
    assert [p["name"] for p in sync["parameters"]] == ["Idempotency-Key"]
    assert set(sync["responses"]["202"]["headers"]) == {
        "Location",
        "Idempotent-Replayed",
        "X-Request-Id",
    }
    assert "Retry-After" in sync["responses"]["429"]["headers"]
    webhook = document["webhooks"]["event"]["post"]
    body = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Event"}
    assert {p["name"] for p in webhook["parameters"]} == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
