"""A simulated VNPT SmartCA (the ``sp769`` service-provider API): certificates, hash signing
approved by the holder on their phone, and the transaction status.

From the public record (cited by short name below):

* *Doc*: "Tài liệu tích hợp VNPT SMARTCA" v4.1, VNPT's integration document, as published in
  ``huy1692003/BE-PCHY_2024`` ``API_PCHY/wwwroot/fileBBTN/Kich_ban_tich_hop_smartca_v4.1.pdf``
  (§1.2 and §3.1: every call is an HTTPS ``POST`` with a JSON body; §3.1 the code table 200
  SUCCESS, 400 BAD_REQUEST (an HTTP code), 401 SP_CREDENTIAL_INVALID, 403
  CREDENTIAL_STATUS_INVALID, 500 SERVAR_INTERNAL_ERROR; §3.2 ``get_certificate``; §3.3
  ``signatures/sign``, "SmartCA only supports hash signing", batches in ``sign_files``; §3.4
  ``signatures/sign/{tranId}/status``; §3.5 the webhook body).
* *SmartCA769*: ``huy1692003/BE-PCHY_2024`` (commit 0fda650) ``API_PCHY/Services/SMART_CA/
  SmartCA769.cs`` with ``Model_SMART_CA.cs``: what a public client sends and how it reads the
  answers (the status call is a POST of ``{}``, L452-463; ``signatures`` null while pending,
  L128-137).
* *ERS*: ``5310101/ERS_EbhRemoteSigning``: the status ``message`` a public reader tells apart:
  ``PENDING`` and ``SUCCESS`` (``EBH_RemoteSigning_Service(ERS)/RemoteSigningService.asmx.cs``
  L157-170), ``EXPIRED`` (``ws_GetResult_RemoteSigning/ServiceGetResult_VNPT.cs`` L233 at
  commit 27db7d6).

What no public source shows, and this simulator assumes: the answer to a transaction the holder
refused (``message`` ``REJECTED``), to an unknown transaction (HTTP 400, ``status_code`` 400), to
a ``transaction_id`` sent again (the same transaction, answered alike and counted as a
duplicate, so that a redelivery asks the holder once), and the HTTP status of the refusals
other than 400 (200, the code in ``status_code``).
"""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from connectors.esign.sandbox.accounts import RELAY_HEADER, RELAY_VALUE, HeldCertificate
from connectors.esign.sandbox.packets import SmartcaCertificateRequest, SmartcaSignRequest
from connectors.esign.sandbox.pki import sign_prehashed
from connectors.esign.sandbox.state import EsignSimulator, SignedFile, Transaction
from gateway.core.http.simulators import BodyTooLarge, read_body

__all__ = ["PREFIX", "add_smartca_routes", "webhook_body"]

PREFIX = "/sca/sp769/v1"
MAX_REQUEST_BYTES = 256 * 1024
#: the digest a hash of this many bytes is (the request names no algorithm; Doc §3.3)
_BY_LENGTH = {32: "sha256", 48: "sha384", 64: "sha512"}
#: the ``message`` of a status answer, per state (SmartCA769, ERS; REJECTED assumed)
_STATUS_MESSAGE = {
    "pending": "PENDING",
    "approved": "SUCCESS",
    "expired": "EXPIRED",
    "denied": "REJECTED",
}
M = TypeVar("M", bound=BaseModel)


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def answer(code: int, message: str, data: Any = None, *, http: int = 200) -> JSONResponse:
    """SmartCA's envelope (Doc §3.1): ``{status_code, message, data}``."""
    return JSONResponse({"status_code": code, "message": message, "data": data}, http)


def _certificate_entry(
    sim: EsignSimulator, user_id: str, held: HeldCertificate, transaction_id: str
) -> dict[str, Any]:
    """One ``user_certificates`` item, field for field as Doc §3.2's sample answer."""
    issued = sim.pki.signer(held.signer)
    cert = issued.certificate
    return {
        "service_type": held.service_type,
        "service_name": held.service_name,
        "cert_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"smartca:{user_id}:{held.signer}")),
        "cert_status": _status_text(sim, held.signer),
        "serial_number": sim.serial_of(held.signer),
        "cert_subject": ",".join(f"{a.rfc4514_attribute_name}={a.value!s}" for a in cert.subject),
        "cert_valid_from": _iso(cert.not_valid_before_utc),
        "cert_valid_to": _iso(cert.not_valid_after_utc),
        "cert_data": _b64(issued.der),
        "chain_data": {
            "ca_cert": _b64(sim.pki.intermediate.der),
            "root_cert": _b64(sim.pki.root.der),
        },
        "transaction_id": transaction_id,
    }


