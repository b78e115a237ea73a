"""The poller of status packages (the qlvb connector's :class:`~gateway.core.connector.
PeriodicJob`, run by the delivery workers).

One round: ``getReceivedEdocList`` (servicetype ``status``), then for each package waiting, at
most ``limit``: ``getEdoc``, read it (:meth:`QlvbConnector.read_status`: hardened lxml,
bounded, signature checked), apply it (:func:`connectors.qlvb.documents.apply_report`, source
``poll``), and acknowledge it with ``updateStatus``: ``done`` once applied, kept as history or
recognised as a duplicate (a status also pushed is the same report); ``fail`` when the package
is unusable (malformed, badly signed, about a document we never sent), so the axis does not
hand it out forever. A package whose fetch or application failed for a transient reason is
not acknowledged: the next round takes it again. Each call goes through the circuit breaker
and is an exchange-log entry of the client :data:`POLLER_CLIENT`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Literal

import structlog

from connectors.qlvb import documents
from connectors.qlvb.client import QlvbClient
from connectors.qlvb.errors import QlvbDocumentUnknown, StatusInvalid
from connectors.qlvb.mapping import StatusReport
from gateway.core.delivery.intake import call_through
from gateway.core.errors import CircuitOpen, GatewayError, UpstreamError
from gateway.core.runtime import Gateway

__all__ = ["POLLER_CLIENT", "poll_statuses"]

log = structlog.get_logger("gateway.qlvb")

POLLER_CLIENT = "lgsp-poller"


def _ack_body(doc_id: str, verdict: str, _answer: None) -> bytes:
    return json.dumps({"docid": doc_id, "status": verdict}).encode()


async def poll_statuses(
    gw: Gateway,
    *,
    client: QlvbClient,
    read_status: Callable[[bytes], StatusReport],
    limit: int = 50,
) -> int:
    """One round; returns how many packages were acknowledged. ``read_status`` is
    :meth:`connectors.qlvb.connector.QlvbConnector.read_status`."""
    try:
        _, waiting = await call_through(
            gw,
            connector=documents.CONNECTOR,
            operation="poll_statuses",
            client=POLLER_CLIENT,
            call=client.received_list,
            render=lambda items: json.dumps([i.id for i in items]).encode(),
        )
    except UpstreamError as exc:
        log.warning("qlvb_poll_failed", error=type(exc).__name__)
        return 0
    acknowledged = 0
    for item in waiting[:limit]:
        try:
            _, data = await call_through(
                gw,
                connector=documents.CONNECTOR,
                operation="get_status",
                client=POLLER_CLIENT,
                call=functools.partial(client.get_edoc, item.id),
                render=lambda raw: raw,
            )
        except CircuitOpen:
            log.warning("qlvb_poll_circuit_open", remaining=len(waiting) - acknowledged)
            break
        except UpstreamError as exc:
            log.warning("qlvb_status_fetch_failed", doc_id=item.id, error=type(exc).__name__)
            continue
        verdict: Literal["done", "fail"] = "done"
        try:
            report = read_status(data)
            await documents.apply_report(gw, report, source="poll")
        except (StatusInvalid, QlvbDocumentUnknown) as exc:
            log.warning("qlvb_status_refused", doc_id=item.id, reason=exc.detail[:200])
            verdict = "fail"
        except GatewayError as exc:  # e.g. the database: take it again next round
            log.warning("qlvb_status_not_applied", doc_id=item.id, error=type(exc).__name__)
            continue
        try:
            await call_through(
                gw,
                connector=documents.CONNECTOR,
                operation="ack_status",
                client=POLLER_CLIENT,
                call=functools.partial(client.update_status, item.id, verdict),
                render=functools.partial(_ack_body, item.id, verdict),
            )
        except UpstreamError as exc:
            # applied but not acknowledged: the next round finds it again, a duplicate
            log.warning("qlvb_status_ack_failed", doc_id=item.id, error=type(exc).__name__)
            continue
        acknowledged += 1
    return acknowledged
