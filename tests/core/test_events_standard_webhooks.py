"""Standard Webhooks, interoperable (issue 21, part 5): a generated secret is ``whsec_`` +
base64 and the official ``standardwebhooks`` library verifies our deliveries with it exactly as
printed; subscriptions from before keep their legacy secret (UTF-8 bytes as the key); a rotation
signs with the new and the previous secret until its grace period ends; altered bodies,
timestamps and ids are refused."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.core import events
from gateway.core.errors import InvalidInput, NotFound, PermanentUpstreamError
from gateway.core.events_webhook import EventDeliverer, signature, verify_webhook
from gateway.core.runtime import Gateway
from gateway.core.store import migrate
from gateway.core.store.db import EventSubscription, UtcDateTime
from gateway.core.store.state import StateStore
from tests.conftest import bearer, serving, started_gateway
from tests.core.test_events import PAYLOAD, all_settled, drain

LEGACY = "a-secret-the-case-system-chose-0123456789"
WHSEC = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")


class OfficialReceiver:
    """A case system's endpoint written with the official library: every POST is verified
    with ``standardwebhooks.Webhook(secret).verify(body, headers)``, the secret exactly as the
    gateway printed it (or, for a legacy one, its UTF-8 bytes as the key); 204 when it
    verifies, 400 when not."""

    def __init__(self) -> None:
        self.secrets: dict[str, str | bytes] = {}  # path -> secret
        self.received: list[tuple[str, dict[str, str], bytes]] = []  # path, headers, body
        self.accepted: list[Any] = []
        self.refused: list[str] = []
        self.app = Starlette(routes=[Route("/hooks/{name}", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        self.received.append((request.url.path, headers, body))
        try:
            payload = Webhook(self.secrets[request.url.path]).verify(body, headers)
        except WebhookVerificationError as exc:
            self.refused.append(str(exc))
            return Response(status_code=400)
        self.accepted.append(payload)
        return Response(status_code=204)


@pytest.fixture
def official() -> OfficialReceiver:
    return OfficialReceiver()


@pytest.fixture
async def gw(
    database_url: str, state_store: StateStore, sandbox_app: Any, official: OfficialReceiver
) -> AsyncIterator[Gateway]:
    gateway = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        transports={"events": httpx.ASGITransport(app=official.app)},
    )
    yield gateway
    await gateway.aclose()


def endpoint(name: str) -> str:
    return f"https://case.example/hooks/{name}"


async def publish(gw: Gateway) -> str:
    return await events.publish_now(
        gw, type="payment.settled", source="payment", payload=PAYLOAD, subject="H21.99-1"
    )


async def deliver_at(gw: Gateway, name: str, event_id: str, at: float) -> httpx.Request:
    """One delivery by the deliverer, its clock reading ``at``; the request it sent."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        deliverer = EventDeliverer(gw.db, gw.cipher, http, clock=lambda: at)
        await deliverer.deliver(events.OPERATION, {"subscription": name, "event_id": event_id})
    [request] = seen
    return request


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- the secret as printed, verified by the official library ----------------------------------


async def test_the_secret_the_api_prints_verifies_with_the_official_library(
    gw: Gateway, official: OfficialReceiver
) -> None:
    admin = await bearer(gw, "events:admin")
    async with serving(gw) as api:
        created = await api.post(
            "/v1/events/subscriptions",
            json={"name": "motcua", "endpoint": endpoint("motcua")},
            headers=admin,
        )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert WHSEC.fullmatch(secret), "whsec_ + standard base64 of 32 bytes"
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert created.json()["secret_format"] == "standard"
    official.secrets["/hooks/motcua"] = secret  # exactly as printed

    event_id = await publish(gw)
    await drain(gw, all_settled(gw, "delivered"))
    assert official.refused == []
    [payload] = official.accepted
    assert payload["id"] == event_id
    assert payload["data"] == PAYLOAD
    [(_, headers, body)] = official.received
    assert headers["webhook-id"] == event_id
    assert headers["content-type"] == "application/json"
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    verify_webhook(secret, headers, body)  # our own receiver's check agrees

    # altered in any signed part, the official library and ours refuse it
    stamp = int(headers["webhook-timestamp"])
    altered = [
        (headers, body.replace(b"150000", b"150001")),
        (headers, body + b" "),
        ({**headers, "webhook-timestamp": str(stamp - 1)}, body),
        ({**headers, "webhook-id": event_id + "x"}, body),
    ]
    for hdrs, content in altered:
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(secret).verify(content, hdrs)
        with pytest.raises(ValueError, match="no webhook-signature matches"):
            verify_webhook(secret, hdrs, content)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()).verify(body, headers)


