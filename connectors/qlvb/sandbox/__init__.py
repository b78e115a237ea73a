"""The simulator of the document exchange axis and the receiving agencies' document management
software (edXML, QCVN 102:2016): an independent model from the public record (its own lxml
reading and writing in :mod:`.packets`, its state in :mod:`.platform`, its HTTP face in
:mod:`.app`). It imports only the standard library, third-party packages, its own modules and
:mod:`gateway.core.http.simulators`: never the connector nor ``schemas``.
"""

from __future__ import annotations

from connectors.qlvb.sandbox.app import (
    Advance,
    StatusPusher,
    create_app,
    get_pusher,
    get_simulator,
)
from connectors.qlvb.sandbox.packets import EDXML_NS, Received, Refused, read_package
from connectors.qlvb.sandbox.platform import (
    DESCRIPTIONS,
    LINE,
    FaultConfig,
    QlvbSimulator,
    SimConfig,
    SimStats,
    StatusItem,
)

__all__ = [
    "DESCRIPTIONS",
    "EDXML_NS",
    "LINE",
    "Advance",
    "FaultConfig",
    "QlvbSimulator",
    "Received",
    "Refused",
    "SimConfig",
    "SimStats",
    "StatusItem",
    "StatusPusher",
    "create_app",
    "get_pusher",
    "get_simulator",
    "read_package",
]
