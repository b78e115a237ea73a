"""A simulator of the National Business Registration Database as the public callers see it
(``docs/research/issue-23-sources.md`` section 2), mounted e.g. under ``/dkdn``.

* ``POST /token``: NGSP client credentials (HTTP Basic consumer key:secret, form
  ``grant_type=client_credentials``) -> ``{access_token, token_type, expires_in}``; 401
  ``invalid_client`` otherwise.
* ``GET /apiCSDLDKDN/1.0/chiTietDoanhNghiep?msdn=`` (``ngsp``): a bearer token it issued is
  required (or the LGSP simulator's relay header); answers ``{Data: {MainInformation, HOAdress,
  Representatives, BusinessActivities}}``, ``{Data: {}}`` for an unknown code.
* ``GET /apiDKKD/DoanhNghiep/chiTietDoanhNghiep?msdn=`` (``lgsp-entcert``): the provincial
  LGSP's wrapper (its own authentication is the LGSP's, not modelled here); answers
  ``{GetEntCert: [...]}``, ``{GetEntCert: null}`` for an unknown code.
* ``GET /TraCuuThongTinDoanhNghiep?MaSoDoanhNghiep=`` (``lgsp-hcm``): an ``Authorization``
  header must be present; the ``{StatusCode, Status, ThrowException, Description,
  ResultObject}`` envelope.

Strict where the platform is: the code must be 10 digits or 10 digits-3 digits (HTTP 400
otherwise), the bearer token must be one it issued and alive (401). Sloppy where real senders
are: the query name is matched without case, blanks around the code are trimmed; and its own
answers are as loose as the public callers expect (``sloppy``: a lone representative as an
object, numbers as strings).

Not part of the platform, under ``/_sandbox``: ``GET /enterprises?status=&limit=&offset=``
(the register, for tests and the demo), ``GET /received`` (the look-ups received, codes
kept), ``GET /stats``, ``POST /reset``, ``GET|PUT /faults`` (:class:`FaultConfig`),
``POST /revoke`` (every token issued dies).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from connectors.dkdn.sandbox.register import Branch, Enterprise, Register
from gateway.core.http.simulators import (
    BodyTooLarge,
    DroppedResponse,
    FaultDraws,
    add_control_routes,
    count,
    read_body,
)

__all__ = ["CONSUMER", "DkdnSimulator", "FaultConfig", "create_app", "get_simulator"]

#: the consumer the simulator knows (the connector's development defaults, written out again)
CONSUMER = ("sandbox-dkdn", "sandbox-dkdn-secret")
RELAY_HEADER = "x-lgsp-relay"
RELAY_VALUE = "sandbox-lgsp-relay"
_CODE = re.compile(r"^\d{10}(-\d{3})?$")
MAX_BODY = 16 * 1024

#: answers that are no valid answer, one drawn per malformed fault
MALFORMED: tuple[bytes, ...] = (
    b"<html><body>502 Bad Gateway</body></html>",
    b'{"Data": {"MainInformation": {"NAME": {"vi": "not text"}}}}',
    b'{"Data": {"MainInformation": {"ENTERPRISE_GDT_CODE": "0100000000", "NAME": "X", '
    b'"FOUNDING_DATE": "not a date"}}}',
    b'{"Data": ',
    b"[]",
)


class FaultConfig(BaseModel):
    """Faults of the look-up endpoints; rates are per-request probabilities in 0..1 from a
    seeded generator (``seed`` re-seeds it). ``latency_ms`` delays every look-up;
    ``error_rate`` answers HTTP 503; ``timeout_rate`` sleeps ``timeout_seconds`` before
    answering; ``drop_rate`` drops the connection mid-answer; ``malformed_rate`` answers 200
    with something no valid answer; ``rate_limit_per_minute`` answers 429 (``Retry-After``)
    past that many look-ups in a minute (0: none)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0, le=60_000)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_seconds: float = Field(default=30.0, ge=0, le=600)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit_per_minute: int = Field(default=0, ge=0, le=100_000)
    sloppy: bool = True
    token_lifetime_seconds: int = Field(default=3600, ge=1, le=86_400)
    seed: int | None = None