def _usable(sim: EsignSimulator, signer: str) -> bool:
    cert = sim.pki.signer(signer).certificate
    now = datetime.now(UTC)
    revoked = cert.serial_number in sim.pki.revoked.get("intermediate", {})
    return not revoked and cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _status_text(sim: EsignSimulator, signer: str) -> str:
    # "Đang hoạt động" (active) is Doc §3.2's; the others are this simulator's wording
    if _usable(sim, signer):
        return "Đang hoạt động"
    cert = sim.pki.signer(signer).certificate
    if cert.serial_number in sim.pki.revoked.get("intermediate", {}):
        return "Đã thu hồi"
    return "Hết hạn" if cert.not_valid_after_utc < datetime.now(UTC) else "Chưa có hiệu lực"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def status_body(t: Transaction) -> dict[str, Any]:
    """The status answer's envelope (Doc §3.4); ``signatures`` null until approved."""
    signatures = (
        [
            {
                "doc_id": f.doc_id,
                "signature_value": _b64(f.signature),
                "timestamp_signature": None,
            }
            for f in t.files
            if f.signature is not None
        ]
        if t.state == "approved"
        else None
    )
    return {
        "status_code": 200,
        "message": _STATUS_MESSAGE[t.state],
        "data": {"transaction_id": t.id, "signatures": signatures},
    }


def webhook_body(sim: EsignSimulator, t: Transaction) -> dict[str, Any]:
    """What the service would POST to the provider's registered webhook (Doc §3.5)."""
    status = status_body(t)
    return {
        "sp_id": sim.sp_id,
        "status_code": 200,
        "message": status["message"],
        "transaction_id": t.id,
        "signed_files": status["data"]["signatures"] or [],
    }


def approve(sim: EsignSimulator, t: Transaction) -> None:
    """The holder confirmed on their phone: every file of the transaction is signed."""
    key = sim.pki.signer(t.credential).key
    for f in t.files:
        digest = bytes(len(f.digest)) if sim.faults.wrong_signature else f.digest
        f.signature = sign_prehashed(key, digest, f.algorithm)
        sim.stats.signatures += 1
    t.state = "approved"


