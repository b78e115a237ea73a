"""The gateway's side of postal shipments: the status machine (pure), reports applied once,
and the poller of quiet shipments against the simulator (webhooks lost on purpose)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.postal import (
    PostalConnector,
    ShipmentEvent,
    ShipmentRequest,
    order_number,
    shipments,
)
from connectors.postal import poller as shipments_poller
from connectors.postal.status import FINAL, STATUSES, dedupe_key, moves
from gateway.core import events
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry, utcnow
from tests.connectors.postal.support import DOSSIER, postal_of, shipment

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- the status machine -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        ("requested", "created", True),
        ("created", "delivered", True),  # a report may skip steps
        ("in_transit", "picked_up", False),  # backwards
        ("in_transit", "in_transit", False),
        ("failed_delivery", "in_transit", True),  # a new attempt
        ("failed_delivery", "returned", True),
        ("delivered", "in_transit", False),
        ("cancelled", "created", False),
        ("returned", "delivered", False),
        ("created", "no_such_status", False),
    ],
)
def test_moves_by_the_status_order(current: str, new: str, expected: bool) -> None:
    assert moves(current, at(0), new, at(1)) is expected


def test_an_older_report_never_moves_a_shipment() -> None:
    assert moves("picked_up", at(10), "delivered", at(5)) is False
    assert moves("picked_up", at(10), "delivered", at(10)) is True  # same instant: by order
    assert moves("requested", None, "created", at(0)) is True


def test_every_final_status_is_last() -> None:
    for final in FINAL:
        assert not any(moves(final, at(0), s, at(1)) for s in STATUSES)


def test_the_dedupe_key_names_order_code_and_time() -> None:
    assert dedupe_key("X-delivery", "5", at(0)) == "X-delivery|5|2026-11-23T08:00:00+00:00"


# --- reports ----------------------------------------------------------------------------------


def report(status: str | None, code: str, minutes: int) -> ShipmentEvent:
    return ShipmentEvent(
        order_number=f"{DOSSIER}-delivery",
        item_code="EH000000001VN",
        status=status,
        platform_code=code,
        message="",
        at=at(minutes),
    )


async def opened(gateway: Gateway) -> dict[str, Any]:
    request = ShipmentRequest.model_validate(shipment())
    result = await shipments.open_shipment(
        gateway,
        ma_ho_so=request.ma_ho_so,
        flow=request.flow,
        order_number=order_number(request.ma_ho_so, request.flow),
        agency=request.ma_dvc,
        cod_amount=request.tien_thu_ho,
        receiver="N. V. A.",
        payload=request.model_dump(mode="json"),
    )
    assert result.created
    return result.shipment


async def test_reports_apply_once_in_order_and_publish_events(gateway: Gateway) -> None:
    view = await opened(gateway)
    outcomes = []
    for r in (
        report("created", "1", 0),
        report("delivered", "5", 30),
        report("delivered", "5", 30),  # the same report again
        report("in_transit", "3", 20),  # late: kept as history only
        report(None, "42", 40),  # a code nobody maps: kept, changes nothing
    ):
        applied = await shipments.apply_report(gateway, r, source="poll")
        outcomes.append(applied.outcome)
    assert outcomes == ["applied", "applied", "duplicate", "recorded", "recorded"]
    got = await shipments.get(gateway, view["shipment_id"])
    assert got["status"] == "delivered"
    assert got["delivered_at"] == events.iso(at(30))
    assert got["platform_order_id"] == "EH000000001VN"
    page = await events.read_inbox(gateway.db, gateway.cipher, client="t", after=0)
    assert [e["type"] for e in page.events] == ["postal.created", "postal.delivered"]
    assert page.events[1]["occurred_at"] == events.iso(at(30))


async def test_an_unknown_order_changes_nothing(gateway: Gateway) -> None:
    with pytest.raises(shipments.ShipmentUnknown):
        await shipments.apply_report(gateway, report("created", "1", 0), source="poll")


# --- the poller of quiet shipments ------------------------------------------------------------


@pytest.fixture
async def platform(sandbox_app: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as client:
        yield client


def postal(gateway: Gateway) -> PostalConnector:
    connector = gateway.connector("postal")
    assert isinstance(connector, PostalConnector)
    return connector


async def test_quiet_shipments_are_polled(
    gateway: Gateway, sandbox_app: Any, platform: httpx.AsyncClient
) -> None:
    """Every webhook is lost; only the poller learns that the parcel was delivered."""
    sim = postal_of(sandbox_app, platform)
    sim.sim.config = sim.sim.config.model_copy(update={"lose_webhooks": True})
    view = await opened(gateway)
    connector = postal(gateway)
    (job,) = connector.periodic_jobs(gateway)
    assert job.name == "quiet_shipments"
    quiet = connector.config.quiet_after_seconds

    # nothing is quiet yet: a shipment just asked for is not polled
    assert await job.run() == 0
    later = utcnow() + timedelta(seconds=quiet + 1)
    # its creation is still in the outbox: the platform knows no such order yet
    assert (
        await shipments_poller.poll_quiet(
            gateway, track=connector.track, quiet_after_seconds=quiet, now=later
        )
        == 1
    )
    assert (await shipments.get(gateway, view["shipment_id"]))["status"] == "requested"

    payload = ShipmentRequest.model_validate(shipment()).model_dump(mode="json")
    await connector.deliver("create_order", payload)
    number = f"{DOSSIER}-delivery"
    for _ in range(4):
        assert (await platform.post(f"/postal/_sandbox/orders/{number}/advance")).status_code == 200
    assert all(w["pushed"] == "lost" for w in sim.sim.webhooks)

    # polled a moment ago: not again in this quiet period
    assert (
        await shipments_poller.poll_quiet(
            gateway, track=connector.track, quiet_after_seconds=quiet, now=later
        )
        == 0
    )
    much_later = later + timedelta(seconds=quiet + 1)
    assert (
        await shipments_poller.poll_quiet(
            gateway, track=connector.track, quiet_after_seconds=quiet, now=much_later
        )
        == 1
    )
    got = await shipments.get(gateway, view["shipment_id"])
    assert got["status"] == "delivered"
    assert {h["source"] for h in got["history"]} == {"api", "poll"}
    assert got["last_polled_at"] == events.iso(much_later)
    # a final shipment is never polled again
    assert (
        await shipments_poller.poll_quiet(
            gateway,
            track=connector.track,
            quiet_after_seconds=quiet,
            now=much_later + timedelta(days=30),
        )
        == 0
    )
    async with gateway.db.reading() as session:
        polls = (
            await session.scalars(
                select(ExchangeEntry).where(
                    ExchangeEntry.kind == "inbound", ExchangeEntry.operation == "poll_tracking"
                )
            )
        ).all()
    assert [p.client for p in polls] == [shipments_poller.POLLER_CLIENT] * 2


async def test_the_core_runs_the_poller_with_a_lease(gateway: Gateway) -> None:
    service = DeliveryService(gateway)
    jobs = [(slug, job) for slug, job in service.periodic_jobs() if slug == "postal"]
    assert [job.name for _, job in jobs] == ["quiet_shipments"]
    slug, job = jobs[0]
    assert await service.run_job_once(slug, job) == 0
    assert await service.run_job_once(slug, job) is None  # the lease holds this interval


async def test_a_failing_platform_ends_the_round_without_raising(
    gateway: Gateway, platform: httpx.AsyncClient
) -> None:
    view = await opened(gateway)
    connector = postal(gateway)
    quiet = connector.config.quiet_after_seconds
    later = utcnow() + timedelta(seconds=quiet + 1)
    assert (await platform.put("/postal/_sandbox/faults", json={"error_rate": 1.0})).is_success
    tracked = await shipments_poller.poll_quiet(
        gateway, track=connector.track, quiet_after_seconds=quiet, now=later
    )
    assert tracked == 0
    got = await shipments.get(gateway, view["shipment_id"])
    assert got["last_polled_at"] is None  # not polled: it is tried again next round
    async with gateway.db.reading() as session:
        failed = (
            await session.scalars(
                select(ExchangeEntry.outcome).where(
                    ExchangeEntry.kind == "inbound", ExchangeEntry.operation == "poll_tracking"
                )
            )
        ).all()
    assert list(failed) == ["upstream-unavailable"]
