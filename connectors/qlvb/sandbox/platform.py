"""The simulated document exchange axis and the receiving agencies' QLVB behind it: the state
(packages received, status packages waiting), the operations, and their faults.

Documents move through the processing line on command (``advance``): 01 (arrived) -> 03
(registered) -> 04 (assigned) -> 05 (processing) -> 06 (finished), or 02 (rejected); each step
is a status package from every receiving agency (or the one named), kept until the sender
pulls and acknowledges it, and pushed to ``callback_url`` when one is configured.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pydantic import BaseModel, ConfigDict, Field

from connectors.qlvb.sandbox.packets import Received, Refused, read_package, status_package
from gateway.core.http.simulators import FaultDraws

__all__ = [
    "DESCRIPTIONS",
    "LINE",
    "FaultConfig",
    "QlvbSimulator",
    "SimConfig",
    "SimStats",
    "StatusItem",
]

VN = timezone(timedelta(hours=7))
#: what the sandbox LGSP adds to the requests it relays (its own simulator's convention)
LGSP_RELAY_HEADER = "x-lgsp-relay"
LGSP_RELAY_VALUE = "sandbox-lgsp-relay"
#: the processing line and the sample files' descriptions (VXP-SDK status_*_NN.edxml)
LINE: tuple[str, ...] = ("01", "03", "04", "05", "06")
DESCRIPTIONS: dict[str, str] = {
    "01": "Đã đến",
    "02": "Từ chối tiếp nhận",
    "03": "Đã tiếp nhận",
    "04": "Phân công xử lý",
    "05": "Đang xử lý",
    "06": "Hoàn thành",
    "13": "Lấy lại văn bản",
    "15": "Đồng ý lấy lại/cập nhật",
    "16": "Từ chối lấy lại/cập nhật",
}


class FaultConfig(BaseModel):
    """Faults; rates are per-request probabilities drawn from a seeded generator.
    ``error_rate`` answers HTTP 503; ``system_error_rate`` answers ``SYSTEM_ERROR``;
    ``timeout_rate`` sleeps ``timeout_seconds`` first; ``drop_rate`` takes a sendEdoc and
    drops the connection mid-answer; ``malformed_status_rate`` and ``bad_signature_rate``
    spoil status packages as they are produced (cut short; signed, then altered)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0, le=60_000)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    system_error_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_seconds: float = Field(default=30.0, ge=0, le=600)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_status_rate: float = Field(default=0.0, ge=0, le=1)
    bad_signature_rate: float = Field(default=0.0, ge=0, le=1)
    seed: int | None = None


class SimConfig(BaseModel):
    """Behaviour beyond faults (``PUT /_sandbox/config``)."""

    model_config = ConfigDict(extra="forbid")

    callback_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://\S+$")
    callback_secret: str = Field(default="sandbox-qlvb-callback", min_length=1, max_length=200)
    sign_statuses: bool = Field(False, description="XML-DSig sign the status packages")
    trusted_certificates: list[str] = Field(
        default_factory=list, description="PEM: signatures on packages must be by one of these"
    )
    max_package_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)


@dataclass
class SimStats:
    received: dict[str, int] = field(default_factory=dict)
    by_code: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    duplicates: int = 0
    refused: int = 0
    statuses_produced: int = 0
    acknowledged: dict[str, int] = field(default_factory=dict)
    faults_injected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": dict(self.received),
            "by_code": dict(self.by_code),
            "documents": self.documents,
            "duplicates": self.duplicates,
            "refused": self.refused,
            "statuses_produced": self.statuses_produced,
            "acknowledged": dict(self.acknowledged),
            "faults_injected": self.faults_injected,
        }


