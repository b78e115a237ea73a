"""The simulated portal's state and protocol logic, independent of HTTP.

The protocol, as public senders speak it (OpenCPS ``DVCQGIntegrationActionImpl.java``,
``release-candidate-3.0``; see :mod:`connectors.dvcqg.sandbox.packets`):

* the auth endpoint takes ``{username, password}`` and answers ``{session, error_code: 0}``,
  or ``error_code`` 100 for wrong credentials; sessions expire after ``session_ttl_seconds``;
* the integration endpoint (``/api``) serves DongBoHoSoMC, CapNhatTienDoHoSoMC, TraCuuHoSo,
  LayThuTuc and this project's own services (online dossiers, citizens' items, the data
  store); the share endpoint (``/share``) serves the catalogue and the code lists
  (LayDanhSachTTHC, LayDanhMucCoQuan, LayDanhMucLinhVuc) and LayThuTuc. A service asked on
  the wrong endpoint is refused ("500"), so a connector that routes wrongly is caught.
* Answers are HTTP 200 with a string ``error_code``: "0" success, "100" invalid or expired
  session, "-3" dossier already exists (or "3", or "0" with "đã tồn tại": see
  :class:`~connectors.dvcqg.sandbox.app.FaultConfig`), "201" record not found, "500" data
  incorrect (the message names each bad field path). Look-ups answer ``result`` as a list
  (OpenCPS reads ``result[0]``), empty when nothing is found.

What it keeps of a dossier: ``current``, the dossier as the portal reads it (codes as numbers,
blank dates as null), ``received``, the last packet exactly as it came, the status of each
applied version (``history``) and the distinct steps. A packet equal (as read) to the current
one is a duplicate, counted and not applied again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from connectors.dvcqg.sandbox.catalogue import AGENCIES, CATALOGUE, FIELDS, Procedure
from connectors.dvcqg.sandbox.faults import FaultConfig
from connectors.dvcqg.sandbox.online import OnlinePortal
from connectors.dvcqg.sandbox.packets import (
    REQUESTS,
    LookUpDossier,
    LookUpProcedure,
    SyncDossiers,
    SyncSteps,
    problems,
)
from gateway.core.http.simulators import FaultDraws

__all__ = [
    "INTEGRATION",
    "OK_MESSAGE",
    "SHARE",
    "DossierRecord",
    "DvcqgSimulator",
    "SimStats",
    "canonical_json",
]

OK_MESSAGE = "Thành công"
INTEGRATION = "integration"
SHARE = "share"
#: the services each endpoint serves (OpenCPS posts the lists to share_endpoint, lines
#: 2000-2090, and LayThuTuc, TraCuuHoSo and the writes to integration_endpoint)
_SHARE_SERVICES = frozenset({"LayDanhSachTTHC", "LayDanhMucCoQuan", "LayDanhMucLinhVuc"})
_BOTH = frozenset({"LayThuTuc"})


def canonical_json(value: Any) -> str:
    """Key-sorted compact JSON: equal packets give equal text, so equal digests."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class DossierRecord:
    """What the simulated platform holds for one dossier (see the module docstring)."""

    current: dict[str, Any]
    current_json: str
    received: dict[str, Any]
    history: list[int | None] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    raw_steps: list[dict[str, Any]] = field(default_factory=list)
    step_digests: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        """Inspection view: ``{"current", "received", "history", "versions" (a count),
        "steps"}``."""
        return {
            "current": self.current,
            "received": self.received,
            "history": list(self.history),
            "versions": len(self.versions),
            "steps": list(self.steps),
        }


@dataclass
class SimStats:
    """Counters. ``received`` counts every call to the integration and share endpoints;
    ``applied`` and ``duplicates`` count packets (dossier versions and steps); ``rejected``
    counts refused calls (any non-"0" answer and HTTP 4xx); ``faults_injected`` counts
    per-request faults (latency and ``expire_sessions`` are not counted); ``by_service``
    counts calls by their ``service`` field, faulted ones included; ``by_endpoint`` by
    endpoint; ``dstcodes`` the ``dstcode`` headers seen."""

    received: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    faults_injected: int = 0
    by_service: dict[str, int] = field(default_factory=dict)
    by_endpoint: dict[str, int] = field(default_factory=dict)
    dstcodes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "applied": self.applied,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "faults_injected": self.faults_injected,
            "by_service": dict(self.by_service),
            "by_endpoint": dict(self.by_endpoint),
            "dstcodes": dict(self.dstcodes),
        }