async def test_a_stale_timestamp_is_refused_even_when_well_signed(
    gw: Gateway, official: OfficialReceiver
) -> None:
    _, secret = await events.subscribe(gw.db, gw.cipher, name="motcua", endpoint=endpoint("m"))
    assert secret is not None
    event_id = await publish(gw)
    now = time.time()
    stale = await deliver_at(gw, "motcua", event_id, now - 600)  # a replay, ten minutes on
    headers = dict(stale.headers)
    assert headers["webhook-timestamp"] == str(int(now - 600))
    assert headers["webhook-signature"] == signature(
        secret, event_id, headers["webhook-timestamp"], stale.content
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(stale.content, headers)
    with pytest.raises(ValueError, match="300 s from now"):
        verify_webhook(secret, headers, stale.content, now=now)
    ahead = await deliver_at(gw, "motcua", event_id, now + 600)
    with pytest.raises(WebhookVerificationError, match="too new"):
        Webhook(secret).verify(ahead.content, dict(ahead.headers))
    fresh = await deliver_at(gw, "motcua", event_id, now)
    assert Webhook(secret).verify(fresh.content, dict(fresh.headers))["id"] == event_id

    # and the receiver's refusal (400) dead-letters the delivery, as any 4xx does
    official.secrets["/hooks/m"] = secret
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=official.app)) as http:
        deliverer = EventDeliverer(gw.db, gw.cipher, http, clock=lambda: now - 600)
        with pytest.raises(PermanentUpstreamError, match="HTTP 400"):
            await deliverer.deliver(
                events.OPERATION, {"subscription": "motcua", "event_id": event_id}
            )
    assert official.refused == ["Message timestamp too old"]


async def test_chosen_secrets_standard_or_legacy(gw: Gateway) -> None:
    key = secrets.token_bytes(24)
    chosen = "whsec_" + base64.b64encode(key).decode()  # as the official tools make them
    view, generated = await events.subscribe(
        gw.db, gw.cipher, name="own-standard", endpoint=endpoint("a"), secret=chosen
    )
    assert generated is None
    assert view.secret_format == "standard"
    assert events.signing_key(chosen) == key
    legacy, _ = await events.subscribe(
        gw.db, gw.cipher, name="own-legacy", endpoint=endpoint("b"), secret=LEGACY
    )
    assert legacy.secret_format == "legacy"
    assert events.signing_key(LEGACY) == LEGACY.encode()

    event_id = await publish(gw)
    now = time.time()
    standard = await deliver_at(gw, "own-standard", event_id, now)
    assert Webhook(chosen).verify(standard.content, dict(standard.headers))["id"] == event_id
    old = await deliver_at(gw, "own-legacy", event_id, now)
    verify_webhook(LEGACY, old.headers, old.content, now=now)
    assert Webhook(LEGACY.encode()).verify(old.content, dict(old.headers))["id"] == event_id

    bad = {
        "whsec_" + "not base64 at all!!!!!!!!!!": "not base64",
        "whsec_" + base64.b64encode(secrets.token_bytes(16)).decode(): "24-64 bytes",
        "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="): "base64",
    }
    for value, reason in bad.items():
        with pytest.raises(InvalidInput) as refused:
            await events.subscribe(
                gw.db, gw.cipher, name="bad", endpoint=endpoint("c"), secret=value
            )
        [error] = refused.value.errors
        assert error.loc == "secret"
        assert reason in error.msg
        assert value not in str(refused.value) + error.msg


