"""The canonical status machine of postal shipments, its problem types and metrics (used by
:mod:`connectors.postal.shipments`).

Statuses, in order: ``requested`` (accepted here, the order not yet confirmed by the platform)
< ``created`` < ``picked_up`` < ``in_transit`` < ``failed_delivery`` < the final ones
``delivered``, ``returned``, ``cancelled``.

A reported status moves a shipment (:func:`moves`) only when the shipment is not final, the
status is not older than the last one applied (the platform's event time), and it is further
along the order; the one way back is ``failed_delivery`` -> ``in_transit`` (a new attempt,
necessarily later). So events arriving out of order never regress a shipment: a late
``in_transit`` after ``delivered`` is kept in the history and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from gateway.core.errors import Conflict, NotFound
from gateway.core.metrics import REGISTRY

__all__ = [
    "CONNECTOR",
    "FINAL",
    "RANK",
    "STATUSES",
    "WEBHOOKS",
    "ShipmentConflict",
    "ShipmentFinal",
    "ShipmentUnknown",
    "dedupe_key",
    "moves",
    "request_digest",
]

CONNECTOR = "postal"
STATUSES: tuple[str, ...] = (
    "requested",
    "created",
    "picked_up",
    "in_transit",
    "failed_delivery",
    "delivered",
    "returned",
    "cancelled",
)
FINAL = frozenset({"delivered", "returned", "cancelled"})
RANK: Mapping[str, int] = {
    "requested": 0,
    "created": 1,
    "picked_up": 2,
    "in_transit": 3,
    "failed_delivery": 4,
    "delivered": 5,
    "returned": 5,
    "cancelled": 5,
}

WEBHOOKS = Counter(
    "lgsp_postal_webhooks_total",
    "Postal status webhooks by outcome (applied, recorded, duplicate, rejected, refused)",
    ["outcome"],
    registry=REGISTRY,
)


class ShipmentUnknown(NotFound):
    type_slug = "postal-shipment-not-found"
    title = "No such shipment"


class ShipmentConflict(Conflict):
    type_slug = "postal-shipment-conflict"
    title = "The dossier already has a different shipment of this flow"


class ShipmentFinal(Conflict):
    type_slug = "postal-shipment-final"
    title = "The shipment is final"


def moves(current: str, last_at: datetime | None, new: str, at: datetime) -> bool:
    """Whether a status ``new`` reported at ``at`` moves a shipment that is ``current`` since
    ``last_at`` (see the module docstring)."""
    if current in FINAL or new == current or new not in RANK:
        return False
    if last_at is not None and at < last_at:
        return False  # older than what we know: history only
    if RANK[new] > RANK[current]:
        return True
    return current == "failed_delivery" and new == "in_transit"


def dedupe_key(order_number: str, platform_code: str, at: datetime) -> str:
    """One status report: the same order, code and time is the same report, however it came
    (webhook, its duplicate, or a poll)."""
    return f"{order_number}|{platform_code}|{at.isoformat()}"


def request_digest(payload: Mapping[str, Any]) -> str:
    """Digest of a shipment request's content: the same dossier and flow asked again with the
    same content is the same shipment; with other content it is a conflict."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
