"""The simulator of the National Business Registration Database: an independent model of the
platform from the public record (its register in :mod:`.register`, its HTTP face and answers in
:mod:`.app`). It imports only the standard library, third-party packages, its own modules and
:mod:`gateway.core.http.simulators`: never the connector nor ``schemas``, so that it can
disagree with the connector.
"""

from __future__ import annotations

from connectors.dkdn.sandbox.app import (
    CONSUMER,
    MALFORMED,
    DkdnSimulator,
    FaultConfig,
    create_app,
    get_simulator,
)
from connectors.dkdn.sandbox.register import STATUS_NAMES, Enterprise, Register

__all__ = [
    "CONSUMER",
    "MALFORMED",
    "STATUS_NAMES",
    "DkdnSimulator",
    "Enterprise",
    "FaultConfig",
    "Register",
    "create_app",
    "get_simulator",
]
