"""State of the eSign simulator: its test PKI, the services' sessions and transactions, the
fault switches and the counters. One :class:`EsignSimulator` lives at ``app.state.sim``."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.esign.sandbox.accounts import HOLDERS, HeldCertificate
from connectors.esign.sandbox.pki import SandboxPKI

__all__ = [
    "EsignSimulator",
    "FaultConfig",
    "SignedFile",
    "SimStats",
    "Transaction",
    "TransactionState",
]

TransactionState = Literal["pending", "approved", "denied", "expired"]


class FaultConfig(BaseModel):
    """``PUT /_sandbox/faults``."""

    model_config = ConfigDict(extra="forbid")

    revocation_down: bool = Field(False, description="CRL and OCSP answer 503 (responder down)")
    ocsp_down: bool = Field(False, description="only the OCSP responder answers 503")
    tsa_down: bool = Field(False, description="the timestamp authority answers 503")
    service_down: bool = Field(False, description="both signing services answer 503")
    wrong_signature: bool = Field(
        False, description="the services answer a signature made over another digest"
    )
    auto_approve: bool = Field(
        True, description="SmartCA: approve at once (else wait for /_sandbox/transactions/...)"
    )


@dataclass
class SimStats:
    logins: int = 0
    signatures: int = 0
    ocsp: int = 0
    crl: int = 0
    tsa: int = 0
    refused: int = 0
    transactions: int = 0
    duplicates: int = 0
    certificate_reads: int = 0
    status_polls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SignedFile:
    """One item of ``sign_files``: the hash to sign and, once approved, its signature."""

    doc_id: str
    file_type: str
    digest: bytes
    algorithm: str
    signature: bytes | None = None


@dataclass
class Transaction:
    """A SmartCA signing transaction, under the service provider's ``transaction_id``."""

    id: str
    tran_code: str
    user_id: str
    credential: str  # the test PKI's signer
    serial_number: str
    files: list[SignedFile]
    description: str
    state: TransactionState = "pending"


@dataclass
class EsignSimulator:
    pki: SandboxPKI
    username: str
    password: str
    pin: str
    sp_id: str
    sp_password: str
    holders: dict[str, tuple[HeldCertificate, ...]] = field(default_factory=lambda: dict(HOLDERS))
    faults: FaultConfig = field(default_factory=FaultConfig)
    stats: SimStats = field(default_factory=SimStats)
    tokens: set[str] = field(default_factory=set)
    #: SAD -> (credential, base64 hashes it may sign)
    sads: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    transactions: dict[str, Transaction] = field(default_factory=dict)
    #: the timestamp authority's clock (tests move it instead of sleeping)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def reset(self) -> None:
        self.faults = FaultConfig()
        self.stats = SimStats()
        self.tokens.clear()
        self.sads.clear()
        self.transactions.clear()

    def set_faults(self, config: FaultConfig) -> FaultConfig:
        self.faults = config
        return config

    def new_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return token

    def serial_of(self, signer: str) -> str:
        """The certificate's serial number as SmartCA writes it: lower-case hex."""
        return format(self.pki.signer(signer).certificate.serial_number, "x")
