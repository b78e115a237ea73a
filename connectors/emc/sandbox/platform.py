"""The simulated EMC: what it keeps, how it de-duplicates, its faults."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.emc.sandbox.wire import Aggregate, Event
from gateway.core.http.simulators import FaultDraws

__all__ = ["EmcSimulator", "FaultConfig", "Refusal", "SimStats"]

#: the SiteIds the simulator knows (a real EMC issues one per province)
DEFAULT_SITES = frozenset({3800})


class FaultConfig(BaseModel):
    """Faults; rates are per-request probabilities in 0..1 (seeded: ``seed`` re-seeds).

    Before processing (nothing kept): ``latency_ms`` delays every request, ``error_rate``
    answers HTTP 503 (``Retry-After: 1``), ``http_500_rate`` HTTP 500. After processing (kept):
    ``timeout_rate`` sleeps ``timeout_seconds`` before answering, ``drop_rate`` drops the
    connection mid-answer, ``malformed_rate`` answers 200 with a body that is not JSON."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0, le=60_000)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    http_500_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_seconds: float = Field(default=30.0, ge=0, le=600)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    seed: int | None = None


@dataclass
class SimStats:
    received: dict[str, int] = field(default_factory=dict)
    events_kept: int = 0
    duplicates: int = 0
    invalid: int = 0
    aggregates_accepted: int = 0
    aggregates_replaced: int = 0
    aggregate_duplicates: int = 0
    faults_injected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": dict(self.received),
            "events_kept": self.events_kept,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "aggregates_accepted": self.aggregates_accepted,
            "aggregates_replaced": self.aggregates_replaced,
            "aggregate_duplicates": self.aggregate_duplicates,
            "faults_injected": self.faults_injected,
        }


class Refusal(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "field": self.field}


def _digest(body: Any) -> str:
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _refusal_of(exc: ValidationError) -> Refusal:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or None
    return Refusal(400, f"invalid packet: {first['msg']}", loc)


class EmcSimulator(FaultDraws):
    def __init__(self, *, sites: frozenset[int] = DEFAULT_SITES, seed: int = 2026) -> None:
        self.sites = sites
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self.rng = random.Random(self._seed)  # noqa: S311 - fault draws, not secrets
        self.faults = FaultConfig()
        self.stats = SimStats()
        #: every distinct event kept, in arrival order (the inspection endpoint lists them)
        self.events: list[dict[str, Any]] = []
        self._event_digests: set[str] = set()
        #: the month's aggregate of each (SiteId, MaDonVi, Thang), the latest replacing
        self.aggregates: dict[tuple[int, str, str], dict[str, Any]] = {}

    def set_faults(self, config: FaultConfig) -> FaultConfig:
        self.faults = config
        if config.seed is not None:
            self.rng = random.Random(config.seed)  # noqa: S311
        return self.faults

    def track(self, body: Any) -> dict[str, Any]:
        """Keep one event; an identical repeat is counted, not kept twice."""
        try:
            event = Event.model_validate(body)
        except ValidationError as exc:
            self.stats.invalid += 1
            raise _refusal_of(exc) from None
        if event.SiteId not in self.sites:
            self.stats.invalid += 1
            raise Refusal(403, f"unknown SiteId {event.SiteId}", "SiteId")
        digest = _digest(body)
        if digest in self._event_digests:
            self.stats.duplicates += 1
            return {"status": "duplicate"}
        self._event_digests.add(digest)
        self.events.append(event.model_dump())
        self.stats.events_kept += 1
        return {"status": "ok"}

    def aggregate(self, body: Any) -> dict[str, Any]:
        """Keep a month's aggregate: replaces the month's previous one; identical: duplicate."""
        try:
            packet = Aggregate.model_validate(body)
        except ValidationError as exc:
            self.stats.invalid += 1
            raise _refusal_of(exc) from None
        if packet.SiteId not in self.sites:
            self.stats.invalid += 1
            raise Refusal(403, f"unknown SiteId {packet.SiteId}", "SiteId")
        key = (packet.SiteId, packet.MaDonVi, packet.Thang)
        report_id = f"{packet.SiteId}-{packet.MaDonVi}-{packet.Thang}"
        digest = _digest(body)
        previous = self.aggregates.get(key)
        if previous is not None and previous["digest"] == digest:
            self.stats.aggregate_duplicates += 1
            return {"status": "duplicate", "report_id": report_id}
        self.aggregates[key] = {
            "digest": digest,
            "packet": packet.model_dump(),
            "version": 1 if previous is None else previous["version"] + 1,
        }
        if previous is None:
            self.stats.aggregates_accepted += 1
            return {"status": "accepted", "report_id": report_id}
        self.stats.aggregates_replaced += 1
        return {"status": "replaced", "report_id": report_id}

    def received(self) -> dict[str, Any]:
        return {
            "events": list(self.events),
            "aggregates": [
                {"key": list(k), "version": v["version"], "packet": v["packet"]}
                for k, v in self.aggregates.items()
            ],
        }