class DvcqgSimulator(FaultDraws):
    """The simulated platform's state and protocol logic, independent of HTTP.

    ``clock`` (monotonic seconds) is an attribute so tests can move time for session expiry.
    """

    def __init__(
        self,
        *,
        username: str,
        password: str,
        seed: int | None = None,
        session_ttl_seconds: float = 900.0,
        catalogue: Iterable[Procedure] = CATALOGUE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.username = username
        self.password = password
        self.seed = seed
        self.session_ttl_seconds = session_ttl_seconds
        self.catalogue: dict[str, Procedure] = {entry.MATTHC: entry for entry in catalogue}
        self.clock = clock
        self.sessions: dict[str, float] = {}
        self.dossiers: dict[str, DossierRecord] = {}
        self.stats = SimStats()
        self.faults = FaultConfig()
        self.rng = random.Random(seed)  # noqa: S311 - fault draws, not security
        self.online = OnlinePortal(seed=2024 if seed is None else seed)

    # --- state management -------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything: dossiers, sessions, counters, faults; re-seed the generator."""
        self.sessions.clear()
        self.dossiers.clear()
        self.stats = SimStats()
        self.faults = FaultConfig()
        self.rng = random.Random(self.seed)  # noqa: S311 - fault draws, not security
        self.online.reset()

    def set_faults(self, config: FaultConfig) -> FaultConfig:
        """Replace the fault configuration; apply its one-shot actions; return what is stored."""
        if config.expire_sessions:
            self.sessions.clear()
        if config.seed is not None:
            self.rng = random.Random(config.seed)  # noqa: S311 - fault draws, not security
        self.faults = config.model_copy(update={"expire_sessions": False})
        return self.faults

    def saw_dstcode(self, headers: Mapping[str, str]) -> str | None:
        """Record the ``dstcode`` header of a call; None when it is missing."""
        dstcode = headers.get("dstcode")
        if dstcode:
            self.stats.dstcodes[dstcode] = self.stats.dstcodes.get(dstcode, 0) + 1
        return dstcode or None

    # --- auth -------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> str | None:
        """A new session token for the right credentials, else None."""
        # constant-time comparison: the sandbox should not teach timing leaks by example
        user_ok = hmac.compare_digest(username.encode(), self.username.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        if not (user_ok and password_ok):
            return None
        token = secrets.token_urlsafe(24)
        self.sessions[token] = self.clock() + self.session_ttl_seconds
        return token

    def session_valid(self, token: str) -> bool:
        """True when ``token`` is a live session; an expired one is forgotten."""
        expires_at = self.sessions.get(token)
        if expires_at is None:
            return False
        if self.clock() >= expires_at:
            del self.sessions[token]
            return False
        return True

    # --- the integration and share endpoints ------------------------------------------------

    def handle(self, body: Any, endpoint: str = INTEGRATION) -> dict[str, Any]:
        """Process one parsed body of ``endpoint`` and return the answer (always a dict).

        Batches are all-or-nothing: every check runs before anything is applied.
        """
        if not isinstance(body, dict):
            return self._reject("500", "(body): phải là một đối tượng JSON")
        session = body.get("session")
        if not isinstance(session, str) or not self.session_valid(session):
            return self._reject("100", "Phiên làm việc không hợp lệ hoặc đã hết hạn")
        service = body.get("service")
        model = REQUESTS.get(service) if isinstance(service, str) else None
        if model is None:
            return self._reject("500", f"service: dịch vụ không được hỗ trợ: {service!r}")
        if service not in _BOTH and (service in _SHARE_SERVICES) != (endpoint == SHARE):
            return self._reject("500", f"service: {service} không phục vụ tại điểm cuối này")
        try:
            request = model.model_validate(body)
        except ValidationError as exc:
            return self._reject("500", problems(exc))
        if isinstance(request, SyncDossiers):
            return self._sync_dossiers(request, body["data"])
        if isinstance(request, SyncSteps):
            return self._add_steps(request, body["data"])
        if isinstance(request, LookUpDossier):
            return self._look_up(request)
        if isinstance(request, LookUpProcedure):
            return self._procedure(request)
        if service == "LayDanhSachTTHC":
            return self._list_procedures()
        if service == "LayDanhMucCoQuan":
            return self._ok(list(AGENCIES))
        if service == "LayDanhMucLinhVuc":
            return self._ok([f.model_dump() for f in FIELDS])
        return self.online.handle(request)

    def _reject(self, code: str, message: str) -> dict[str, Any]:
        self.stats.rejected += 1
        return {"error_code": code, "message": message}

    @staticmethod
    def _ok(result: Any = None) -> dict[str, Any]:
        answer: dict[str, Any] = {"error_code": "0", "message": OK_MESSAGE}
        if result is not None:
            answer["result"] = result
        return answer

    def _knows_procedure(self, code: str) -> bool:
        # a local variant (2.000477.000.00.00.H56, 2.002621.H56) is accepted when its
        # national code is known
        return code in self.catalogue or ".".join(code.split(".")[:2]) in self.catalogue

    def _exists(self, ma_ho_so: str) -> dict[str, Any]:
        self.stats.rejected += 1
        return {"error_code": self.faults.exists_code, "message": f"Hồ sơ {ma_ho_so} đã tồn tại"}

    def _sync_dossiers(self, request: SyncDossiers, raw: list[Any]) -> dict[str, Any]:
        created_here: set[str] = set()
        for index, packet in enumerate(request.data):
            if not self._knows_procedure(packet.MaTTHC):
                return self._reject(
                    "500",
                    f"data[{index}].MaTTHC: thủ tục {packet.MaTTHC} không có trong danh mục",
                )
            exists = packet.MaHoSo in self.dossiers or packet.MaHoSo in created_here
            if not request.isUpdating and exists:
                return self._exists(packet.MaHoSo)
            created_here.add(packet.MaHoSo)
        for packet, received in zip(request.data, raw, strict=True):
            # isUpdating on an unknown dossier creates it (upsert), as lenient platforms do
            current = packet.model_dump(mode="json")
            text = canonical_json(current)
            record = self.dossiers.get(packet.MaHoSo)
            if record is not None and record.current_json == text:
                self.stats.duplicates += 1
                continue
            if record is None:
                record = DossierRecord(current=current, current_json=text, received=received)
                self.dossiers[packet.MaHoSo] = record
            record.current = current
            record.current_json = text
            record.received = received
            record.history.append(packet.TrangThaiHoSo)
            record.versions.append(_digest(text))
            self.stats.applied += 1
        return self._ok()

    def _add_steps(self, request: SyncSteps, raw: list[Any]) -> dict[str, Any]:
        for index, step in enumerate(request.data):
            if step.MaHoSo not in self.dossiers:
                return self._reject(
                    "201", f"data[{index}].MaHoSo: không tìm thấy hồ sơ {step.MaHoSo}"
                )
        for step, received in zip(request.data, raw, strict=True):
            record = self.dossiers[step.MaHoSo]
            current = step.model_dump(mode="json")
            digest = _digest(canonical_json(current))
            if digest in record.step_digests:
                self.stats.duplicates += 1
                continue
            record.step_digests.add(digest)
            record.steps.append(current)
            record.raw_steps.append(received)
            self.stats.applied += 1
        return self._ok()

    def _look_up(self, request: LookUpDossier) -> dict[str, Any]:
        record = self.dossiers.get(request.mahoso)
        if record is None:
            # OpenCPS tells "unknown" by an empty result (hasSyncDossier, lines 2134-2139)
            return self._ok([])
        return self._ok([{**record.received, "QuaTrinhXuLy": list(record.raw_steps)}])

    def _list_procedures(self) -> dict[str, Any]:
        return self._ok(
            [
                {
                    "MATTHC": entry.MATTHC,
                    "TENTTHC": entry.TENTTHC,
                    "MALINHVUC": entry.LINHVUCTHUCHIEN[0].MALINHVUC,
                    "TENLINHVUC": entry.LINHVUCTHUCHIEN[0].TENLINHVUC,
                }
                for entry in self.catalogue.values()
            ]
        )

    def _procedure(self, request: LookUpProcedure) -> dict[str, Any]:
        entry = self.catalogue.get(request.maTTHC)
        return self._ok([] if entry is None else [entry.model_dump(mode="json")])