@dataclass
class SimStats:
    received: int = 0
    by_profile: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    tokens_issued: int = 0
    refused: int = 0
    faults_injected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DkdnSimulator(FaultDraws):
    def __init__(
        self, register: Register | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.register = register or Register()
        self.clock = clock
        self.faults = FaultConfig()
        self.rng = random.Random(0)  # noqa: S311 - fault draws, not security
        self.stats = SimStats()
        self.tokens: dict[str, float] = {}
        self.received: list[dict[str, Any]] = []
        self._window: list[float] = []

    def reset(self) -> None:
        self.faults = FaultConfig()
        self.rng = random.Random(0)  # noqa: S311 - fault draws, not security
        self.stats = SimStats()
        self.tokens.clear()
        self.received.clear()
        self._window.clear()

    def set_faults(self, config: FaultConfig) -> FaultConfig:
        self.faults = config
        if config.seed is not None:
            self.rng = random.Random(config.seed)  # noqa: S311 - fault draws, not security
        return self.faults

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + self.faults.token_lifetime_seconds
        self.stats.tokens_issued += 1
        return token

    def token_alive(self, token: str) -> bool:
        until = self.tokens.get(token)
        return until is not None and self.clock() < until

    def rate_limited(self) -> bool:
        limit = self.faults.rate_limit_per_minute
        if not limit:
            return False
        now = self.clock()
        self._window = [t for t in self._window if now - t < 60]
        if len(self._window) >= limit:
            self.stats.faults_injected += 1
            return True
        self._window.append(now)
        return False


def get_simulator(app: Any) -> DkdnSimulator:
    sim = app.state.sim
    assert isinstance(sim, DkdnSimulator)
    return sim


# --- answers, one writer per profile (from the public shapes, not the connector's models) ------


def _day(value: date | None) -> str | None:
    return f"{value.isoformat()}T00:00:00" if value else None


def _num(value: int, sloppy: bool) -> Any:
    return str(value) if sloppy else value


def ngsp_answer(found: tuple[Enterprise, Branch | None] | None, sloppy: bool) -> dict[str, Any]:
    if found is None:
        return {"Data": {}}
    e, branch = found
    _, province, _, district, _, ward = e.place
    reps: Any = [{"FULL_NAME": r.full_name, "POSITION_NAME": r.position} for r in e.representatives]
    if sloppy and len(reps) == 1:
        reps = reps[0]  # OpenCPS reads Representatives as an object or a list
    return {
        "Data": {
            "MainInformation": {
                "ENTERPRISE_ID": e.internal_id,
                "ENTERPRISE_GDT_CODE": branch.code if branch else e.code,
                "NAME": branch.name if branch else e.name,
                "NAME_F": e.foreign_name,
                "SHORT_NAME": e.short_name or None,
                "IMP_BUSINESS_CODE": None,
                "ENTERPRISE_TYPE_ID": e.type_code,
                "ENTERPRISE_TYPE_NAME": "Chi nhánh" if branch else e.type_name,
                "ENTERPRISE_STATUS_ID": e.status,
                "ENTERPRISE_STATUS_NAME": e.status_name,
                "FOUNDING_DATE": _day(e.founded),
                "LAST_AMEND_DATE": _day(e.amended),
                "NUMBER_CHANGES": _num(e.changes, sloppy),
                "CAPITAL_AMOUNT": None if branch else _num(e.capital, sloppy),
                "UNKNOWN_FUTURE_FIELD": "ignored by tolerant readers",
            },
            "HOAdress": {
                "AddressFullText": e.address,
                "CityName": province,
                "DistrictName": district,
                "WardName": ward,
                "CityId": e.place[0],
                "DistrictId": e.place[2],
                "WardId": e.place[4],
            },
            "Representatives": reps,
            "BusinessActivities": [
                {"CODE": ln.code, "NAME": ln.name, "IS_MAIN": "1" if ln.main else "0"}
                for ln in e.lines
            ],
        }
    }


def entcert_answer(found: tuple[Enterprise, Branch | None] | None, sloppy: bool) -> dict[str, Any]:
    if found is None:
        return {"GetEntCert": None}
    e, branch = found
    country = ("Việt Nam", "VN")
    code_p, province, code_d, district, code_w, ward = e.place
    return {
        "GetEntCert": [
            {
                "MaNoiBo": e.internal_id,
                "MaSoDoanhNghiep": branch.code if branch else e.code,
                "SoGCNDKKD": branch.code if branch else e.code,
                "MaLoaiHinhDN": e.type_code,
                "LoaiHinhDN": "Chi nhánh" if branch else e.type_name,
                "TenTiengViet": branch.name if branch else e.name,
                "TenNuocNgoai": e.foreign_name,
                "TenVietTat": e.short_name,
                "NgayDangKyLanDau": _day(e.founded),
                "NgayDangKyThayDoi": _day(e.amended),
                "SoLanDangKyThayDoi": _num(e.changes, sloppy),
                "TinhTrangPhapLy": [
                    {
                        "TinhTrangPhapLy": e.status_name,
                        "MaTinhTrangPhapLy": e.status,
                        "NgayBatDauTamNgung": _day(e.suspended_from),
                        "NgayKetThucTamNgung": _day(e.suspended_to),
                        "LyDoTamNgung": e.suspension_reason,
                    }
                ],
                "DaiDienPhapLuat": [
                    {
                        "ThongTinCaNhan": [
                            {
                                "HoVaTen": r.full_name,
                                "LoaiGiayToChungThuc": r.id_type,
                                "MaLoaiGiayToChungThuc": "CCCD",
                                "SoGiayChungThuc": r.id_number,
                                "QuocTich": r.nationality,
                                "MaQuocTich": "VN",
                            }
                        ]
                    }
                    for r in e.representatives
                ],
                "DiaChiTruSo": [
                    {
                        "DiaChi": [
                            {
                                "QuocGia": country[0],
                                "MaQuocGia": country[1],
                                "TenTinhThanh": province,
                                "MaTinhThanh": code_p,
                                "TenQuanHuyen": district,
                                "MaQuanHuyen": code_d,
                                "TenPhuongXa": ward,
                                "MaPhuongXa": code_w,
                                "DiaChi": e.street,
                                "SoNha": None,
                            }
                        ]
                    }
                ],
                "NganhNgheKinhDoanh": [
                    {"MaNganh": ln.code, "TenNganh": ln.name, "LaNganhChinh": 1 if ln.main else 0}
                    for ln in e.lines
                ],
            }
        ]
    }


def hcm_answer(found: tuple[Enterprise, Branch | None] | None, sloppy: bool) -> dict[str, Any]:
    main = ngsp_answer(found, sloppy)["Data"].get("MainInformation")
    if main is not None and found is not None:
        main = {**main, "HO_ADDRESS_FULLTEXT": found[0].address}
    return {
        "StatusCode": 200,
        "Status": "SUCCESS",
        "ThrowException": False,
        "Description": "Thành công" if main else "Không tìm thấy doanh nghiệp",
        "ResultObject": main,
    }


_PROFILES: dict[str, tuple[str, Callable[..., dict[str, Any]]]] = {
    "/apiCSDLDKDN/1.0/chiTietDoanhNghiep": ("ngsp", ngsp_answer),
    "/apiDKKD/DoanhNghiep/chiTietDoanhNghiep": ("lgsp-entcert", entcert_answer),
    "/TraCuuThongTinDoanhNghiep": ("lgsp-hcm", hcm_answer),
}


def _refuse(sim: DkdnSimulator, status: int, error: str, detail: str) -> JSONResponse:
    sim.stats.refused += 1
    return JSONResponse({"error": error, "error_description": detail}, status_code=status)


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, secret) if sep else None


