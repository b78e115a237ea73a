"""A simulator of the National Public Service Portal (DVCQG) and its adapter.

An independent model of the platform, from the public record: it never imports the
connector's wire models, mapping, client or config, nor ``schemas`` (a test in
``tests/test_architecture.py`` keeps it so), so that it can disagree with the connector. It
accepts the packets real senders build (OpenCPS's DongBoHoSoMC exactly as its builder makes
it, PASETO's newer fields), and answers in the shapes they read.

* :mod:`.packets`: how the portal reads each request (tolerant scalars, strict ``MaHoSo``);
* :mod:`.platform`: its state and protocol (dossiers, steps, look-ups, catalogue);
* :mod:`.catalogue`: a synthetic procedure catalogue in LayThuTuc's nested shape;
* :mod:`.online`: citizens on the portal (online dossiers, feedback, ratings, questions, the
  data store; this project's own profile);
* :mod:`.app`: the ASGI app (``/auth``, ``/api``, ``/share``, ``/files``, ``/_sandbox``).
"""

from connectors.dvcqg.sandbox.app import MAX_BODY_BYTES, create_app, get_simulator
from connectors.dvcqg.sandbox.catalogue import CATALOGUE, Procedure
from connectors.dvcqg.sandbox.faults import FaultConfig
from connectors.dvcqg.sandbox.online import PUSH_SECRET, OnlinePortal
from connectors.dvcqg.sandbox.platform import (
    DossierRecord,
    DvcqgSimulator,
    SimStats,
    canonical_json,
)
from gateway.core.http.simulators import SimulatedConnectionDrop

__all__ = [
    "CATALOGUE",
    "MAX_BODY_BYTES",
    "PUSH_SECRET",
    "DossierRecord",
    "DvcqgSimulator",
    "FaultConfig",
    "OnlinePortal",
    "Procedure",
    "SimStats",
    "SimulatedConnectionDrop",
    "canonical_json",
    "create_app",
    "get_simulator",
]
