"""The simulator of EMC: an independent model of the platform from the public record (its own
models in :mod:`.wire`, its state in :mod:`.platform`, its HTTP face in :mod:`.app`). It imports
only the standard library, third-party packages, its own modules and
:mod:`gateway.core.http.simulators`: never the connector's wire models nor ``schemas``.
"""

from __future__ import annotations

from connectors.emc.sandbox.app import MAX_REQUEST_BYTES, create_app, get_simulator
from connectors.emc.sandbox.platform import EmcSimulator, FaultConfig, Refusal, SimStats

__all__ = [
    "MAX_REQUEST_BYTES",
    "EmcSimulator",
    "FaultConfig",
    "Refusal",
    "SimStats",
    "create_app",
    "get_simulator",
]