def add_smartca_routes(app: FastAPI, sim: EsignSimulator) -> None:
    def refuse(code: int, message: str, *, http: int = 200) -> Refused:
        sim.stats.refused += 1
        return Refused(answer(code, message, http=http))

    async def body_as(request: Request, model: type[M]) -> M:
        try:
            raw = json.loads(await read_body(request, MAX_REQUEST_BYTES))
            return model.model_validate(raw)
        except BodyTooLarge:
            raise Refused(Response(status_code=413)) from None
        except (ValueError, ValidationError) as exc:
            detail = str(exc).splitlines()[0][:200]
            raise refuse(400, f"BAD_REQUEST: {detail}", http=400) from None

    def service_up() -> None:
        if sim.faults.service_down:
            raise Refused(answer(500, "SERVAR_INTERNAL_ERROR", http=503))

    def provider(request: Request, sp_id: str | None, sp_password: str | None) -> None:
        """The SP's account (Doc §2.1); a request the LGSP relayed needs none."""
        relayed = request.headers.get(RELAY_HEADER) == RELAY_VALUE
        if relayed and sp_id is None and sp_password is None:
            return
        if not (
            hmac.compare_digest((sp_id or "").encode(), sim.sp_id.encode())
            and hmac.compare_digest((sp_password or "").encode(), sim.sp_password.encode())
        ):
            raise refuse(401, "SP_CREDENTIAL_INVALID: sp_id or sp_password")

    def holder(user_id: str) -> tuple[HeldCertificate, ...]:
        held = sim.holders.get(user_id)
        if not held:
            raise refuse(401, "SP_CREDENTIAL_INVALID: no such subscriber")
        return held

    def same_serial(a: str, b: str) -> bool:
        try:
            return int(a, 16) == int(b, 16)
        except ValueError:
            return a.strip().lower() == b.strip().lower()

    def signed_file(sign_type: str, data: str, doc_id: str, file_type: str) -> SignedFile:
        """One ``sign_files`` item: SmartCA signs hashes only (Doc §3.3), given as hex; the
        digest algorithm is told by the hash's length."""
        if sign_type != "hash":
            raise refuse(400, "BAD_REQUEST: only sign_type hash is supported", http=400)
        try:
            digest = bytes.fromhex(data)
        except ValueError:
            raise refuse(400, "BAD_REQUEST: data_to_be_signed is not hex", http=400) from None
        algorithm = _BY_LENGTH.get(len(digest))
        if algorithm is None:
            raise refuse(400, "BAD_REQUEST: data_to_be_signed is not a hash", http=400)
        return SignedFile(doc_id=doc_id, file_type=file_type, digest=digest, algorithm=algorithm)

    @app.exception_handler(Refused)
    async def _refused(_request: Request, exc: Refused) -> Response:
        return exc.response

    @app.post(f"{PREFIX}/credentials/get_certificate")
    async def get_certificate(request: Request) -> JSONResponse:
        service_up()
        body = await body_as(request, SmartcaCertificateRequest)
        provider(request, body.sp_id, body.sp_password)
        held = holder(body.user_id)
        if body.serial_number:
            serial = body.serial_number
            held = tuple(h for h in held if same_serial(sim.serial_of(h.signer), serial))
        sim.stats.certificate_reads += 1
        entries = [_certificate_entry(sim, body.user_id, h, body.transaction_id) for h in held]
        return answer(200, "Success", {"user_certificates": entries})

    @app.post(f"{PREFIX}/signatures/sign")
    async def sign(request: Request) -> JSONResponse:
        service_up()
        body = await body_as(request, SmartcaSignRequest)
        provider(request, body.sp_id, body.sp_password)
        held = holder(body.user_id)
        if body.serial_number:
            serial = body.serial_number
            chosen = next((h for h in held if same_serial(sim.serial_of(h.signer), serial)), None)
            if chosen is None:
                raise refuse(403, "CREDENTIAL_STATUS_INVALID: no such certificate")
        else:
            chosen = held[0]
        if not _usable(sim, chosen.signer):
            raise refuse(403, "CREDENTIAL_STATUS_INVALID: the certificate is not in force")
        files = [
            signed_file(f.sign_type, f.data_to_be_signed, f.doc_id, f.file_type)
            for f in body.sign_files
        ]
        known = sim.transactions.get(body.transaction_id)
        if known is not None:
            # the same transaction_id again (Doc: "yêu cầu là duy nhất"): the same request is
            # answered alike and the holder is not asked again; another is refused
            if known.user_id != body.user_id or [f.digest for f in known.files] != [
                f.digest for f in files
            ]:
                raise refuse(400, "BAD_REQUEST: transaction_id already used", http=400)
            sim.stats.duplicates += 1
            return answer(200, "sig_wait_for_user_confirm", _accepted(known))
        t = Transaction(
            id=body.transaction_id,
            tran_code=str(uuid.uuid4()),
            user_id=body.user_id,
            credential=chosen.signer,
            serial_number=sim.serial_of(chosen.signer),
            files=files,
            description=body.transaction_desc or "",
        )
        sim.transactions[t.id] = t
        sim.stats.transactions += 1
        if sim.faults.auto_approve:
            approve(sim, t)
        return answer(200, "sig_wait_for_user_confirm", _accepted(t))

    @app.post(f"{PREFIX}/signatures/sign/{{transaction_id}}/status")
    async def status(request: Request, transaction_id: str) -> JSONResponse:
        # the public clients POST "{}" and no credential (SmartCA769 L452-463): none is asked
        service_up()
        try:
            await read_body(request, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            return JSONResponse({}, 413)
        t = sim.transactions.get(transaction_id)
        if t is None:
            raise refuse(400, "BAD_REQUEST: no such transaction", http=400)
        sim.stats.status_polls += 1
        return JSONResponse(status_body(t))


def _accepted(t: Transaction) -> dict[str, str]:
    return {"transaction_id": t.id, "tran_code": t.tran_code}
