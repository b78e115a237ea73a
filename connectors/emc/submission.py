"""Submitting the monthly report (operation ``submit_monthly_report``, **our profile**).

A report is queued through the outbox like any delivery: its exchange-log entry and its item in
one transaction, ordering key ``emc:report:{ma_don_vi}:{month}``; the payload is the computed
:class:`~connectors.emc.report.MonthlyReport` (so a redelivery sends the same figures). The
month and agency are the report's identity at the endpoint: a re-submission replaces the month,
the endpoint de-duplicates an identical one.

:func:`monthly_job` (the periodic job ``emc_monthly_report``) queues last month's report once,
on or after ``report_day`` of the month (local time), when ``report_day`` is set (off by
default: the province checks the figures and submits with ``lgsp report emc --submit``).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy import select

from connectors.emc.config import EmcConfig
from connectors.emc.report import MonthlyReport, compute
from connectors.emc.tracking import CONNECTOR
from gateway.core.delivery import outbox
from gateway.core.errors import FieldError, InvalidInput
from gateway.core.local_time import local_day
from gateway.core.log.exchange_log import Crossing, new_exchange_id
from gateway.core.runtime import Gateway
from gateway.core.store.db import OutboxItem, utcnow

__all__ = [
    "JOB_CLIENT",
    "SUBMIT",
    "monthly_job",
    "previous_month",
    "queue_submission",
    "report_key",
]

log = structlog.get_logger("gateway.emc")

SUBMIT = "submit_monthly_report"
JOB_CLIENT = "lgsp-emc-monthly"


def report_key(ma_don_vi: str, month: str) -> str:
    return f"{CONNECTOR}:report:{ma_don_vi}:{month}"


def previous_month(day: date) -> str:
    return (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


async def queue_submission(
    gw: Gateway, report: MonthlyReport, *, client: str, request_body: bytes = b""
) -> str:
    """Queue ``report`` for submission; returns the exchange id. A month that has not begun
    is :class:`InvalidInput` naming ``month``: its empty figures would replace nothing real
    now, and whatever the month holds later (a second submission replaces the first)."""
    if report.month > local_day(utcnow()).strftime("%Y-%m"):
        raise InvalidInput(
            f"the month {report.month} has not begun: nothing to submit",
            errors=[FieldError("month", "this month or an earlier one")],
        )
    exchange_id = new_exchange_id()
    payload = report.model_dump(mode="json")
    entry = gw.log.build(
        Crossing(
            kind="inbound",
            entry_id=exchange_id,
            connector=CONNECTOR,
            operation=SUBMIT,
            outcome="accepted",
            client=client,
            status_code=202,
            request=request_body or json.dumps({"month": report.month}).encode(),
            detail=f"monthly report {report.month} of {report.ma_don_vi}",
        )
    )
    item = outbox.build(
        gw.cipher,
        exchange_id=exchange_id,
        connector=CONNECTOR,
        operation=SUBMIT,
        ordering_key=report_key(report.ma_don_vi, report.month),
        payload=payload,
    )
    async with gw.db.transaction() as session:
        session.add(entry)
        session.add(item)
    gw.wakeup.set()
    return exchange_id


async def monthly_job(gw: Gateway, config: EmcConfig, *, now: datetime | None = None) -> int:
    """Queue last month's report once, on or after ``report_day``; how many were queued."""
    if config.report_day is None or config.aggregate_url is None:
        return 0
    today = local_day(now or utcnow())
    if today.day < config.report_day:
        return 0
    month = previous_month(today)
    async with gw.db.reading() as session:
        queued = await session.scalar(
            select(OutboxItem.id)
            .where(
                OutboxItem.connector == CONNECTOR,
                OutboxItem.operation == SUBMIT,
                OutboxItem.ordering_key == report_key(config.ma_don_vi, month),
            )
            .limit(1)
        )
    if queued is not None:
        return 0
    report = await compute(gw, month=month, ma_don_vi=config.ma_don_vi)
    exchange_id = await queue_submission(gw, report, client=JOB_CLIENT)
    log.info("emc_monthly_report_queued", month=month, exchange_id=exchange_id)
    return 1
