"""The simulator of the public postal service (VNPost, service HCC): an independent model of
the platform from the public record (its own models in :mod:`.wire`, its state machine in
:mod:`.platform`, its HTTP face in :mod:`.app`). It imports only the standard library,
third-party packages, its own modules and :mod:`gateway.core.http.simulators`: never the
connector's wire models nor ``schemas``, so that it can disagree with the connector.
"""

from __future__ import annotations

from connectors.postal.sandbox.app import (
    MAX_REQUEST_BYTES,
    Advance,
    Forge,
    WebhookPusher,
    create_app,
    get_pusher,
    get_simulator,
)
from connectors.postal.sandbox.platform import (
    FINAL,
    LGSP_RELAY_HEADER,
    LGSP_RELAY_VALUE,
    LGSP_SERVICES,
    MESSAGES,
    FaultConfig,
    Order,
    PostalSimulator,
    Refusal,
    SimConfig,
    SimStats,
    StatementDiscrepancies,
)

__all__ = [
    "FINAL",
    "LGSP_RELAY_HEADER",
    "LGSP_RELAY_VALUE",
    "LGSP_SERVICES",
    "MAX_REQUEST_BYTES",
    "MESSAGES",
    "Advance",
    "FaultConfig",
    "Forge",
    "Order",
    "PostalSimulator",
    "Refusal",
    "SimConfig",
    "SimStats",
    "StatementDiscrepancies",
    "WebhookPusher",
    "create_app",
    "get_pusher",
    "get_simulator",
]
