"""``lgsp events ...`` as an operator runs it: the secret printed once on standard output,
never listed, never logged."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.cli import main
from gateway.core import events
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store import migrate
from tests.cli.conftest import upgraded
from tests.cli.test_cli import in_thread, rows
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "lgsp.db"


@pytest.fixture
def env(db_file: Path) -> dict[str, str]:
    env = {
        "LGSP_DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
        "LGSP_ENVIRONMENT": "test",
        "LGSP_LOG_JSON": "false",
        "LGSP_LOG_LEVEL": "DEBUG",
    }
    return upgraded(env)


def lgsp(env: dict[str, str], *args: str) -> Result:
    return in_thread(CliRunner().invoke, main, list(args), env=env)


def stored_secret(env: dict[str, str], name: str) -> str:
    async def run() -> Any:
        gw = Gateway(make_settings(env["LGSP_DATABASE_URL"]))
        try:
            await migrate.upgrade(gw.db.engine)
            async with gw.db.reading() as session:
                from sqlalchemy import select

                from gateway.core.store.db import EventSubscription

                row = await session.scalar(
                    select(EventSubscription).where(EventSubscription.name == name)
                )
                assert row is not None
                return events.open_secret(gw.cipher, row)
        finally:
            await gw.aclose()

    return str(in_thread(asyncio.run, run()))


def test_subscribe_list_unsubscribe(env: dict[str, str], db_file: Path) -> None:
    created = lgsp(
        env,
        "events",
        "subscribe",
        "motcua",
        "--endpoint",
        "https://case.example/hooks",
        "--type",
        "payment.settled",
        "--type",
        "postal.delivered",
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert len(secret) >= 40
    assert "shown once" in created.stderr
    assert "payment.settled, postal.delivered" in created.stderr
    assert stored_secret(env, "motcua") == secret
    [(sealed,)] = rows(db_file, "SELECT secret_sealed FROM event_subscriptions")
    assert secret.encode() not in sealed

    listed = lgsp(env, "events", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.split("\n")[0].split("\t") == [
        "motcua",
        "active",
        "https://case.example/hooks",
        "payment.settled,postal.delivered",
        "standard",
        "-",
    ]
    as_json = lgsp(env, "events", "list", "--json")
    assert as_json.exit_code == 0, as_json.output
    (item,) = json.loads(as_json.stdout)["items"]
    assert item["name"] == "motcua"
    assert item["active"] is True
    assert item["endpoint"] == "https://case.example/hooks"
    assert item["event_types"] == ["payment.settled", "postal.delivered"]
    assert item["secret_format"] == "standard"
    assert item["previous_secret_expires_at"] is None
    datetime.fromisoformat(item["created_at"])
    assert secret not in as_json.output
    duplicate = lgsp(env, "events", "subscribe", "motcua", "--endpoint", "https://x.example/")
    assert duplicate.exit_code == 2
    assert "exists" in duplicate.stderr

    gone = lgsp(env, "events", "unsubscribe", "motcua")
    assert gone.exit_code == 0, gone.output
    assert "motcua deactivated" in gone.stdout
    assert lgsp(env, "events", "unsubscribe", "motcua").exit_code == 2
    empty = lgsp(env, "events", "list")
    assert empty.stdout == ""
    assert "motcua\tinactive" in lgsp(env, "events", "list", "--all").stdout
    assert json.loads(lgsp(env, "events", "list", "--json").stdout) == {"items": []}

    for result in (created, listed, duplicate, gone, empty):
        assert secret not in result.stderr  # the log lines and messages
    assert secret not in listed.output


def test_invalid_subscriptions_exit_2_naming_the_field(env: dict[str, str]) -> None:
    bad = lgsp(env, "events", "subscribe", "motcua", "--endpoint", "not-a-url")
    assert bad.exit_code == 2
    assert "endpoint" in bad.stderr
    typed = lgsp(
        env, "events", "subscribe", "m2", "--endpoint", "https://x.example", "--type", "A B"
    )
    assert typed.exit_code == 2
    assert "event_types[0]" in typed.stderr


def test_the_deliverer_is_not_listed_as_a_connector(env: dict[str, str]) -> None:
    listed = lgsp(env, "connectors", "list")
    assert listed.exit_code == 0, listed.output
    assert "events" not in listed.stdout
    checked = lgsp(env, "connectors", "check", "events")
    assert checked.exit_code == 0, checked.output
    assert "events: ok" in checked.stdout
    assert "0 active subscription" in checked.stdout


def delivered_once(env: dict[str, str]) -> httpx.Request:
    """Publish one event with a gateway on the CLI's database and deliver it (to a mock
    endpoint, by the outbox as in production); the request the case system received."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async def run() -> None:
        gw = Gateway(
            make_settings(env["LGSP_DATABASE_URL"]),
            transports={"events": httpx.MockTransport(answer)},
        )
        try:
            await gw.start()
            await events.publish_now(gw, type="payment.settled", source="payment", payload={})
            service = DeliveryService(gw)
            for _ in range(200):
                if seen:
                    break
                await service.run_once()
        finally:
            await gw.aclose()

    in_thread(asyncio.run, run())
    [request] = seen
    return request


def test_rotate_secret_prints_the_new_one_once_and_both_sign_meanwhile(
    env: dict[str, str],
) -> None:
    created = lgsp(env, "events", "subscribe", "motcua", "--endpoint", "https://case.example/h")
    assert created.exit_code == 0, created.output
    first = created.stdout.strip()
    assert first.startswith("whsec_")

    rotated = lgsp(env, "events", "rotate-secret", "motcua", "--grace-hours", "2")
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip()
    assert new.startswith("whsec_")
    assert new != first
    assert "shown once" in rotated.stderr
    assert "the previous secret signs too until" in rotated.stderr
    assert stored_secret(env, "motcua") == new
    for result in (created, rotated):
        assert new not in result.stderr
        assert first not in result.stderr

    [line] = lgsp(env, "events", "list").stdout.strip().split("\n")
    fields = line.split("\t")
    assert fields[4] == "standard"
    until = datetime.fromisoformat(fields[5])
    assert abs(until - datetime.now(UTC) - timedelta(hours=2)) < timedelta(minutes=1)

    # the case system verifies with the official library and the secrets exactly as printed
    request = delivered_once(env)
    headers = dict(request.headers)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, first):
        assert Webhook(secret).verify(request.content, headers) == json.loads(request.content)

    at_once = lgsp(env, "events", "rotate-secret", "motcua", "--grace-hours", "0")
    assert at_once.exit_code == 0, at_once.output
    assert "no longer signs" in at_once.stderr
    latest = at_once.stdout.strip()
    request = delivered_once(env)
    assert Webhook(latest).verify(request.content, dict(request.headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(request.content, dict(request.headers))

    unknown = lgsp(env, "events", "rotate-secret", "nobody")
    assert unknown.exit_code == 2
    assert "no active subscription" in unknown.stderr
    too_long = lgsp(env, "events", "rotate-secret", "motcua", "--grace-hours", "9999")
    assert too_long.exit_code == 2
    assert stored_secret(env, "motcua") == latest  # a refused rotation changes nothing
