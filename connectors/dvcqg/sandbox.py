"""A DVCQG simulator: an ASGI app that speaks the platform's dossier-synchronisation protocol.

It plays the national portal in tests, demos and the crash test, so the gateway's connector
can be exercised end to end without the real platform (whose specification is not public).
The protocol follows ``/work/shared/reference/national-platforms.md`` (section DVCQG):

* ``POST /auth`` with ``{username, password}`` answers ``{session, error_code: 0}``, or
  ``error_code`` 100 for wrong credentials. Sessions expire after ``session_ttl_seconds``.
* ``POST /api`` is the single integration endpoint; the operation is the body's ``service``
  (``DongBoHoSoMC``, ``CapNhatTienDoHoSoMC``, ``TraCuuHoSo``, ``LayDanhSachTTHC``,
  ``LayThuTuc``, and the online-dossier services of :mod:`connectors.dvcqg.sandbox_online`).
  Every answer is HTTP 200 with a string ``error_code``: "0" success, "100"
  invalid or expired session, "-3" dossier already exists (resend as update), "201" record
  not found, "500" data incorrect (the message names each bad field path).

Not part of the platform, under ``/_sandbox``: inspection of the stored dossiers and counters,
a reset, and fault injection (latency, 503, 500, late answers, dropped connections, malformed
answers, session expiry). Faults apply only to ``/api``. Fault draws come from a
``random.Random`` seeded from ``seed`` (and re-seeded by ``FaultConfig.seed``), so a run is
reproducible for a given configuration and request sequence.

Delivery semantics the gateway is tested against: a late, dropped or malformed answer is
produced *after* the request was applied, exactly like a real platform that commits and then
loses the answer; resending the same packet is then counted as a duplicate, not applied twice.

All state lives in one :class:`DvcqgSimulator` at ``app.state.sim``. The app runs on one event
loop and handlers never await between reading and writing state, so plain dicts suffice.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.dvcqg.catalogue_data import CATALOGUE
from connectors.dvcqg.sandbox_online import OnlinePortal, add_online_routes
from gateway.core.simulators import (
    BodyTooLarge,
    DroppedResponse,
    FaultDraws,
    SimulatedConnectionDrop,
    add_control_routes,
    read_body,
)
from gateway.core.validation import field_path
from schemas.dvcqg import (
    SERVICE_REQUEST_ADAPTER,
    AuthRequest,
    CapNhatTienDoHoSoMCRequest,
    DongBoHoSoMCRequest,
    LayDanhSachTTHCRequest,
    LayThuTucRequest,
    ServiceName,
    ThuTuc,
    TraCuuHoSoRequest,
)

__all__ = [
    "MAX_BODY_BYTES",
    "DossierRecord",
    "DvcqgSimulator",
    "FaultConfig",
    "SimStats",
    "SimulatedConnectionDrop",
    "canonical_json",
    "create_app",
    "get_simulator",
]

MAX_BODY_BYTES = 5 * 1024 * 1024
"""Request bodies above this are refused with HTTP 413 (a 50-dossier batch is far smaller)."""

OK_MESSAGE = "Thành công"
_SERVICES = frozenset(get_args(ServiceName))
# Bodies of the "malformed" fault: a truncated JSON, an HTML error page from a proxy, and
# valid JSON without error_code. A connector must treat all three as "unknown outcome".
_MALFORMED_BODIES = (
    b'{"error_code": "0", "message": "Th',
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b'{"result": null, "status": "ok"}',
)


def canonical_json(value: Any) -> str:
    """Key-sorted compact JSON: equal packets give equal text, so equal digests."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class FaultConfig(BaseModel):
    """Faults injected into ``/api``; rates are per-request probabilities in 0..1.

    Pre-processing faults (the request is *not* applied): ``error_rate`` answers HTTP 503
    with ``Retry-After: 1``, ``http_500_rate`` answers HTTP 500. ``latency_ms`` delays every
    request before processing. Post-processing faults (the request *is* applied):
    ``timeout_rate`` sleeps ``timeout_seconds`` before answering, ``drop_rate`` drops the
    connection mid-answer, ``malformed_rate`` answers 200 with a body that is not valid JSON
    or lacks ``error_code``. ``expire_sessions`` true invalidates every session at once and
    is then stored as false. ``seed`` re-seeds the fault random generator.
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    http_500_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_seconds: float = Field(default=30.0, ge=0)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    expire_sessions: bool = False
    seed: int | None = None


@dataclass
class DossierRecord:
    """What the simulated platform holds for one dossier.

    ``history`` is the ``TrangThaiHoSo`` of each applied version (duplicates excluded),
    ``versions`` the sha256 of each applied version's canonical JSON, ``steps`` the distinct
    processing steps in arrival order.
    """

    current: dict[str, Any]
    current_json: str
    history: list[int] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    step_digests: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        """Inspection view: ``{"current", "history", "versions" (a count), "steps"}``."""
        return {
            "current": self.current,
            "history": list(self.history),
            "versions": len(self.versions),
            "steps": list(self.steps),
        }


@dataclass
class SimStats:
    """Counters. ``received`` counts every ``/api`` call; ``applied`` and ``duplicates``
    count packets (dossier versions and steps); ``rejected`` counts refused calls (any
    non-"0" answer and HTTP 413); ``faults_injected`` counts per-request faults (latency
    and ``expire_sessions`` are not counted); ``by_service`` counts calls by their
    ``service`` field, faulted ones included."""

    received: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    faults_injected: int = 0
    by_service: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "applied": self.applied,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "faults_injected": self.faults_injected,
            "by_service": dict(self.by_service),
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
        catalogue: Iterable[ThuTuc] = CATALOGUE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.username = username
        self.password = password
        self.seed = seed
        self.session_ttl_seconds = session_ttl_seconds
        self.catalogue: dict[str, ThuTuc] = {entry.MATTHC: entry for entry in catalogue}
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

    # --- the integration endpoint -----------------------------------------------------------

    def handle(self, body: Any) -> dict[str, Any]:
        """Process one parsed ``/api`` body and return the answer (always a dict).

        Batches are all-or-nothing: every check runs before anything is applied.
        """
        if not isinstance(body, dict):
            return self._reject("500", "(body): phải là một đối tượng JSON")
        session = body.get("session")
        if not isinstance(session, str) or not self.session_valid(session):
            return self._reject("100", "Phiên làm việc không hợp lệ hoặc đã hết hạn")
        service = body.get("service")
        if service not in _SERVICES:
            return self._reject("500", f"service: dịch vụ không được hỗ trợ: {service!r}")
        try:
            request = SERVICE_REQUEST_ADAPTER.validate_python(body)
        except ValidationError as exc:
            # loc[0] is the union tag (the service name), not part of the packet's path;
            # input values are left out of the message because they may be personal data
            problems = [f"{field_path(tuple(e['loc'])[1:])}: {e['msg']}" for e in exc.errors()]
            return self._reject("500", "; ".join(problems))
        if isinstance(request, DongBoHoSoMCRequest):
            return self._sync_dossiers(request)
        if isinstance(request, CapNhatTienDoHoSoMCRequest):
            return self._add_steps(request)
        if isinstance(request, TraCuuHoSoRequest):
            return self._look_up(request)
        if isinstance(request, LayDanhSachTTHCRequest):
            return self._list_procedures()
        if isinstance(request, LayThuTucRequest):
            return self._procedure(request)
        return self.online.handle(request)

    def _reject(self, code: str, message: str) -> dict[str, Any]:
        self.stats.rejected += 1
        return {"error_code": code, "message": message}

    def _knows_procedure(self, code: str) -> bool:
        # a local variant (2.000477.000.00.00.H56) is accepted when its national code is known
        return code in self.catalogue or code[:8] in self.catalogue

    def _sync_dossiers(self, request: DongBoHoSoMCRequest) -> dict[str, Any]:
        created_here: set[str] = set()
        for index, packet in enumerate(request.data):
            if not self._knows_procedure(packet.MaTTHC):
                return self._reject(
                    "500",
                    f"data[{index}].MaTTHC: thủ tục {packet.MaTTHC} không có trong danh mục",
                )
            exists = packet.MaHoSo in self.dossiers or packet.MaHoSo in created_here
            if not request.isUpdating and exists:
                return self._reject("-3", f"Hồ sơ {packet.MaHoSo} đã tồn tại")
            created_here.add(packet.MaHoSo)
        for packet in request.data:
            # isUpdating on an unknown dossier creates it (upsert), as lenient platforms do
            dumped = packet.model_dump(mode="json")
            text = canonical_json(dumped)
            record = self.dossiers.get(packet.MaHoSo)
            if record is not None and record.current_json == text:
                self.stats.duplicates += 1
                continue
            if record is None:
                record = DossierRecord(current=dumped, current_json=text)
                self.dossiers[packet.MaHoSo] = record
            record.current = dumped
            record.current_json = text
            record.history.append(packet.TrangThaiHoSo)
            record.versions.append(_digest(text))
            self.stats.applied += 1
        return {"error_code": "0", "message": OK_MESSAGE}

    def _add_steps(self, request: CapNhatTienDoHoSoMCRequest) -> dict[str, Any]:
        for index, step in enumerate(request.data):
            if step.MaHoSo not in self.dossiers:
                return self._reject(
                    "201", f"data[{index}].MaHoSo: không tìm thấy hồ sơ {step.MaHoSo}"
                )
        for step in request.data:
            record = self.dossiers[step.MaHoSo]
            dumped = step.model_dump(mode="json")
            digest = _digest(canonical_json(dumped))
            if digest in record.step_digests:
                self.stats.duplicates += 1
                continue
            record.step_digests.add(digest)
            record.steps.append(dumped)
            self.stats.applied += 1
        return {"error_code": "0", "message": OK_MESSAGE}

    def _look_up(self, request: TraCuuHoSoRequest) -> dict[str, Any]:
        record = self.dossiers.get(request.MaHoSo)
        if record is None:
            return self._reject("201", "Không tìm thấy hồ sơ")
        result = {**record.current, "QuaTrinhXuLy": list(record.steps)}
        return {"error_code": "0", "message": OK_MESSAGE, "result": result}

    def _list_procedures(self) -> dict[str, Any]:
        result = [
            {
                "MATTHC": entry.MATTHC,
                "TENTTHC": entry.TENTTHC,
                "MALINHVUC": entry.LINHVUCTHUCHIEN[0].MALINHVUC,
                "TENLINHVUC": entry.LINHVUCTHUCHIEN[0].TENLINHVUC,
            }
            for entry in self.catalogue.values()
        ]
        return {"error_code": "0", "message": OK_MESSAGE, "result": result}

    def _procedure(self, request: LayThuTucRequest) -> dict[str, Any]:
        entry = self.catalogue.get(request.MaTTHC)
        if entry is None:
            return self._reject("201", f"Không tìm thấy thủ tục {request.MaTTHC}")
        return {"error_code": "0", "message": OK_MESSAGE, "result": entry.model_dump(mode="json")}


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _too_large() -> JSONResponse:
    return JSONResponse(
        {"error_code": "413", "message": f"Dữ liệu vượt quá {MAX_BODY_BYTES} byte"},
        status_code=413,
    )


def get_simulator(app: FastAPI) -> DvcqgSimulator:
    """The typed simulator behind an app made by :func:`create_app`."""
    sim = app.state.sim
    if not isinstance(sim, DvcqgSimulator):
        raise TypeError("app.state.sim is not a DvcqgSimulator")
    return sim


def create_app(
    *,
    username: str = "lgsp-sandbox",
    password: str = "sandbox-secret",  # noqa: S107 - a test double's well-known default
    seed: int | None = None,
    session_ttl_seconds: float = 900.0,
) -> FastAPI:
    """Build the simulator app; its state is ``app.state.sim`` (a :class:`DvcqgSimulator`).

    Paths are relative (``/auth``, ``/api``, ``/_sandbox/...``): the app is meant to be
    mounted, e.g. under ``/dvcqg``.
    """
    sim = DvcqgSimulator(
        username=username,
        password=password,
        seed=seed,
        session_ttl_seconds=session_ttl_seconds,
    )
    app = FastAPI(title="DVCQG sandbox", docs_url=None, redoc_url=None)
    app.state.sim = sim

    @app.post("/auth")
    async def auth(request: Request) -> Response:
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return _too_large()
        try:
            credentials = AuthRequest.model_validate(_parse_json(raw))
        except ValidationError as exc:
            problems = [f"{field_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
            return JSONResponse({"error_code": 500, "message": "; ".join(problems)})
        token = sim.authenticate(credentials.username, credentials.password)
        if token is None:
            return JSONResponse({"error_code": 100, "message": "Sai thông tin xác thực"})
        return JSONResponse({"session": token, "error_code": 0, "message": "OK"})

    @app.post("/api")
    async def api(request: Request) -> Response:
        sim.stats.received += 1
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            sim.stats.rejected += 1
            return _too_large()
        body = _parse_json(raw)
        service = body.get("service") if isinstance(body, dict) else None
        if isinstance(service, str):
            sim.stats.by_service[service] = sim.stats.by_service.get(service, 0) + 1

        faults = sim.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sim.roll(faults.error_rate):
            return JSONResponse(
                {"error_code": "503", "message": "Hệ thống đang bận, vui lòng thử lại"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        if sim.roll(faults.http_500_rate):
            return Response(b"Internal Server Error", status_code=500, media_type="text/plain")

        # from here on the request is applied, whatever happens to the answer
        answer = sim.handle(body)

        if sim.roll(faults.timeout_rate):
            await asyncio.sleep(faults.timeout_seconds)
        if sim.roll(faults.drop_rate):
            body_bytes = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            return DroppedResponse(body_bytes, media_type="application/json")
        if sim.roll(faults.malformed_rate):
            content = sim.rng.choice(_MALFORMED_BODIES)
            return Response(content, status_code=200, media_type="application/json")
        return JSONResponse(answer)

    @app.get("/_sandbox/dossiers")
    async def dossiers() -> dict[str, Any]:
        return {code: record.as_dict() for code, record in sim.dossiers.items()}

    @app.get("/_sandbox/dossiers/{ma_ho_so}")
    async def dossier(ma_ho_so: str) -> dict[str, Any]:
        record = sim.dossiers.get(ma_ho_so)
        if record is None:
            raise HTTPException(status_code=404, detail=f"unknown dossier {ma_ho_so}")
        return record.as_dict()

    add_online_routes(app, sim.online)
    add_control_routes(app, sim, FaultConfig)

    return app
