"""Usage governance on generated histories (seed 004, Điều 8): spikes, idle officers, and the
usage report counted against the exchange log."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from connectors.dancu import governance, officers
from connectors.dancu.tables import GovernanceAlert
from gateway.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.core.local_time import TZ, local_day, month_bounds
from gateway.core.metrics import REGISTRY
from gateway.core.runtime import Gateway
from gateway.core.settings import GovernanceSettings, Settings
from gateway.core.store.db import ExchangeEntry, utcnow
from tests.officer_factories import (
    UNIT_A,
    UNIT_B,
    backdate,
    daily_lookups,
    insert,
    local_noon,
    lookup,
    random_counts,
    register_officer,
)

DEFAULTS = GovernanceSettings()


# --- the pure rules ---------------------------------------------------------------------------


def test_median() -> None:
    assert governance.median([]) == 0.0
    assert governance.median([5]) == 5.0
    assert governance.median([3, 1, 2]) == 2.0
    assert governance.median([4, 1, 3, 2]) == 2.5


def test_the_ceiling_always_applies() -> None:
    assert governance.spike_verdict(199, [], DEFAULTS) is None
    verdict = governance.spike_verdict(200, [], DEFAULTS)
    assert verdict is not None
    assert (verdict.rule, verdict.threshold, verdict.median) == ("ceiling", 200.0, None)
    assert governance.spike_verdict(500, [300] * 28, DEFAULTS) is not None


def test_the_median_rule_needs_a_week_of_history_and_the_daily_minimum() -> None:
    # six days known: only the ceiling applies however quiet they were
    assert governance.spike_verdict(150, [1] * 6, DEFAULTS) is None
    verdict = governance.spike_verdict(150, [1] * 7, DEFAULTS)
    assert verdict is not None
    assert (verdict.rule, verdict.median, verdict.threshold) == ("median", 1.0, 5.0)
    # below spike_min_daily nothing alerts, whatever the multiple
    assert governance.spike_verdict(19, [0] * 28, DEFAULTS) is None
    assert governance.spike_verdict(20, [0] * 28, DEFAULTS) is not None


def test_the_median_rule_is_strictly_above_the_multiple() -> None:
    history = [10] * 28  # threshold 50
    assert governance.spike_verdict(50, history, DEFAULTS) is None
    verdict = governance.spike_verdict(51, history, DEFAULTS)
    assert verdict is not None
    assert verdict.threshold == 50.0


def test_zero_days_count_in_the_median() -> None:
    # ten busy days out of 28: the median is 0, so a day of 20 is a spike
    history = [0] * 18 + [40] * 10
    assert governance.baseline(history, DEFAULTS) == 0.0
    assert governance.spike_verdict(20, history, DEFAULTS) is not None
    # fifteen busy days: the median is 40
    assert governance.spike_verdict(199, [0] * 13 + [40] * 15, DEFAULTS) is None


def test_only_the_trailing_window_counts() -> None:
    old_busy = [100] * 60 + [2] * 28
    assert governance.baseline(old_busy, DEFAULTS) == 2.0
    narrow = GovernanceSettings(spike_trailing_days=7)
    assert governance.baseline([50] * 10 + [1] * 7, narrow) == 1.0


def test_history_starts_at_registration_and_fills_zeros() -> None:
    day = date(2026, 3, 15)
    counts = {date(2026, 3, 10): 4, date(2026, 3, 14): 2, date(2026, 2, 1): 9}
    history = governance.history_for(
        counts, day=day, registered_on=date(2026, 3, 10), trailing_days=28
    )
    assert history == [4, 0, 0, 0, 2]
    full = governance.history_for(counts, day=day, registered_on=None, trailing_days=28)
    assert len(full) == 28
    assert sum(full) == 6  # 1 February is outside the window
    assert governance.history_for(counts, day=day, registered_on=day, trailing_days=28) == []


@pytest.mark.parametrize("seed", range(20))
def test_generated_histories_alert_above_the_multiple_only(seed: int) -> None:
    rng = random.Random(seed)
    level = rng.randint(1, 30)
    history = [max(0, level + rng.randint(-1, 1)) for _ in range(28)]
    base = governance.median(history)
    threshold = 5.0 * base
    quiet = min(int(threshold), 199)
    assert governance.spike_verdict(quiet, history, DEFAULTS) is None
    loud = max(int(threshold) + 1, 20)
    verdict = governance.spike_verdict(loud, history, DEFAULTS)
    assert verdict is not None
    assert verdict.rule == ("ceiling" if loud >= 200 else "median")


def test_idle_is_measured_in_whole_days() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert governance.is_idle(now - timedelta(days=365), now, 365)
    assert not governance.is_idle(now - timedelta(days=364, hours=23), now, 365)


def test_local_days_and_months_are_vietnamese_time() -> None:
    assert local_day(datetime(2026, 2, 28, 17, 0, tzinfo=UTC)) == date(2026, 3, 1)
    assert local_day(datetime(2026, 2, 28, 16, 59, tzinfo=UTC)) == date(2026, 2, 28)
    start, end = month_bounds("2026-12")
    assert start == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    for bad in ("2026-13", "2026-1", "March", ""):
        with pytest.raises(InvalidInput) as caught:
            month_bounds(bad)
        assert caught.value.errors[0].loc == "month"


# --- spikes in the exchange log ---------------------------------------------------------------


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def alerts_in_db(gw: Gateway) -> list[GovernanceAlert]:
    async with gw.db.sessions() as session:
        return list((await session.scalars(select(GovernanceAlert))).all())


async def test_scan_spikes_by_ceiling_and_by_median_on_generated_history(
    gateway: Gateway,
) -> None:
    settings = GovernanceSettings(spike_daily_ceiling=60)
    day = date(2026, 3, 20)
    registered = local_noon(date(2026, 1, 1))
    for n in (1, 2, 3, 4):
        await register_officer(gateway, n)
        await backdate(gateway, f"canbo.{n:03d}", registered)
    await backdate(gateway, "canbo.004", local_noon(day - timedelta(days=3)))
    entries = [
        # 1: two to four a day for six weeks, then 30: above 5 x the median (<= 15)
        *daily_lookups(gateway, "canbo.001", [*random_counts(1, 42, 2, 4), 30], last_day=day),
        # 2: a steady 10 a day, then 12: no spike
        *daily_lookups(gateway, "canbo.002", [*random_counts(2, 42, 9, 11), 12], last_day=day),
        # 3: quiet, then 60: the ceiling
        *daily_lookups(gateway, "canbo.003", [*random_counts(3, 42, 40, 50), 60], last_day=day),
        # 4: registered three days ago: 45 is no spike without a week of history
        *daily_lookups(gateway, "canbo.004", [1, 1, 1, 45], last_day=day),
    ]
    await insert(gateway, entries)
    before = metric("lgsp_officer_alerts_total", kind="spike")

    alerts = await governance.scan_spikes(gateway.db, day=day, settings=settings)
    by_officer = {a.officer: a for a in alerts}
    assert sorted(by_officer) == ["canbo.001", "canbo.003"]
    assert by_officer["canbo.001"].rule == "median"
    assert by_officer["canbo.001"].count == 30
    assert by_officer["canbo.001"].median is not None
    assert by_officer["canbo.001"].median <= 4
    assert by_officer["canbo.003"].rule == "ceiling"
    assert all(a.day == day and a.kind == "spike" and not a.locked for a in alerts)
    assert metric("lgsp_officer_alerts_total", kind="spike") == before + 2

    # scanning again (or another process scanning) raises nothing new
    again = await governance.scan_spikes(gateway.db, day=day, settings=settings)
    assert sorted(a.id for a in again) == sorted(a.id for a in alerts)
    assert len(await alerts_in_db(gateway)) == 2
    assert metric("lgsp_officer_alerts_total", kind="spike") == before + 2
    # the day before was ordinary for everyone
    assert (
        await governance.scan_spikes(gateway.db, day=day - timedelta(days=1), settings=settings)
        == []
    )


async def test_scan_spikes_locks_when_configured(gateway: Gateway) -> None:
    settings = GovernanceSettings(spike_daily_ceiling=25, spike_auto_lock=True)
    day = date(2026, 4, 2)
    await register_officer(gateway, 1)
    await insert(gateway, daily_lookups(gateway, "canbo.001", [25], last_day=day))
    (alert,) = await governance.scan_spikes(gateway.db, day=day, settings=settings)
    assert alert.locked
    view = await officers.get(db=gateway.db, tai_khoan="canbo.001")
    assert view.status == "locked"
    assert view.history[-1].actor == "governance:spike"
    assert "Điều 8" in (view.status_reason or "")


@contextmanager
def counting_statements(gw: Gateway) -> Iterator[list[str]]:
    seen: list[str] = []

    def on_execute(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(gw.db.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(gw.db.engine.sync_engine, "before_cursor_execute", on_execute)


async def test_note_lookup_alerts_once_and_stays_off_the_database(gateway: Gateway) -> None:
    today = local_day(utcnow())
    await register_officer(gateway, 1, don_vi=UNIT_B)
    await backdate(gateway, "canbo.001", local_noon(today - timedelta(days=12)))
    # registered 12 days ago, two look-ups a day for the last 10: median 2 (the two quiet days
    # since registration count as zeros), so the median rule fires at spike_min_daily (20)
    history = daily_lookups(gateway, "canbo.001", [2] * 10, last_day=today - timedelta(days=1))
    await insert(gateway, history)
    officer = await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.001")
    alerts_before = metric("lgsp_officer_alerts_total", kind="spike")
    lookups_before = metric("lgsp_officer_lookups_total", unit=UNIT_B)

    with counting_statements(gateway) as below:
        for _ in range(19):
            await governance.note_lookup(gateway, officer)
    assert below == []  # the hot path: one state-store increment each
    assert await alerts_in_db(gateway) == []

    await governance.note_lookup(gateway, officer)  # the 20th
    (alert,) = await alerts_in_db(gateway)
    assert (alert.officer, alert.day, alert.rule, alert.count) == ("canbo.001", today, "median", 20)
    assert (alert.median, alert.threshold) == (2.0, 10.0)
    assert not alert.locked

    with counting_statements(gateway) as after:
        for _ in range(250):  # past the ceiling too: still the one alert of the day
            await governance.note_lookup(gateway, officer)
    assert after == []  # the baseline is cached and the alert already raised
    assert len(await alerts_in_db(gateway)) == 1
    assert metric("lgsp_officer_alerts_total", kind="spike") == alerts_before + 1
    assert metric("lgsp_officer_lookups_total", unit=UNIT_B) == lookups_before + 270


async def test_note_lookup_without_history_alerts_at_the_ceiling_only(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway.settings, "governance", GovernanceSettings(spike_daily_ceiling=30))
    await register_officer(gateway, 1)
    officer = await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.001")
    for _ in range(29):
        await governance.note_lookup(gateway, officer)
    assert await alerts_in_db(gateway) == []  # 29: far above a zero median, but a new officer
    await governance.note_lookup(gateway, officer)
    (alert,) = await alerts_in_db(gateway)
    assert (alert.rule, alert.count) == ("ceiling", 30)


async def test_note_lookup_locks_the_officer_when_configured(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        gateway.settings,
        "governance",
        GovernanceSettings(spike_daily_ceiling=25, spike_auto_lock=True),
    )
    await register_officer(gateway, 1)
    officer = await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.001")
    for _ in range(25):
        await governance.note_lookup(gateway, officer)
    (alert,) = await alerts_in_db(gateway)
    assert alert.locked
    with pytest.raises(Forbidden, match="is locked: automatic lock on a spike"):
        await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.001")
    view = await officers.get(db=gateway.db, tai_khoan="canbo.001")
    assert (view.history[-1].kind, view.history[-1].actor) == ("locked", "governance:spike")


async def test_alerts_are_listed_and_acknowledged_once(gateway: Gateway) -> None:
    settings = GovernanceSettings(spike_daily_ceiling=21)
    for n in (1, 2):
        await register_officer(gateway, n)
        await insert(
            gateway, daily_lookups(gateway, f"canbo.{n:03d}", [21], last_day=date(2026, 5, 1))
        )
    alerts = await governance.scan_spikes(gateway.db, day=date(2026, 5, 1), settings=settings)
    assert len(alerts) == 2
    first = alerts[0]
    done = await governance.acknowledge_alert(
        gateway.db, alert_id=first.id, actor="admin", note="đợt cấp đổi CCCD"
    )
    assert (done.acknowledged_by, done.acknowledged_note) == ("admin", "đợt cấp đổi CCCD")
    assert done.acknowledged_at is not None
    with pytest.raises(Conflict, match="acknowledged by admin"):
        await governance.acknowledge_alert(gateway.db, alert_id=first.id, actor="other")
    with pytest.raises(NotFound):
        await governance.acknowledge_alert(gateway.db, alert_id=999_999, actor="admin")
    open_ = await governance.list_alerts(gateway.db, open_only=True)
    assert [a.id for a in open_] == [alerts[1].id]
    assert len(await governance.list_alerts(gateway.db)) == 2
    assert [a.officer for a in await governance.list_alerts(gateway.db, officer="canbo.002")] == [
        "canbo.002"
    ]


# --- idle officers ----------------------------------------------------------------------------


async def test_idle_officers_on_generated_histories_and_lock_idle(gateway: Gateway) -> None:
    now = utcnow()
    long_ago = now - timedelta(days=500)
    for n in range(1, 7):
        await register_officer(gateway, n)
        await backdate(gateway, f"canbo.{n:03d}", long_ago)
    await backdate(gateway, "canbo.004", now - timedelta(days=10))  # new

    def history(login: str, last: datetime, days: int = 90) -> list[ExchangeEntry]:
        rng = random.Random(login)
        return [
            lookup(gateway, login, last - timedelta(days=d, minutes=d and rng.randint(0, 600)))
            for d in range(days)
            if d == 0 or rng.random() < 0.5
        ]

    await insert(
        gateway,
        [
            *history("canbo.001", now - timedelta(days=400)),  # idle for 400 days
            *history("canbo.002", now - timedelta(days=30)),  # busy until a month ago
            # 3: never looked anything up since registering 500 days ago: idle
            *history("canbo.005", now - timedelta(days=400)),  # idle, but unlocked below
            *history("canbo.006", now - timedelta(days=400)),  # idle, but already locked
            # a refusal or another connector's entry is no look-up
            lookup(gateway, "canbo.001", now - timedelta(days=5), kind="refusal"),
            lookup(gateway, "canbo.001", now - timedelta(days=5), connector="dvcqg"),
        ],
    )
    await officers.lock(db=gateway.db, tai_khoan="canbo.005", reason="tạm khóa", actor="a")
    await officers.unlock(db=gateway.db, tai_khoan="canbo.005", reason="mở lại", actor="a")
    await officers.lock(db=gateway.db, tai_khoan="canbo.006", reason="nghỉ hưu", actor="a")

    idle = await governance.idle_officers(gateway.db, now=now, idle_days=365)
    assert [i.tai_khoan for i in idle] == ["canbo.001", "canbo.003"]
    first, third = idle
    assert first.last_lookup_at is not None
    assert abs(first.last_lookup_at - (now - timedelta(days=400))) < timedelta(seconds=1)
    assert first.idle_days == 400
    assert third.last_lookup_at is None
    assert third.idle_days == 500
    # a shorter period finds the one busy until a month ago too
    assert [
        i.tai_khoan for i in await governance.idle_officers(gateway.db, now=now, idle_days=30)
    ] == [
        "canbo.001",
        "canbo.002",
        "canbo.003",
    ]

    locked = await governance.lock_idle(gateway.db, now=now, idle_days=365, actor="cli:admin")
    assert [i.tai_khoan for i in locked] == ["canbo.001", "canbo.003"]
    view = await officers.get(db=gateway.db, tai_khoan="canbo.001")
    assert view.status == "locked"
    assert "no look-up for 400 days" in (view.status_reason or "")
    assert "seed 004, Điều 8" in (view.status_reason or "")
    assert view.history[-1].actor == "cli:admin"
    assert await governance.idle_officers(gateway.db, now=now, idle_days=365) == []
    assert await governance.lock_idle(gateway.db, now=now, idle_days=365, actor="x") == []
    with pytest.raises(InvalidInput):
        await governance.idle_officers(gateway.db, now=now, idle_days=0)


# --- the usage report -------------------------------------------------------------------------


async def test_the_usage_report_matches_an_independent_count_of_the_log(
    gateway: Gateway,
) -> None:
    rng = random.Random(2026)
    march = datetime(2026, 3, 1, tzinfo=TZ)
    logins = ["canbo.001", "canbo.002", "canbo.003", "canbo.004"]
    for n, unit in zip((1, 2, 3, 4), (UNIT_A, UNIT_A, UNIT_B, UNIT_B), strict=True):
        await register_officer(gateway, n, don_vi=unit)
    await backdate(gateway, "canbo.004", datetime(2026, 4, 10, tzinfo=UTC))  # after March
    entries = []
    # three months of traffic, including look-ups that are not the officers' (other
    # connectors, attempts) and a login nobody registered (an ID number, to be masked)
    for _ in range(1500):
        at = march - timedelta(days=31) + timedelta(seconds=rng.randint(0, 92 * 86400))
        login = rng.choice([*logins[:3], "canbo.001", "001090000777"])
        kind = rng.choices(["inbound", "refusal", "attempt"], [8, 2, 1])[0]
        entries.append(
            lookup(
                gateway,
                login,
                at,
                kind=kind,
                outcome=rng.choice(["answered", "answered", "not-found", "upstream-rejected"]),
                operation=rng.choice(["lookup_citizen", "verify_citizen", "check"]),
                connector=rng.choices(["dancu", "dvcqg"], [9, 1])[0],
            )
        )
    # the edges of March in local time
    entries.append(lookup(gateway, "canbo.002", datetime(2026, 2, 28, 17, 0, tzinfo=UTC)))
    entries.append(lookup(gateway, "canbo.002", datetime(2026, 2, 28, 16, 59, 59, tzinfo=UTC)))
    entries.append(lookup(gateway, "canbo.002", datetime(2026, 3, 31, 16, 59, 59, tzinfo=UTC)))
    entries.append(lookup(gateway, "canbo.002", datetime(2026, 3, 31, 17, 0, tzinfo=UTC)))
    await insert(gateway, entries)

    report = await governance.usage(gateway.db, month="2026-03")

    # the independent count: every row of the log, read back and classified here
    async with gateway.db.sessions() as session:
        rows = (await session.scalars(select(ExchangeEntry))).all()
    expected: dict[str, Counter[str]] = {}
    for row in rows:
        local = row.started_at.astimezone(TZ)
        if (local.year, local.month) != (2026, 3) or row.connector != "dancu":
            continue
        if row.kind == "inbound" and row.operation in ("lookup_citizen", "verify_citizen"):
            column = "answered" if row.outcome == "answered" else "failed"
        elif row.kind == "refusal":
            column = "refused"
        else:
            continue
        login = "001******777" if row.officer_id == "001090000777" else str(row.officer_id)
        expected.setdefault(login, Counter())[column] += 1

    got = {r.tai_khoan: r for r in report.rows}
    assert set(got) == set(expected)
    for login, counts in expected.items():
        row = got[login]
        assert (row.answered, row.failed, row.refused) == (
            counts["answered"],
            counts["failed"],
            counts["refused"],
        ), login
    assert got["001******777"].don_vi == "(unregistered)"
    assert "canbo.004" not in got  # registered after March, and no look-up in it
    assert got["canbo.001"].don_vi == UNIT_A
    # the unit subtotals and the total add up
    for unit in report.units:
        members = [r for r in report.rows if r.don_vi == unit.don_vi]
        assert unit.officers == len(members)
        assert unit.total == sum(r.total for r in members)
        assert unit.answered == sum(r.answered for r in members)
    assert report.totals.total == sum(sum(c.values()) for c in expected.values())
    assert [u.don_vi for u in report.units] == [UNIT_B, UNIT_A, "(unregistered)"]

    # the CSV says the same
    lines = list(csv.DictReader(io.StringIO(governance.usage_csv(report))))
    officer_lines = {line["tai_khoan"]: line for line in lines if line["row"] == "officer"}
    for login, row in got.items():
        assert int(officer_lines[login]["total"]) == row.total
    (total,) = [line for line in lines if line["row"] == "total"]
    assert int(total["total"]) == report.totals.total
    assert len([line for line in lines if line["row"] == "unit"]) == len(report.units)


async def test_the_usage_report_lists_idle_officers_with_zeros(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    month = local_day(utcnow()).strftime("%Y-%m")
    report = await governance.usage(gateway.db, month=month)
    (row,) = report.rows
    assert (row.tai_khoan, row.total, row.status) == ("canbo.001", 0, "active")
    assert report.as_dict()["totals"] == {
        "officers": 1,
        "answered": 0,
        "failed": 0,
        "refused": 0,
        "total": 0,
    }


async def test_csv_cells_are_never_formulas(gateway: Gateway) -> None:
    await register_officer(gateway, 1, ho_ten="=HYPERLINK(1)", don_vi="@unit")
    report = await governance.usage(gateway.db, month=local_day(utcnow()).strftime("%Y-%m"))
    text = governance.usage_csv(report)
    assert "'=HYPERLINK(1)" in text
    assert "'@unit" in text


def test_thresholds_are_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LGSP_GOVERNANCE__IDLE_DAYS", "180")
    monkeypatch.setenv("LGSP_GOVERNANCE__SPIKE_DAILY_CEILING", "80")
    monkeypatch.setenv("LGSP_GOVERNANCE__SPIKE_MEDIAN_MULTIPLE", "3.5")
    monkeypatch.setenv("LGSP_GOVERNANCE__SPIKE_AUTO_LOCK", "true")
    governance_settings = Settings().governance
    assert governance_settings.idle_days == 180
    assert governance_settings.spike_daily_ceiling == 80
    assert governance_settings.spike_median_multiple == 3.5
    assert governance_settings.spike_auto_lock is True
    assert governance_settings.spike_trailing_days == 28  # the others keep their defaults
    assert all(f.description for f in GovernanceSettings.model_fields.values())
    monkeypatch.setenv("LGSP_GOVERNANCE__SPIKE_MEDIAN_MULTIPLE", "1")
    with pytest.raises(ValueError, match="spike_median_multiple"):
        Settings()


async def test_the_workers_lock_idle_officers_without_a_command(gateway: Gateway) -> None:
    """Seed 004, Điều 8: the idle-account rule runs by itself, once a day across processes."""
    from gateway.core.delivery.workers import DeliveryService

    await register_officer(gateway, 1)
    await register_officer(gateway, 2)
    await backdate(gateway, "canbo.001", utcnow() - timedelta(days=400))  # idle for 400 days
    service = DeliveryService(gateway)
    jobs = {job.name: (slug, job) for slug, job in service.periodic_jobs()}
    slug, job = jobs["lock-idle-officers"]
    assert (slug, job.interval_seconds) == ("dancu", 86400.0)
    assert await service.run_job_once(slug, job) == 1
    assert [o.status for o in await officers.list_officers(db=gateway.db)] == ["locked", "active"]
    # another process in the same day finds the round taken
    assert await DeliveryService(gateway).run_job_once(slug, job) is None
    async with gateway.db.reading() as session:
        locks = (
            await session.execute(
                select(ExchangeEntry.client, ExchangeEntry.purpose).where(
                    ExchangeEntry.operation == "officer:locked"
                )
            )
        ).all()
    ((who, why),) = locks
    assert who == "gateway:workers"
    assert "seed 004, Điều 8" in why


async def test_the_quarterly_usage_report(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    await insert(
        gateway,
        [
            *daily_lookups(gateway, "canbo.001", [1], last_day=date(2026, 9, 30)),  # Q3
            *daily_lookups(gateway, "canbo.001", [2], last_day=date(2026, 10, 1)),
            *daily_lookups(gateway, "canbo.001", [3], last_day=date(2026, 12, 31)),
            *daily_lookups(gateway, "canbo.001", [4], last_day=date(2027, 1, 1)),  # Q1 2027
        ],
    )
    report = await governance.usage(gateway.db, month="2026-Q4")
    assert report.totals.total == 5
    assert report.as_dict()["quarter"] == "2026-Q4"
    with pytest.raises(InvalidInput, match="quarter"):
        await governance.usage(gateway.db, month="2026-Q0")
