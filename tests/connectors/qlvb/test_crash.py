"""Crashes around a document sent to document management, and around its statuses.

Sending: a worker leases the ``send_document`` delivery and the axis keeps the package; then
the worker dies before the outbox item is settled (its lease is simply abandoned, as a SIGKILL
leaves it), once after the document was marked ``sent`` and once just before. The lease runs
out (a claim at a later ``now``: no real sleep races the clock), a survivor delivers again, the
axis answers DUPLICATE with the same DocID: one document at the axis, one duplicate counted, the
document ``sent`` once, ``qlvb.sent`` published once. (An answer dropped after the axis kept the
package, retried, is ``tests/connectors/qlvb/test_routes.py::
test_a_redelivery_after_a_lost_answer_makes_one_document``.) A request dying after its delivery
was accepted but before the document row recorded it is delivered all the same, and the
client's retry is recognised by the axis: one document, one ``qlvb.sent``. A status pushed while
the document waits for its sent mark is applied, and the late mark does not undo it (the
events then come ``qlvb.received`` before ``qlvb.sent``, each once).

Statuses: the poller applies status packages and dies before acknowledging them
(``updateStatus``): the next round takes them again, recognises what it applied, applies what
it had not, acknowledges both: one history line and one event per state. A status pulled and
then pushed, or pushed and pulled at the same moment, is one report. (Pushed then pulled, and an
acknowledgement failing once within its call, are in ``test_poller.py``.)
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from connectors.qlvb import documents
from connectors.qlvb.edxml import parse_status
from connectors.qlvb.mapping import report_from_wire
from gateway.core.delivery import outbox
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow
from tests.conftest import bearer
from tests.connectors.qlvb.support import (
    DOCUMENT_ID,
    DOCUMENTS,
    DOSSIER,
    SCOPES,
    Axis,
    connector_of,
    document,
    event_types,
    poll,
)

#: the doomed worker's lease: long, so that nothing but the claim's ``now`` runs it out
LEASE = 60.0


class Killed(BaseException):
    """The process dies here (not an ``Exception``: nothing on the way handles it)."""


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, *SCOPES)


async def accepted(api: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await api.post(DOCUMENTS, json=document(), headers=headers)
    assert r.status_code == 202, r.text
    exchange: str = r.json()["exchange_id"]
    return exchange


async def view(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await api.get(f"{DOCUMENTS}/{DOSSIER}", headers=headers)
    assert r.status_code == 200, r.text
    (doc,) = r.json()["documents"]
    found: dict[str, Any] = doc
    return found


async def doomed_worker_takes(gateway: Gateway, exchange: str) -> Any:
    (item,) = await outbox.claim(gateway.db, owner="doomed/0", limit=10, lease_seconds=LEASE)
    assert item.exchange_id == exchange
    return item


async def survivor_redelivers(gateway: Gateway, exchange: str) -> None:
    """Nobody takes the item while the doomed worker's lease holds; once it ran out (seen
    from a later clock), a survivor takes it and delivers it again."""
    assert await DeliveryService(gateway, owner="meanwhile").run_once() == 0
    later = utcnow() + timedelta(seconds=LEASE + 1)
    (item,) = await outbox.claim(
        gateway.db, owner="survivor/0", limit=10, lease_seconds=LEASE, now=later
    )
    assert item.exchange_id == exchange
    assert item.attempts == 2
    await DeliveryService(gateway, owner="survivor").deliver(item, "survivor/0")
    found = await outbox.find(gateway.db, exchange)
    assert found is not None
    assert found.status == "delivered"


async def test_a_worker_dying_after_the_document_was_sent_yields_one_document(
    api: httpx.AsyncClient, gateway: Gateway, axis: Axis, headers: dict[str, str]
) -> None:
    exchange = await accepted(api, headers)
    item = await doomed_worker_takes(gateway, exchange)
    # the whole delivery (the axis keeps the package, the document becomes sent), no settling
    await connector_of(gateway).deliver(item.operation, outbox.decode_payload(gateway.cipher, item))
    assert axis.sim.stats.documents == 1
    first = await view(api, headers)
    assert first["status"] == "sent"

    await survivor_redelivers(gateway, exchange)
    assert (axis.sim.stats.documents, axis.sim.stats.duplicates) == (1, 1)
    assert list(axis.sim.documents) == [DOCUMENT_ID]
    again = await view(api, headers)
    assert again["status"] == "sent"
    assert again["sent_at"] == first["sent_at"]  # sent once, not re-stamped
    assert again["axis_doc_id"] == axis.sim.documents[DOCUMENT_ID].doc_id
    assert [r["status"] for r in again["recipients"]] == ["sent"]
    assert await event_types(gateway) == ["qlvb.sent"]
    # the doomed worker, had it only been slow, can no longer settle what it lost
    assert not await outbox.mark_delivered(gateway.db, item, "doomed/0")


async def test_a_worker_dying_between_the_axis_and_the_sent_mark_yields_one_document(
    api: httpx.AsyncClient,
    gateway: Gateway,
    axis: Axis,
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange = await accepted(api, headers)
    item = await doomed_worker_takes(gateway, exchange)

    async def dies(*_args: Any, **_kwargs: Any) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(documents, "mark_sent", dies)
        with pytest.raises(Killed):
            await connector_of(gateway).deliver(
                item.operation, outbox.decode_payload(gateway.cipher, item)
            )
    assert axis.sim.stats.documents == 1  # the axis has it; the gateway does not know
    assert (await view(api, headers))["status"] == "queued"
    assert await event_types(gateway) == []

    await survivor_redelivers(gateway, exchange)
    assert (axis.sim.stats.documents, axis.sim.stats.duplicates) == (1, 1)
    doc = await view(api, headers)
    assert doc["status"] == "sent"
    assert doc["axis_doc_id"] == axis.sim.documents[DOCUMENT_ID].doc_id
    assert await event_types(gateway) == ["qlvb.sent"]


async def test_a_request_dying_between_its_acceptance_and_the_document_yields_one_document(
    api: httpx.AsyncClient,
    app: Any,
    gateway: Gateway,
    axis: Axis,
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the delivery is accepted (committed), then the request dies before the document row
    # records its exchange: the client has no answer
    async def dies(*_args: Any, **_kwargs: Any) -> str:
        raise RuntimeError("the process died before the document knew its delivery")

    with monkeypatch.context() as patched:
        patched.setattr(documents, "attach_exchange", dies)
        with pytest.raises(RuntimeError):
            await api.post(DOCUMENTS, json=document(), headers=headers)
    assert (await view(api, headers))["exchange_id"] is None
    while await app.state.delivery.run_once():  # what was accepted is delivered all the same
        pass
    assert axis.sim.stats.documents == 1
    assert (await view(api, headers))["status"] == "sent"

    # the client, never answered, sends the same request again: accepted again, recognised
    exchange = await accepted(api, headers)
    while await app.state.delivery.run_once():
        pass
    found = await outbox.find(gateway.db, exchange)
    assert found is not None
    assert found.status == "delivered"
    assert (axis.sim.stats.documents, axis.sim.stats.duplicates) == (1, 1)
    doc = await view(api, headers)
    assert (doc["status"], doc["exchange_id"]) == ("sent", exchange)
    assert await event_types(gateway) == ["qlvb.sent"]


# --- statuses ---------------------------------------------------------------------------------


@pytest.fixture
async def sent(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, axis: Axis, headers: dict[str, str]
) -> None:
    await accepted(api, headers)
    while await app.state.delivery.run_once():
        pass
    assert DOCUMENT_ID in axis.sim.documents


async def history(api: httpx.AsyncClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    doc = await view(api, headers)
    return [(h["status_code"], h["source"]) for h in doc["recipients"][0]["history"]]


async def test_a_poller_dying_before_acknowledging_applies_each_status_once(
    api: httpx.AsyncClient,
    gateway: Gateway,
    axis: Axis,
    headers: dict[str, str],
    sent: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await axis.advance()  # 01
    await axis.advance()  # 03
    client = connector_of(gateway).client

    async def dies(*_args: Any, **_kwargs: Any) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(client, "update_status", dies)
        with pytest.raises(Killed):
            await poll(gateway)  # 01 applied, then the process dies acknowledging it
    assert axis.sim.stats.acknowledged == {}
    assert await history(api, headers) == [("01", "poll")]
    assert await event_types(gateway) == ["qlvb.sent", "qlvb.received"]

    # the next round (another process) finds both packages waiting still
    assert await poll(gateway) == 2
    assert axis.sim.stats.acknowledged == {"done": 2}
    assert all(s.acknowledged == "done" for s in axis.sim.statuses)
    assert await history(api, headers) == [("01", "poll"), ("03", "poll")]
    assert await event_types(gateway) == ["qlvb.sent", "qlvb.received", "qlvb.registered"]
    doc = await view(api, headers)
    assert (doc["recipients"][0]["status"], doc["recipients"][0]["status_code"]) == (
        "registered",
        "03",
    )
    assert await poll(gateway) == 0  # nothing waits any more


async def test_a_status_pulled_then_pushed_is_one_report(
    api: httpx.AsyncClient,
    app: Any,
    gateway: Gateway,
    axis: Axis,
    headers: dict[str, str],
    sent: None,
) -> None:
    await axis.advance()  # 01, not pushed: no callback configured yet
    assert await poll(gateway) == 1
    axis.push_into(app)
    r = await axis.platform.post("/qlvb/_sandbox/statuses/push")  # the hub catches up late
    assert r.json() == {"pushed": 1}
    await axis.pusher.drain()
    assert axis.sim.statuses[-1].pushed == 200  # taken as a duplicate, answered OK
    assert await history(api, headers) == [("01", "poll")]
    assert await event_types(gateway) == ["qlvb.sent", "qlvb.received"]


async def test_a_status_pushed_and_pulled_at_the_same_moment_is_one_report(
    api: httpx.AsyncClient, gateway: Gateway, axis: Axis, headers: dict[str, str], sent: None
) -> None:
    (item,) = axis.sim.advance(DOCUMENT_ID)
    report = report_from_wire(parse_status(item.body, max_bytes=1 << 20))
    outcomes = await asyncio.gather(
        documents.apply_report(gateway, report, source="poll"),
        documents.apply_report(gateway, report, source="callback", raw=item.body),
    )
    assert sorted(o.outcome for o in outcomes) == ["applied", "duplicate"]
    assert len(await history(api, headers)) == 1
    assert await event_types(gateway) == ["qlvb.sent", "qlvb.received"]


async def test_a_status_arriving_before_the_sent_mark_is_kept_and_not_undone(
    api: httpx.AsyncClient,
    app: Any,
    gateway: Gateway,
    axis: Axis,
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the worker dies between the axis and the sent mark; meanwhile the agency receives the
    # document and its status is pushed: applied to a document still "queued" here
    exchange = await accepted(api, headers)
    item = await doomed_worker_takes(gateway, exchange)

    async def dies(*_args: Any, **_kwargs: Any) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(documents, "mark_sent", dies)
        with pytest.raises(Killed):
            await connector_of(gateway).deliver(
                item.operation, outbox.decode_payload(gateway.cipher, item)
            )
    axis.push_into(app)
    await axis.advance()  # 01
    assert axis.sim.statuses[-1].pushed == 200

    await survivor_redelivers(gateway, exchange)
    doc = await view(api, headers)
    assert doc["status"] == "sent"
    (recipient,) = doc["recipients"]
    assert (recipient["status"], recipient["status_code"]) == ("received", "01")  # not undone
    assert await event_types(gateway) == ["qlvb.received", "qlvb.sent"]
    assert (axis.sim.stats.documents, axis.sim.stats.duplicates) == (1, 1)
