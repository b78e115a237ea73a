"""The population-database simulator: an independent model of the platform (issue 14).

It imports nothing of the connector (no config, wire models, mapping, client) and nothing of
``schemas``: what it accepts and answers is modelled from the public record in its own
modules, so that the tests can catch the connector disagreeing with the platform.

* :mod:`.app`: the ASGI app (``create_app``) and its ``/_sandbox`` control routes;
* :mod:`.request`: its model of a request and the hardened reader;
* :mod:`.auth`: the HTTP-level credentials (HTTP Basic with a timestamp, the LGSP's relay);
* :mod:`.state`: what the platform knows and decides, without HTTP;
* :mod:`.soap`: answers, faults, hostile answers and the WSDL it serves;
* :mod:`.population`: the deterministic synthetic population (the connector's tests and the
  bench may import it from here), with :mod:`.provinces` its own code table and masking.
"""

from __future__ import annotations

from connectors.dancu.sandbox.app import (
    DEFAULT_INTEGRATION_CODES,
    DEFAULT_PROCEDURES,
    MAX_REQUEST_BYTES,
    NOT_PERMITTED_OFFICER,
    UNLICENSED_PROCEDURE,
    DancuSimulator,
    FaultConfig,
    Officer,
    SimStats,
    SimulatedConnectionDrop,
    create_app,
    default_officers,
    get_simulator,
)
from connectors.dancu.sandbox.auth import (
    RELAY_HEADER,
    RELAY_VALUE,
    SANDBOX_ACCOUNT,
    SANDBOX_SECRET,
    TIMESTAMP_WINDOW_SECONDS,
    IntegrationAccount,
    basic_hash,
)
from connectors.dancu.sandbox.population import Citizen, Population
from connectors.dancu.sandbox.soap import MALFORMED_BODIES

__all__ = [
    "DEFAULT_INTEGRATION_CODES",
    "DEFAULT_PROCEDURES",
    "MALFORMED_BODIES",
    "MAX_REQUEST_BYTES",
    "NOT_PERMITTED_OFFICER",
    "RELAY_HEADER",
    "RELAY_VALUE",
    "SANDBOX_ACCOUNT",
    "SANDBOX_SECRET",
    "TIMESTAMP_WINDOW_SECONDS",
    "UNLICENSED_PROCEDURE",
    "Citizen",
    "DancuSimulator",
    "FaultConfig",
    "IntegrationAccount",
    "Officer",
    "Population",
    "SimStats",
    "SimulatedConnectionDrop",
    "basic_hash",
    "create_app",
    "default_officers",
    "get_simulator",
]
