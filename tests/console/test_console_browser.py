"""The ops console in a real browser (issue 20): Debian's Chromium, driven by Playwright's
Python package pointed at the system browser (no browser download).

Real processes: ``lgsp sandbox`` plays the platforms and ``lgsp serve`` is the gateway. The
DVCQG simulator refuses every call until a dossier's delivery is dead-lettered; the portal
comes back; the person on call logs in, sees every connector, finds the dead letter and
replays it from the page with a reason; it is delivered, and the replay is in the exchange log
with the actor and the reason. Every request the browser makes is recorded: none leaves
127.0.0.1 (the console works on a network with no internet). Screenshots are saved under the
test's output directory (``tmp_path``; their paths are printed).
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.core.registry import load_specs
from tests.e2e import procs
from tests.factories import dossier, ma_ho_so

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: what the machine's probe found Chromium needs here: no sandbox as root, and no background
#: networking (the machine's closed network refuses it)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REASON = "Cổng DVCQG đã hoạt động lại"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module (~0.8 s of CPU a launch); each test opens a context of its
    own (cookies, storage, pages), as a new browser would have."""
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a dev dependency
        pytest.skip("the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def _wait(what: str, check: Any, *, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds:.0f} s")


def test_the_person_on_call_replays_a_dead_letter_from_the_page(
    tmp_path: Path, browser: Any
) -> None:
    sandbox_port = procs.free_port()
    db_file = tmp_path / "console.db"
    env = procs.gateway_env(
        database_url=f"sqlite+aiosqlite:///{db_file}",
        sandbox_port=sandbox_port,
        extra={
            "LGSP_DELIVERY__MAX_ATTEMPTS": "2",
            "LGSP_DELIVERY__BREAKER_FAILURE_THRESHOLD": "50",
        },
    )
    logs = tmp_path / "logs"
    key = procs.create_client_key(env, "truc-ca", ["ops:read", "ops:admin", "dvcqg:sync"])
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with (
        procs.sandbox(env, logs, sandbox_port) as sandbox,
        procs.server(env, logs) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as api,
    ):
        headers = {"Authorization": f"Bearer {key}"}
        # the portal refuses everything: the dossier's delivery gives up after two attempts
        faults = httpx.put(f"{sandbox.base_url}/dvcqg/_sandbox/faults", json={"error_rate": 1.0})
        assert faults.status_code == 200
        accepted = api.post("/v1/dvcqg/dossiers", json=dossier(7), headers=headers)
        assert accepted.status_code == 202, accepted.text
        exchange = accepted.json()["exchange_id"]
        _wait(
            "the dead letter",
            lambda: api.get("/v1/dlq", headers=headers).json()["items"],
        )
        cleared = httpx.put(f"{sandbox.base_url}/dvcqg/_sandbox/faults", json={})
        assert cleared.status_code == 200

        requested: list[str] = []
        context = browser.new_context(locale="vi-VN", viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{server.base_url}/ops")
        assert page.url.startswith(f"{server.base_url}/ops/login")
        page.fill('input[name="key"]', key)
        page.click('button[type="submit"]')
        page.wait_for_url(f"{server.base_url}/ops")

        # every connector, each in a row with its state
        rows = page.locator("tr.connector")
        rows.first.wait_for()
        slugs = rows.evaluate_all("rows => rows.map(r => r.dataset.slug)")
        assert slugs == list(load_specs())
        dvcqg = page.locator('tr.connector[data-slug="dvcqg"]')
        assert dvcqg.get_attribute("data-state") == "degraded"  # a dead letter
        assert dvcqg.locator("td.dead").inner_text().strip() == "1"
        assert page.locator("#who").inner_text() == "truc-ca"
        overview = shots / "console-overview.png"
        page.screenshot(path=str(overview), full_page=True)
        print(f"screenshot: {overview}")

        # the dead letter, from the connector's row, replayed with a reason
        dvcqg.locator("td.dead a").click()
        page.wait_for_url("**/ops/dlq?connector=dvcqg")
        row = page.locator(f'tr.dead-letter[data-exchange="{exchange}"]')
        assert ma_ho_so(7) in row.inner_text()
        row.locator('form[action$="/replay"] input[name="reason"]').fill(REASON)
        row.locator('button[name="replay"]').click()
        done = page.locator(f'tr.dead-letter[data-exchange="{exchange}"] .done')
        done.wait_for()
        assert done.inner_text() == "Đã xếp hàng gửi lại"
        replayed = shots / "console-replayed.png"
        page.screenshot(path=str(replayed), full_page=True)
        print(f"screenshot: {replayed}")

        # delivered: the portal holds the dossier
        held = _wait(
            "the delivery after the replay",
            lambda: httpx.get(f"{sandbox.base_url}/dvcqg/_sandbox/dossiers")
            .json()
            .get(ma_ho_so(7)),
        )
        assert held["history"] == [2]
        assert _wait(
            "the exchange delivered",
            lambda: api.get(f"/v1/exchanges/{exchange}", headers=headers).json()["state"]
            == "delivered",
        )
        page.goto(f"{server.base_url}/ops")
        assert page.locator('tr.connector[data-slug="dvcqg"] td.dead').inner_text().strip() == "0"
        context.close()
        stopped = server.terminate()
        assert stopped in (0, -15), server.stderr_tail()

    # the replay is in the exchange log, with who and why
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        decisions = conn.execute(
            "SELECT operation, parent_id, client, purpose FROM exchange_entries "
            "WHERE kind = 'decision' ORDER BY id"
        ).fetchall()
    assert decisions == [("dlq:replay", exchange, "console:truc-ca", REASON)]
    # nothing the browser asked for left this machine: no CDN, no font, no telemetry
    outside = [u for u in requested if not u.startswith(server.base_url)]
    assert not outside, outside
    assert any(u.endswith("/ops/static/htmx-2.0.11.min.js") for u in requested)


def test_swagger_ui_and_redoc_render_with_nothing_from_outside(
    tmp_path: Path, browser: Any
) -> None:
    """The API's documentation in the browser, offline (issue 21): both render every
    operation from the gateway's own assets; no request leaves the machine."""
    env = procs.gateway_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/docs.db", sandbox_port=procs.free_port()
    )
    with procs.server(env, tmp_path / "logs") as server:
        context = browser.new_context()
        page = context.new_page()
        requested: list[str] = []
        blocked: dict[str, str] = {}
        page.on("request", lambda request: requested.append(request.url))
        page.on("requestfailed", lambda request: blocked.update({request.url: request.failure}))
        page.goto(f"{server.base_url}/docs")
        page.locator("#operations-dvcqg-dvcqg-sync-dossier").wait_for()
        assert page.locator("button.authorize").count() == 1  # the bearer scheme
        page.screenshot(path=str(tmp_path / "swagger-ui.png"))
        page.goto(f"{server.base_url}/redoc")
        page.locator('[data-section-id="operation/dvcqg-sync-dossier"]').wait_for()
        page.screenshot(path=str(tmp_path / "redoc.png"))
        context.close()
    outside = [u for u in requested if not u.startswith((server.base_url, "data:", "blob:"))]
    # ReDoc's footer asks a CDN for its logo: the page's policy stops it in the browser, so
    # it never leaves the machine (and ReDoc hides the logo)
    assert all(blocked.get(u) == "csp" for u in outside), (outside, blocked)