# --- rotation ---------------------------------------------------------------------------------


async def test_a_rotation_signs_with_both_secrets_until_the_grace_period_ends(
    gw: Gateway,
) -> None:
    await events.subscribe(gw.db, gw.cipher, name="motcua", endpoint=endpoint("m"), secret=LEGACY)
    event_id = await publish(gw)
    t0 = time.time()
    view, new = await events.rotate_secret(
        gw.db, gw.cipher, "motcua", grace=timedelta(hours=24), now=at(t0)
    )
    assert WHSEC.fullmatch(new)
    assert view.secret_format == "standard"
    assert view.previous_secret_expires_at == at(t0) + timedelta(hours=24)

    during = await deliver_at(gw, "motcua", event_id, t0 + 5)
    headers = dict(during.headers)
    stamp = headers["webhook-timestamp"]
    assert headers["webhook-signature"].split(" ") == [
        signature(new, event_id, stamp, during.content),
        signature(LEGACY, event_id, stamp, during.content),
    ]
    # a case system that switched, and one that has not yet: both accept
    assert Webhook(new).verify(during.content, headers)["id"] == event_id
    assert Webhook(LEGACY.encode()).verify(during.content, headers)["id"] == event_id
    verify_webhook(LEGACY, headers, during.content, now=t0 + 5)
    verify_webhook(new, headers, during.content, now=t0 + 5)

    ended = t0 + 24 * 3600 + 1
    after = await deliver_at(gw, "motcua", event_id, ended)
    assert after.headers["webhook-signature"] == signature(
        new, event_id, after.headers["webhook-timestamp"], after.content
    )
    verify_webhook(new, after.headers, after.content, now=ended)
    with pytest.raises(ValueError, match="no webhook-signature matches"):
        verify_webhook(LEGACY, after.headers, after.content, now=ended)

    # rotating again during a grace period: the secret replaced signs, the one before no more
    _, newer = await events.rotate_secret(
        gw.db, gw.cipher, "motcua", grace=timedelta(hours=1), now=at(t0 + 60)
    )
    again = await deliver_at(gw, "motcua", event_id, t0 + 120)
    assert again.headers["webhook-signature"].split(" ") == [
        signature(s, event_id, again.headers["webhook-timestamp"], again.content)
        for s in (newer, new)
    ]
    with pytest.raises(ValueError, match="no webhook-signature matches"):
        verify_webhook(LEGACY, again.headers, again.content, now=t0 + 120)

    # a grace of 0 cuts over at once
    cut_view, cut = await events.rotate_secret(
        gw.db, gw.cipher, "motcua", grace=timedelta(0), now=at(t0 + 180)
    )
    assert cut_view.previous_secret_expires_at is None
    single = await deliver_at(gw, "motcua", event_id, t0 + 181)
    assert single.headers["webhook-signature"] == signature(
        cut, event_id, single.headers["webhook-timestamp"], single.content
    )

    async with gw.db.sessions() as session:
        row = await session.scalar(select(EventSubscription))
    assert row is not None
    assert row.previous_key_sealed is None
    assert events.open_secret(gw.cipher, row) == cut


async def test_the_previous_key_is_sealed_and_rotation_is_refused_when_it_must_be(
    gw: Gateway,
) -> None:
    await events.subscribe(gw.db, gw.cipher, name="motcua", endpoint=endpoint("m"), secret=LEGACY)
    _, new = await events.rotate_secret(gw.db, gw.cipher, "motcua")
    async with gw.db.sessions() as session:
        row = await session.scalar(select(EventSubscription))
    assert row is not None
    assert row.previous_key_sealed is not None
    assert LEGACY.encode() not in row.previous_key_sealed
    assert new.encode() not in row.secret_sealed
    expires = row.previous_key_expires_at
    assert expires is not None
    assert abs((expires - datetime.now(UTC)) - events.DEFAULT_GRACE) < timedelta(minutes=1)

    for grace in (timedelta(seconds=-1), events.MAX_GRACE + timedelta(seconds=1)):
        with pytest.raises(InvalidInput, match="grace"):
            await events.rotate_secret(gw.db, gw.cipher, "motcua", grace=grace)
    with pytest.raises(NotFound):
        await events.rotate_secret(gw.db, gw.cipher, "nobody")
    await events.unsubscribe(gw.db, "motcua")
    with pytest.raises(NotFound):
        await events.rotate_secret(gw.db, gw.cipher, "motcua")
    # brought back, it starts afresh: a new secret, no previous one signing
    view, fresh = await events.subscribe(gw.db, gw.cipher, name="motcua", endpoint=endpoint("m"))
    assert fresh is not None
    assert view.secret_format == "standard"
    assert view.previous_secret_expires_at is None