def create_app(register: Register | None = None) -> FastAPI:
    sim = DkdnSimulator(register)
    app = FastAPI(title="Business registration database simulator", docs_url=None, redoc_url=None)
    app.state.sim = sim
    add_control_routes(app, sim, FaultConfig)

    @app.post("/token")
    async def token(request: Request) -> Response:
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLarge:
            return _refuse(sim, 413, "invalid_request", "body too large")
        form = dict(pair.split("=", 1) for pair in body.decode("latin-1").split("&") if "=" in pair)
        if form.get("grant_type") != "client_credentials":
            return _refuse(sim, 400, "unsupported_grant_type", "client_credentials only")
        if _basic(request.headers.get("authorization", "")) != CONSUMER:
            return _refuse(sim, 401, "invalid_client", "unknown consumer key or secret")
        return JSONResponse(
            {
                "access_token": sim.issue_token(),
                "token_type": "Bearer",
                "expires_in": sim.faults.token_lifetime_seconds,
                "scope": "default",
            }
        )

    async def lookup(request: Request, profile: str, write: Callable[..., Any]) -> Response:
        relayed = request.headers.get(RELAY_HEADER) == RELAY_VALUE
        auth = request.headers.get("authorization", "")
        if profile == "ngsp" and not relayed:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "bearer" or not sim.token_alive(value.strip()):
                return _refuse(sim, 401, "invalid_token", "missing, unknown or expired token")
        if profile == "lgsp-hcm" and not relayed and not auth.strip():
            return _refuse(sim, 401, "invalid_token", "Authorization required")
        wanted = "masodoanhnghiep" if profile == "lgsp-hcm" else "msdn"
        codes = [v for k, v in request.query_params.multi_items() if k.lower() == wanted]
        if len(codes) != 1 or not _CODE.fullmatch(codes[0].strip()):
            return _refuse(sim, 400, "invalid_request", f"{wanted}: 10 digits or 10-3 digits")
        code = codes[0].strip()
        sim.stats.received += 1
        count(sim.stats.by_profile, profile)
        sim.received.append({"profile": profile, "code": code, "relayed": relayed})
        faults = sim.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if sim.rate_limited():
            return JSONResponse(
                {"error": "rate_limited"}, status_code=429, headers={"Retry-After": "1"}
            )
        if sim.roll(faults.error_rate):
            return JSONResponse(
                {"error": "unavailable"}, status_code=503, headers={"Retry-After": "1"}
            )
        if sim.roll(faults.timeout_rate):
            await asyncio.sleep(faults.timeout_seconds)
        found = sim.register.find(code)
        status = found[0].status if found else "none"
        count(sim.stats.by_status, status)
        if sim.roll(faults.malformed_rate):
            return Response(sim.rng.choice(MALFORMED), media_type="application/json")
        body = json.dumps(write(found, faults.sloppy), ensure_ascii=False).encode()
        if sim.roll(faults.drop_rate):
            return DroppedResponse(body, media_type="application/json")
        return Response(body, media_type="application/json")

    def serve(profile: str, write: Callable[..., Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await lookup(request, profile, write)

        return endpoint

    for path, (profile, write) in _PROFILES.items():
        app.add_api_route(path, serve(profile, write), methods=["GET"])

    @app.get("/_sandbox/enterprises")
    async def enterprises(status: str | None = None, limit: int = 50, offset: int = 0) -> Any:
        rows = [
            e
            for e in sim.register.enterprises.values()
            if status is None or e.status == status.upper()
        ][offset : offset + max(0, min(limit, 500))]
        return {
            "enterprises": [
                {
                    "code": e.code,
                    "name": e.name,
                    "status": e.status,
                    "branches": [b.code for b in e.branches],
                    "representatives": [r.full_name for r in e.representatives],
                    "lines": [{"code": ln.code, "main": ln.main} for ln in e.lines],
                }
                for e in rows
            ]
        }

    @app.get("/_sandbox/received")
    async def received() -> Any:
        return {"received": sim.received[-500:]}

    @app.post("/_sandbox/revoke")
    async def revoke() -> Any:
        sim.tokens.clear()
        return {"status": "revoked"}

    return app
