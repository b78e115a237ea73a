"""The simulator of the DVCQG online payment platform: an independent model of the platform from
the public record (its own vocabulary and checks in :mod:`.wire`, its payments and faults in
:mod:`.platform`, its HTTP face in :mod:`.app`). It imports only the standard library,
third-party packages, its own modules and :mod:`gateway.core.http.simulators`: never the
connector's wire models nor ``schemas``, so that it can disagree with the connector.
"""

from __future__ import annotations

from connectors.payment.sandbox.app import (
    CALLBACK_FIELDS,
    INIT_FIELDS,
    MAX_REQUEST_BYTES,
    QUERY_FIELDS,
    STATEMENT_FIELDS,
    CallbackOptions,
    FaultConfig,
    PaymentSimulator,
    SimStats,
    StatementDiscrepancies,
    checksum,
    create_app,
    get_simulator,
)

__all__ = [
    "CALLBACK_FIELDS",
    "INIT_FIELDS",
    "MAX_REQUEST_BYTES",
    "QUERY_FIELDS",
    "STATEMENT_FIELDS",
    "CallbackOptions",
    "FaultConfig",
    "PaymentSimulator",
    "SimStats",
    "StatementDiscrepancies",
    "checksum",
    "create_app",
    "get_simulator",
]
