"""The population-database simulator's platform: its state and protocol logic, without HTTP.

:class:`DancuSimulator` holds what the platform knows (the synthetic population, officers
and their credentials, licensed procedures, integration codes), the fault configuration,
counters and the last requests received (ID numbers masked), and decides each call's result
code in the order documented in :mod:`connectors.dancu.sandbox.app`. The HTTP app that
serves it is :func:`connectors.dancu.sandbox.app.create_app`. The HTTP-level credentials
(HTTP Basic with its timestamp, the LGSP's relay) are checked by
:mod:`connectors.dancu.sandbox.auth` against :attr:`DancuSimulator.clock`, which tests may
replace.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from connectors.dancu.sandbox.auth import (
    DEFAULT_ACCOUNTS,
    TIMESTAMP_WINDOW_SECONDS,
    Credential,
    IntegrationAccount,
)
from connectors.dancu.sandbox.population import Citizen, Population, normalise_name
from connectors.dancu.sandbox.provinces import mask
from connectors.dancu.sandbox.request import LOOKUP, YeuCau
from connectors.dancu.sandbox.soap import WsdlDocument, lookup_answer, verification_answer
from gateway.core.http.simulators import FaultDraws

__all__ = [
    "DEFAULT_INTEGRATION_CODES",
    "DEFAULT_PROCEDURES",
    "NOT_PERMITTED_OFFICER",
    "REQUEST_LOG_SIZE",
    "UNLICENSED_PROCEDURE",
    "DancuSimulator",
    "FaultConfig",
    "Hostile",
    "Officer",
    "SimStats",
    "citizen_json",
    "default_officers",
]

REQUEST_LOG_SIZE = 500
"""How many received requests ``/_sandbox/requests`` remembers."""

DEFAULT_INTEGRATION_CODES = frozenset({"LGSP-SANDBOX"})
UNLICENSED_PROCEDURE = "1.004227"
"""Known to the catalogue but deliberately not licensed, so that code 004 can be shown."""
DEFAULT_PROCEDURES = frozenset(
    {
        "1.001776",
        "2.000477",
        "1.001612",
        "1.003005",
        "2.000286",
        "1.000656",
        "1.000894",
        "1.001193",
        "1.001622",
        "1.005388",
        "2.000815",
        "2.000908",
        "2.002189",
        # the province's own variant of 2.000477 and 3.000161 are in the sandbox's DVCQG
        # catalogue too: the demo's dossiers may use any procedure of it but the unlicensed one
        "2.000477.000.00.00.H56",
        "3.000161",
    }
)
"""Procedures licensed to query the population database (``UNLICENSED_PROCEDURE`` is not)."""
NOT_PERMITTED_OFFICER = "CB0099"
"""Known to the platform, not permitted to query (code 005)."""

Hostile = Literal["xxe", "billion_laughs", "oversize", "dtd"]


@dataclass(frozen=True, slots=True)
class Officer:
    """An officer as the platform knows them: code, platform credential, permission."""

    ma_can_bo: str
    username: str
    password: str
    permitted: bool = True


def default_officers() -> dict[str, Officer]:
    """CB0001..CB0050 (``canbo0001`` / ``sandbox-canbo0001`` ...), and CB0099 not permitted."""
    officers = {
        f"CB{n:04d}": Officer(f"CB{n:04d}", f"canbo{n:04d}", f"sandbox-canbo{n:04d}")
        for n in range(1, 51)
    }
    officers[NOT_PERMITTED_OFFICER] = Officer(
        NOT_PERMITTED_OFFICER, "canbo0099", "sandbox-canbo0099", permitted=False
    )
    return officers


class FaultConfig(BaseModel):
    """Faults injected into ``POST /ws``; rates are per-request probabilities in 0..1.

    Before the call is processed: ``latency_ms`` delays every call; ``error_rate`` answers
    HTTP 503 (``Retry-After: 1``, a proxy's plain text); ``http_500_rate`` answers HTTP 500
    with a ``soap:Server`` Fault; ``quota_rate`` answers code 008 and ``busy_rate`` code 009
    (HTTP 200, the operation's answer). After it: ``timeout_rate`` sleeps
    ``timeout_seconds`` before answering, ``drop_rate`` drops the connection mid-answer,
    ``malformed_rate`` answers 200 with a body that is no valid answer. ``hostile`` is
    one-shot: the next answer is written as that hostile variant (see
    :func:`connectors.dancu.sandbox_soap.hostile_body`; ``oversize`` makes it at least
    ``oversize_bytes`` long), then it is stored as null. ``hostile_count`` makes it the next
    *n* answers instead (a client that retries an answer it refused then sees every attempt
    refused). ``seed`` re-seeds the draws.
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    http_500_rate: float = Field(default=0.0, ge=0, le=1)
    quota_rate: float = Field(default=0.0, ge=0, le=1)
    busy_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_seconds: float = Field(default=30.0, ge=0)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    hostile: Hostile | None = None
    hostile_count: int = Field(default=1, ge=1, le=100)
    oversize_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    seed: int | None = None


@dataclass
class SimStats:
    """Counters. ``received`` counts every ``POST /ws``; ``by_operation`` the calls read as
    an operation (faulted ones included); ``by_code`` the answers by ``MaKetQua``;
    ``soap_faults`` the requests refused as no SOAP call; ``too_large`` the 413s;
    ``refused_auth`` the 401s (an HTTP-level credential that failed, or none at all);
    ``by_credential`` the calls read as an operation by how they were authenticated
    (``authhash``, ``basic``, ``lgsp``);
    ``faults_injected`` the per-request faults (latency excluded), hostile answers included;
    ``hostile_sent`` the hostile answers by kind."""

    received: int = 0
    soap_faults: int = 0
    too_large: int = 0
    refused_auth: int = 0
    faults_injected: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    by_credential: dict[str, int] = field(default_factory=dict)
    by_code: dict[str, int] = field(default_factory=dict)
    hostile_sent: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "soap_faults": self.soap_faults,
            "too_large": self.too_large,
            "refused_auth": self.refused_auth,
            "faults_injected": self.faults_injected,
            "by_operation": dict(self.by_operation),
            "by_credential": dict(self.by_credential),
            "by_code": dict(self.by_code),
            "hostile_sent": dict(self.hostile_sent),
        }


def credential_label(credential: str) -> str:
    """How a call was authenticated, as the counters and the request log name it."""
    return "authhash" if credential == "none" else credential


def _count(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


class DancuSimulator(FaultDraws):
    """The simulated platform's state and protocol logic, independent of HTTP."""

    def __init__(
        self,
        *,
        seed: int = 2024,
        size: int = 5000,
        population: Population | None = None,
        wsdl: WsdlDocument | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.seed = seed
        #: seconds since the epoch, against which a ``timestamp`` header is checked
        self.clock = clock
        self.timestamp_window = float(TIMESTAMP_WINDOW_SECONDS)
        self.population = population if population is not None else Population(seed, size)
        self.wsdl = wsdl if wsdl is not None else WsdlDocument()
        self.officers = default_officers()
        self.accounts = dict(DEFAULT_ACCOUNTS)
        self.integration_codes = set(DEFAULT_INTEGRATION_CODES)
        self.licensed_procedures = set(DEFAULT_PROCEDURES)
        self.stats = SimStats()
        self.faults = FaultConfig()
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.rng = random.Random(seed)  # noqa: S311 - fault draws, not security

    # --- state management -------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the start: default officers, procedures and codes; no counters, requests
        or faults; the generator re-seeded. The population is immutable and stays."""
        self.officers = default_officers()
        self.accounts = dict(DEFAULT_ACCOUNTS)
        self.integration_codes = set(DEFAULT_INTEGRATION_CODES)
        self.licensed_procedures = set(DEFAULT_PROCEDURES)
        self.stats = SimStats()
        self.faults = FaultConfig()
        self.requests.clear()
        self.rng = random.Random(self.seed)  # noqa: S311 - fault draws, not security

    def set_faults(self, config: FaultConfig) -> FaultConfig:
        if config.seed is not None:
            self.rng = random.Random(config.seed)  # noqa: S311 - fault draws, not security
        self.faults = config
        return self.faults

    def take_hostile(self) -> Hostile | None:
        """The pending one-shot hostile answer, cleared as it is taken."""
        kind = self.faults.hostile
        if kind is not None:
            left = self.faults.hostile_count - 1
            update: dict[str, Any] = {"hostile_count": left}
            if not left:
                update = {"hostile": None, "hostile_count": 1}
            self.faults = self.faults.model_copy(update=update)
            self.stats.faults_injected += 1
            _count(self.stats.hostile_sent, kind)
        return kind

    def add_officer(self, officer: Officer) -> None:
        self.officers[officer.ma_can_bo] = officer

    def add_account(self, account: IntegrationAccount) -> None:
        self.accounts[account.username] = account

    def set_procedure(self, ma_dvc: str, licensed: bool) -> None:
        if licensed:
            self.licensed_procedures.add(ma_dvc)
        else:
            self.licensed_procedures.discard(ma_dvc)

    def set_integration_code(self, ma_tich_hop: str, known: bool) -> None:
        if known:
            self.integration_codes.add(ma_tich_hop)
        else:
            self.integration_codes.discard(ma_tich_hop)

    # --- the protocol -----------------------------------------------------------------------

    def note_operation(self, request: YeuCau, credential: Credential) -> None:
        """Count a call read as an operation (before any fault is drawn for it)."""
        _count(self.stats.by_operation, request.operation)
        _count(self.stats.by_credential, credential_label(credential))

    def _authenticated(self, officer: Officer, auth_hash: str | None) -> bool:
        if not auth_hash:
            return False
        try:
            decoded = base64.b64decode(auth_hash.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, colon, password = decoded.partition(":")
        # constant-time comparison: the sandbox should not teach timing leaks by example
        user_ok = hmac.compare_digest(username.encode(), officer.username.encode())
        password_ok = hmac.compare_digest(password.encode(), officer.password.encode())
        return bool(colon) and user_ok and password_ok

    def _licensed(self, ma_dvc: str) -> bool:
        return ma_dvc in self.licensed_procedures or ma_dvc[:8] in self.licensed_procedures

    def refusal(self, request: YeuCau, credential: Credential = "none") -> str | None:
        """The code refusing ``request`` before any citizen is read, or None.

        ``credential`` is how the HTTP layer authenticated the caller: with HTTP Basic or
        through the LGSP the officer is named by ``MaCanBo`` alone and an AuthHash is not
        required (one that is sent is still checked); with none, the AuthHash is the
        credential."""
        if request.invalid is not None:
            return "001"
        if request.ma_tich_hop not in self.integration_codes:
            return "003"
        officer = self.officers.get(request.ma_can_bo)
        if officer is None:
            return "005"
        needs_hash = credential == "none" or request.auth_hash is not None
        if needs_hash and not self._authenticated(officer, request.auth_hash):
            return "002"
        if not officer.permitted:
            return "005"
        if not self._licensed(request.ma_dvc):
            return "004"
        return None

    def match(self, request: YeuCau) -> Citizen | None:
        """The citizen when number (SoDinhDanh, else SoCMND), name and birth date all match,
        else None. Names are compared without diacritics, case or spaces: public senders
        write HoVaTen both with and without its spaces."""
        if request.so_dinh_danh is not None:
            citizen = self.population.get(request.so_dinh_danh)
        else:
            citizen = self.population.by_old_card(request.so_cmnd or "")
        if citizen is None or normalise_name(citizen.ho_va_ten) != normalise_name(
            request.ho_va_ten
        ):
            return None
        born = citizen.ngay_sinh
        if request.ngay_thang_nam is not None:
            return citizen if request.ngay_thang_nam == f"{born:%Y%m%d}" else None
        return citizen if request.nam == f"{born.year:04d}" else None

    def answer(
        self,
        request: YeuCau,
        forced_code: str | None = None,
        credential: Credential = "none",
    ) -> etree._Element:
        """The answer envelope for ``request`` (``forced_code``: a 008/009 fault); counts it
        and remembers the request (masked)."""
        code = forced_code or self.refusal(request, credential)
        message = request.invalid if code == "001" else None
        if request.operation == LOOKUP:
            citizen = self.match(request) if code is None else None
            code = code or ("000" if citizen is not None else "006")
            envelope = lookup_answer(request.ma_yeu_cau, code, citizen, message=message)
        else:
            exists = self.match(request) is not None if code is None else None
            code = code or "000"
            envelope = verification_answer(request.ma_yeu_cau, code, exists, message=message)
        _count(self.stats.by_code, code)
        self.remember(request, code, credential)
        return envelope

    def remember(self, request: YeuCau | None, code: str, credential: str | None = None) -> None:
        entry: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "code": code}
        if credential is not None:
            entry["credential"] = credential_label(credential)
        if request is not None:
            entry.update(
                operation=request.operation,
                ma_yeu_cau=request.ma_yeu_cau[:64],
                ma_dvc=request.ma_dvc[:64],
                ma_can_bo=request.ma_can_bo[:64],
                ma_don_vi=(request.ma_don_vi or "")[:35] or None,
                tai_khoan=(request.tai_khoan or "")[:64] or None,
                so_dinh_danh=mask(request.id_number[:64]),
                id_field="SoDinhDanh" if request.so_dinh_danh is not None else "SoCMND",
                ho_va_ten_spaced=" " in request.ho_va_ten,
                authhash=request.auth_hash is not None,
            )
        self.requests.append(entry)


def citizen_json(citizen: Citizen) -> dict[str, Any]:
    """A record for ``/_sandbox/citizens``, with the name forms tests and demos need."""
    record = dataclasses.asdict(citizen)
    record["ngay_sinh"] = citizen.ngay_sinh.isoformat()
    record["ho_va_ten"] = citizen.ho_va_ten
    record["ten_chuan_hoa"] = citizen.ten_chuan_hoa
    record["ten_in_hoa"] = citizen.ten_in_hoa
    return record