# --- subscriptions from before: migration 0015 ------------------------------------------------


async def migrate_to(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: Any) -> None:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def columns(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        found = await conn.run_sync(lambda sync: inspect(sync).get_columns("event_subscriptions"))
    return {c["name"] for c in found}


OLD_TABLE = sa.table(
    "event_subscriptions",
    sa.column("name", sa.String),
    sa.column("endpoint", sa.String),
    sa.column("secret_sealed", sa.LargeBinary),
    sa.column("event_types", sa.JSON),
    sa.column("active", sa.Boolean),
    sa.column("created_at", UtcDateTime()),
    sa.column("updated_at", UtcDateTime()),
)


async def test_subscriptions_from_before_0015_keep_signing_with_their_legacy_secret(
    gw: Gateway, official: OfficialReceiver
) -> None:
    engine = gw.db.engine
    new_columns = {"secret_format", "previous_key_sealed", "previous_key_expires_at"}
    assert new_columns <= await columns(engine)
    await migrate_to(engine, "0014", down=True)
    assert not new_columns & await columns(engine)

    # as 0014 made them: a generated token_urlsafe secret, and one a case system chose that
    # happens to look like a Standard Webhooks one; both were signed with their UTF-8 bytes
    generated = secrets.token_urlsafe(32)
    chosen = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for name, secret in (("old-generated", generated), ("old-chosen", chosen)):
            await conn.execute(
                OLD_TABLE.insert().values(
                    name=name,
                    endpoint=endpoint(name),
                    secret_sealed=gw.cipher.encrypt(secret.encode(), events.secret_aad(name)),
                    event_types=[],
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
    await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) == migrate.head_revision()
    views = await events.list_subscriptions(gw.db)
    assert [(v.name, v.secret_format, v.previous_secret_expires_at) for v in views] == [
        ("old-chosen", "legacy", None),
        ("old-generated", "legacy", None),
    ]

    # the case systems verify as before: the secret's UTF-8 bytes are the key
    official.secrets["/hooks/old-generated"] = generated.encode()
    official.secrets["/hooks/old-chosen"] = chosen.encode()
    event_id = await publish(gw)
    await drain(gw, all_settled(gw, "delivered"))
    assert official.refused == []
    assert [p["id"] for p in official.accepted] == [event_id, event_id]
    secrets_by_path = {"/hooks/old-generated": generated, "/hooks/old-chosen": chosen}
    for path, headers, body in official.received:
        secret = secrets_by_path[path]
        verify_webhook(secret.encode(), headers, body)
        assert headers["webhook-signature"] == signature(
            secret.encode(), event_id, headers["webhook-timestamp"], body
        )
        # the string given to the library is read as base64: another key, or none at all
        with pytest.raises((WebhookVerificationError, binascii.Error)):
            Webhook(secret).verify(body, headers)
    [(_, old_headers, old_body)] = [r for r in official.received if r[0].endswith("generated")]
    verify_webhook(generated, old_headers, old_body)  # our check takes a legacy string as is

    # downgrade and upgrade again: reversible, the rows kept
    await migrate_to(engine, "0014", down=True)
    await migrate.upgrade(engine)
    assert {v.secret_format for v in await events.list_subscriptions(gw.db)} == {"legacy"}
