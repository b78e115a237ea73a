"""The simulated portal's faults and behaviour switches (``PUT /_sandbox/faults``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FaultConfig"]


class FaultConfig(BaseModel):
    """Faults injected into the integration and share endpoints; rates are per-request
    probabilities in 0..1.

    Pre-processing faults (the request is *not* applied): ``error_rate`` answers HTTP 503
    with ``Retry-After: 1``, ``http_500_rate`` answers HTTP 500. ``latency_ms`` delays every
    request before processing. Post-processing faults (the request *is* applied):
    ``timeout_rate`` sleeps ``timeout_seconds`` before answering, ``drop_rate`` drops the
    connection mid-answer, ``malformed_rate`` answers 200 with a body that is not valid JSON
    or lacks ``error_code``. ``expire_sessions`` true invalidates every session at once and
    is then stored as false. ``seed`` re-seeds the fault random generator.

    ``exists_code`` is how the portal says "this dossier already exists": "-3" or "3", or
    "0" with the message "... đã tồn tại", which PASETO also reads as "exists"
    (``SyncLocalDataToDVCQGService.cs`` lines 498-503).
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
    exists_code: Literal["-3", "3", "0"] = "-3"