@dataclass
class Document:
    doc_id: str  # the axis's DocID
    received: Received
    at: datetime
    progress: dict[str, str | None]  # recipient -> last code produced
    duplicates: int = 0

    def as_json(self) -> dict[str, Any]:
        r = self.received
        return {
            "doc_id": self.doc_id,
            "document_id": r.document_id,
            "from": r.sender,
            "to": r.recipients,
            "subject": r.subject,
            "attachments": r.attachments,
            "signer": r.signer,
            "received_at": self.at.isoformat(),
            "progress": dict(self.progress),
            "duplicates": self.duplicates,
        }


@dataclass
class StatusItem:
    id: str
    document_id: str
    organ_id: str
    code: str
    body: bytes
    spoiled: str | None = None  # "malformed" | "bad_signature"
    acknowledged: str | None = None  # "done" | "fail"
    pushed: int | str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "document_id": self.document_id,
            "organ_id": self.organ_id,
            "code": self.code,
            "spoiled": self.spoiled,
            "acknowledged": self.acknowledged,
            "pushed": self.pushed,
            "body": self.body.decode("utf-8", "replace"),
        }


def _keypair() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "QLVB sandbox status signer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert


class QlvbSimulator(FaultDraws):
    def __init__(self, *, system_id: str, secret: str, seed: int = 2026) -> None:
        self.system_id = system_id
        self.secret = secret
        self.seed = seed
        self.key, self.cert = _keypair()
        self.config = SimConfig()
        self.reset()

    @property
    def certificate_pem(self) -> str:
        return self.cert.public_bytes(Encoding.PEM).decode("ascii")

    def reset(self) -> None:
        self.faults = FaultConfig()
        self.rng = random.Random(self.seed)  # noqa: S311 - fault draws, not security
        self.stats = SimStats()
        self.documents: dict[str, Document] = {}  # by DocumentId
        self.statuses: list[StatusItem] = []
        self.received: list[dict[str, Any]] = []
        self._next = 0

    def set_faults(self, config: FaultConfig) -> FaultConfig:
        self.faults = config
        if config.seed is not None:
            self.rng = random.Random(config.seed)  # noqa: S311 - fault draws, not security
        return config

    def _id(self, prefix: str) -> str:
        self._next += 1
        return f"{prefix}-{self._next:06d}"

    # --- the axis's operations --------------------------------------------------------------

    def authorize(self, headers: Any) -> None:
        """The SDK's credentials, or a request relayed by the provincial LGSP (which holds
        them: the sandbox LGSP marks what it relays)."""
        if headers.get(LGSP_RELAY_HEADER) == LGSP_RELAY_VALUE:
            return
        if headers.get("systemid") != self.system_id or headers.get("secret") != self.secret:
            raise Refused("UNAUTHORIZED", "systemid", "systemid/secret refused")

    def send(self, data: bytes, header: dict[str, Any]) -> dict[str, Any]:
        if header.get("servicetype") != "eDoc" or header.get("messagetype") != "edoc":
            raise Refused("INVALID_PACKAGE", "header", "servicetype eDoc, messagetype edoc")
        try:
            received = read_package(
                data,
                max_bytes=self.config.max_package_bytes,
                trusted=self.config.trusted_certificates,
            )
        except Refused:
            self.stats.refused += 1
            raise
        if header.get("from") != received.sender:
            raise Refused("INVALID_PACKAGE", "header.from", "differs from From/OrganId")
        self.received.append(
            {"document_id": received.document_id, "bytes": len(data), "signer": received.signer}
        )
        known = self.documents.get(received.document_id)
        if known is not None:
            known.duplicates += 1
            self.stats.duplicates += 1
            return {
                "status": "OK",
                "ErrorCode": "DUPLICATE",
                "ErrorDesc": f"{received.document_id} đã tồn tại",
                "DocID": known.doc_id,
            }
        doc = Document(
            doc_id=self._id("vxp"),
            received=received,
            at=datetime.now(UTC),
            progress=dict.fromkeys(received.recipients),
        )
        self.documents[received.document_id] = doc
        self.stats.documents += 1
        return {"status": "OK", "ErrorDesc": "", "DocID": doc.doc_id}

    def waiting(self, header: dict[str, Any]) -> dict[str, Any]:
        if header.get("servicetype") not in ("status", "eDoc"):
            raise Refused("INVALID_PACKAGE", "header.servicetype", "eDoc or status")
        if header.get("servicetype") != "status":
            return {"status": "OK", "ErrorDesc": "", "data": []}
        items = [
            {"id": s.id, "from": s.organ_id, "servicetype": "status"}
            for s in self.statuses
            if s.acknowledged is None
        ]
        return {"status": "OK", "ErrorDesc": "", "data": items}

    def item(self, doc_id: str) -> StatusItem:
        for s in self.statuses:
            if s.id == doc_id:
                return s
        raise Refused("NOT_FOUND", "docId", "no such package")

    def acknowledge(self, body: dict[str, Any]) -> dict[str, Any]:
        status = body.get("status")
        if status not in ("done", "fail", "processing"):
            raise Refused("INVALID_PACKAGE", "status", "done, fail or processing")
        found = self.item(str(body.get("docid", "")))
        if status != "processing":
            found.acknowledged = status
            self.stats.acknowledged[status] = self.stats.acknowledged.get(status, 0) + 1
        return {"status": "OK", "ErrorDesc": ""}

    # --- the agencies' QLVB (controlled) ----------------------------------------------------

    def advance(
        self,
        document_id: str,
        *,
        organ_id: str | None = None,
        code: str | None = None,
        reject: bool = False,
        at: datetime | None = None,
    ) -> list[StatusItem]:
        """The next step (or ``code``, or 02 with ``reject``) of each recipient (or
        ``organ_id``); ``KeyError`` for an unknown document or agency, ``ValueError`` when a
        recipient's line is over."""
        doc = self.documents[document_id]
        organs = [organ_id] if organ_id is not None else list(doc.progress)
        produced: list[StatusItem] = []
        moment = (at or datetime.now(UTC)).astimezone(VN).replace(tzinfo=None)
        for organ in organs:
            if organ not in doc.progress:
                raise KeyError(organ)
            last = doc.progress[organ]
            if code is not None:
                step = code
            elif reject:
                step = "02"
            else:
                if last in ("02", "06"):
                    raise ValueError(f"{organ} has finished with {document_id}")
                step = LINE[0] if last not in LINE else LINE[LINE.index(last) + 1]
            if step not in DESCRIPTIONS:
                raise ValueError(f"unknown status code {step}")
            doc.progress[organ] = step
            produced.append(self._produce(doc.received, organ, step, moment))
        return produced

    def _produce(self, received: Received, organ: str, code: str, at: datetime) -> StatusItem:
        sign = self.config.sign_statuses
        bad_signature = self.roll(self.faults.bad_signature_rate)
        body = status_package(
            received,
            organ,
            code,
            DESCRIPTIONS[code],
            at,
            key=self.key if sign or bad_signature else None,
            cert=self.cert if sign or bad_signature else None,
        )
        spoiled: str | None = None
        if bad_signature:
            # signed, then altered: the digest no longer matches
            body = body.replace(DESCRIPTIONS[code].encode(), b"Altered after signing", 1)
            spoiled = "bad_signature"
        elif self.roll(self.faults.malformed_status_rate):
            body = body[: len(body) // 2]
            spoiled = "malformed"
        item = StatusItem(self._id("st"), received.document_id, organ, code, body, spoiled)
        self.statuses.append(item)
        self.stats.statuses_produced += 1
        return item

    def duplicate(self, status_id: str) -> StatusItem:
        """The same package again, byte for byte, under a new id (a hub sending twice)."""
        original = self.item(status_id)
        copy = StatusItem(
            self._id("st"), original.document_id, original.organ_id, original.code, original.body
        )
        self.statuses.append(copy)
        return copy
