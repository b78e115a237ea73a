"""A simulator of the eSign side: two remote signing services, the test PKI's CRLs and OCSP
responder, and an RFC 3161 timestamp authority, as one ASGI app (mounted under ``/esign``).

* ``/csc/v1/...``: a Cloud Signature Consortium style service (``auth/login`` with HTTP Basic,
  then bearer ``credentials/list|info|authorize``, ``signatures/signHash``); refusals are
  ``{"error", "error_description"}`` with HTTP 400 (401 for a bad token or login).
* ``/hash/v1/...``: a hash-signing service with approval (``certificate``, ``sign``,
  ``transactions/{id}``), bearer API key; refusals are HTTP 200 ``{"status": code,
  "message"}`` (401 with status 4010 for a bad key).
* ``/pki/root.crl``, ``/pki/signing-ca.crl`` (DER), ``POST /pki/ocsp`` (RFC 6960 over HTTP
  POST), ``/pki/root.pem`` (the anchor to configure), ``POST /tsa`` (RFC 3161).

Credentials are the four test signers (``valid``, ``revoked``, ``expired``, ``not_yet_valid``);
the keys stay here, as they stay in a real service. Every request body is bounded and validated
against the wire models in :mod:`schemas.esign`.

Not part of the platforms, under ``/_sandbox``: ``GET /transactions``, ``POST /transactions/
{id}/approve|deny`` (answers the callback JSON the service would POST to ``callback_url``),
``GET|PUT /faults`` (:class:`FaultConfig`: responder down, TSA down, services down, wrong
signatures, manual approval), ``POST /reset``, ``GET /stats``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from typing import Any, TypeVar

from asn1crypto import keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from connectors.esign.config import PLACEHOLDER_SECRETS
from connectors.esign.pki import SANDBOX_BASE, SandboxPKI, sandbox_pki, sign_prehashed
from connectors.esign.sandbox_state import EsignSimulator, FaultConfig, SimStats, Transaction
from gateway.core.simulators import BodyTooLarge, add_control_routes, read_body
from schemas import esign as wire

__all__ = ["EsignSimulator", "FaultConfig", "SimStats", "create_app", "get_simulator"]

MAX_REQUEST_BYTES = 64 * 1024
_OIDS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
M = TypeVar("M", bound=BaseModel)


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def get_simulator(app: FastAPI) -> EsignSimulator:
    sim = getattr(app.state, "sim", None)
    if not isinstance(sim, EsignSimulator):
        raise TypeError("app.state.sim is not an EsignSimulator")
    return sim


def _placeholder(prefix: str) -> str:
    return next(p for p in sorted(PLACEHOLDER_SECRETS) if p.startswith(prefix))


def _signature(sim: EsignSimulator, credential: str, digest: bytes, algorithm: str) -> bytes:
    if sim.faults.wrong_signature:
        digest = bytes(len(digest))
    sim.stats.signatures += 1
    return sign_prehashed(sim.pki.signer(credential).key, digest, algorithm)


def _chain_b64(pki: SandboxPKI, credential: str) -> list[str]:
    return [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in pki.chain(credential)]


def create_app(
    *,
    pki_base: str = SANDBOX_BASE,
    username: str = "lgsp-sandbox",
    password: str | None = None,
    pin: str | None = None,
    api_key: str | None = None,
) -> FastAPI:
    """The simulator app; its state is ``app.state.sim`` (an :class:`EsignSimulator`)."""
    sim = EsignSimulator(
        pki=sandbox_pki(pki_base),
        username=username,
        password=password or _placeholder("sandbox-esign-password"),
        pin=pin or _placeholder("sandbox-esign-pin"),
        api_key=api_key or _placeholder("sandbox-esign-api-key"),
    )
    app = FastAPI(title="eSign simulator", docs_url=None, redoc_url=None)
    app.state.sim = sim
    pki = sim.pki
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(pki.tsa.der),
        tsa_key=keys.PrivateKeyInfo.load(pki.tsa.key_der),
        certs_to_embed=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(pki.tsa.der)]),  # type: ignore[no-untyped-call]
    )

    def csc_error(status: int, error: str, description: str) -> _Refused:
        sim.stats.refused += 1
        return _Refused(
            JSONResponse({"error": error, "error_description": description}, status_code=status)
        )

    def hash_error(code: int, message: str, status: int = 200) -> _Refused:
        sim.stats.refused += 1
        return _Refused(JSONResponse({"status": code, "message": message}, status_code=status))

    async def body_as(request: Request, model: type[M], refuse: Any) -> M:
        try:
            raw = json.loads(await read_body(request, MAX_REQUEST_BYTES))
            return model.model_validate(raw)
        except BodyTooLarge:
            raise _Refused(Response(status_code=413)) from None
        except (ValueError, ValidationError) as exc:
            raise refuse(str(exc).splitlines()[0][:200]) from None

    def service_up() -> None:
        if sim.faults.service_down:
            raise _Refused(JSONResponse({"error": "temporarily_unavailable"}, status_code=503))

    def bearer(request: Request) -> str:
        header = request.headers.get("authorization", "")
        return header[7:] if header.lower().startswith("bearer ") else ""

    @app.exception_handler(_Refused)
    async def _refused(_request: Request, exc: _Refused) -> Response:
        return exc.response

    # --- CSC-style service -------------------------------------------------------------------

    def csc_token(request: Request) -> None:
        service_up()
        if bearer(request) not in sim.tokens:
            raise csc_error(401, "invalid_token", "the access token is not valid")

    def csc_credential(credential_id: str) -> str:
        if credential_id not in pki.signers:
            raise csc_error(400, "invalid_credential", "no such credential")
        return credential_id

    def csc_invalid(detail: str) -> _Refused:
        return csc_error(400, "invalid_request", detail)

    @app.post("/csc/v1/auth/login")
    async def csc_login(request: Request) -> dict[str, Any]:
        service_up()
        header = request.headers.get("authorization", "")
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, secret = "", ""
        if not (
            header.startswith("Basic ")
            and hmac.compare_digest(user, sim.username)
            and hmac.compare_digest(secret.encode(), sim.password.encode())
        ):
            raise csc_error(401, "access_denied", "login refused")
        sim.stats.logins += 1
        return {"access_token": sim.new_token(), "expires_in": 3600}

    @app.post("/csc/v1/credentials/list")
    async def csc_list(request: Request) -> dict[str, Any]:
        csc_token(request)
        await body_as(request, wire.CscListRequest, csc_invalid)
        return {"credentialIDs": sorted(pki.signers)}

    @app.post("/csc/v1/credentials/info")
    async def csc_info(request: Request) -> dict[str, Any]:
        csc_token(request)
        body = await body_as(request, wire.CscInfoRequest, csc_invalid)
        credential = csc_credential(body.credentialID)
        cert = pki.signer(credential).certificate
        return {
            "key": {"status": "enabled", "algo": ["1.2.840.113549.1.1.1"], "len": 2048},
            "cert": {
                "status": "valid",
                "certificates": _chain_b64(pki, credential),
                "subjectDN": cert.subject.rfc4514_string(),
                "serialNumber": format(cert.serial_number, "X"),
            },
            "authMode": "explicit",
            "multisign": 1,
        }

    @app.post("/csc/v1/credentials/authorize")
    async def csc_authorize(request: Request) -> dict[str, Any]:
        csc_token(request)
        body = await body_as(request, wire.CscAuthorizeRequest, csc_invalid)
        credential = csc_credential(body.credentialID)
        if not hmac.compare_digest((body.PIN or "").encode(), sim.pin.encode()):
            raise csc_error(400, "invalid_credential", "the PIN is wrong")
        sad = secrets.token_urlsafe(24)
        sim.sads[sad] = (credential, frozenset(body.hash))
        return {"SAD": sad, "expiresIn": 300}

    @app.post("/csc/v1/signatures/signHash")
    async def csc_sign(request: Request) -> dict[str, Any]:
        csc_token(request)
        body = await body_as(request, wire.CscSignHashRequest, csc_invalid)
        granted = sim.sads.pop(body.SAD, None)
        if granted is None or granted[0] != body.credentialID:
            raise csc_error(400, "invalid_request", "the SAD is not valid for this credential")
        if not set(body.hash) <= granted[1]:
            raise csc_error(400, "invalid_request", "a hash was not authorised")
        algorithm = _OIDS.get(body.hashAlgo)
        if algorithm is None or body.signAlgo != "1.2.840.113549.1.1.1":
            raise csc_error(400, "invalid_request", "unsupported hashAlgo or signAlgo")
        digests = [base64.b64decode(h) for h in body.hash]
        if any(len(d) != _DIGEST_SIZES[algorithm] for d in digests):
            raise csc_error(400, "invalid_request", "a hash has the wrong length")
        signatures = [_signature(sim, body.credentialID, d, algorithm) for d in digests]
        return {"signatures": [base64.b64encode(s).decode() for s in signatures]}

    # --- hash-signing service with approval ----------------------------------------------------

    def hash_key(request: Request) -> None:
        if sim.faults.service_down:
            raise _Refused(JSONResponse({"status": 5000, "message": "down"}, status_code=503))
        if not hmac.compare_digest(bearer(request).encode(), sim.api_key.encode()):
            raise hash_error(4010, "the API key is refused", status=401)

    def hash_invalid(detail: str) -> _Refused:
        return hash_error(4001, detail)

    def hash_credential(credential_id: str) -> str:
        if credential_id not in pki.signers:
            raise hash_error(4004, "no such credential")
        return credential_id

    def transaction_answer(t: Transaction) -> dict[str, Any]:
        return {
            "status": 0,
            "transaction_id": t.id,
            "state": t.state,
            "signature": base64.b64encode(t.signature).decode() if t.signature else None,
        }

    def approve(t: Transaction) -> None:
        t.signature = _signature(sim, t.credential_id, t.digest, t.algorithm)
        t.state = "approved"

    @app.post("/hash/v1/certificate")
    async def hash_certificate(request: Request) -> dict[str, Any]:
        hash_key(request)
        body = await body_as(request, wire.HashCertificateRequest, hash_invalid)
        credential = hash_credential(body.credential_id)
        return {
            "status": 0,
            "credential_id": credential,
            "certificates": _chain_b64(pki, credential),
        }

    @app.post("/hash/v1/sign")
    async def hash_sign(request: Request) -> dict[str, Any]:
        hash_key(request)
        body = await body_as(request, wire.HashSignRequest, hash_invalid)
        credential = hash_credential(body.credential_id)
        digest = bytes.fromhex(body.hash)
        if len(digest) != _DIGEST_SIZES[body.hash_algorithm]:
            raise hash_error(4001, "the hash has the wrong length")
        known = sim.transactions.get(body.transaction_id or "")
        if known is not None:
            # the caller's id again: the same request answered alike, the holder not re-asked
            if known.digest != digest or known.credential_id != credential:
                raise hash_error(4001, "transaction_id already used for another hash")
            sim.stats.duplicates += 1
            return {"status": 0, "transaction_id": known.id}
        t = Transaction(
            id=body.transaction_id or f"TX{secrets.token_hex(8).upper()}",
            credential_id=credential,
            digest=digest,
            algorithm=body.hash_algorithm,
            description=body.description,
            callback_url=body.callback_url,
        )
        sim.transactions[t.id] = t
        sim.stats.transactions += 1
        if sim.faults.auto_approve:
            approve(t)
        return {"status": 0, "transaction_id": t.id}

    @app.get("/hash/v1/transactions/{transaction_id}")
    async def hash_transaction(request: Request, transaction_id: str) -> dict[str, Any]:
        hash_key(request)
        t = sim.transactions.get(transaction_id)
        if t is None:
            raise hash_error(4041, "no such transaction")
        return transaction_answer(t)

    # --- PKI: CRLs, OCSP, TSA --------------------------------------------------------------------

    def revocation_up(kind: str) -> None:
        if sim.faults.revocation_down or (kind == "ocsp" and sim.faults.ocsp_down):
            raise _Refused(Response(status_code=503))

    @app.get("/pki/root.crl")
    async def root_crl() -> Response:
        revocation_up("crl")
        sim.stats.crl += 1
        return Response(pki.crl("root"), media_type="application/pkix-crl")

    @app.get("/pki/signing-ca.crl")
    async def signing_crl() -> Response:
        revocation_up("crl")
        sim.stats.crl += 1
        return Response(pki.crl("intermediate"), media_type="application/pkix-crl")

    @app.get("/pki/root.pem")
    async def root_pem() -> Response:
        return Response(pki.root.pem, media_type="application/x-pem-file")

    @app.post("/pki/ocsp")
    async def ocsp_responder(request: Request) -> Response:
        revocation_up("ocsp")
        try:
            body = await read_body(request, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            return Response(status_code=413)
        sim.stats.ocsp += 1
        return Response(pki.ocsp_answer(body), media_type="application/ocsp-response")

    @app.post("/tsa")
    async def timestamp(request: Request) -> Response:
        if sim.faults.tsa_down:
            return Response(status_code=503)
        try:
            query = tsp.TimeStampReq.load(await read_body(request, MAX_REQUEST_BYTES))
            query.native  # noqa: B018 - parse it all now
        except BodyTooLarge:
            return Response(status_code=413)
        except ValueError:
            return Response(status_code=400)
        sim.stats.tsa += 1
        reply = await stamper.async_request_tsa_response(query)
        return Response(reply.dump(), media_type="application/timestamp-reply")

    # --- sandbox controls ----------------------------------------------------------------------

    @app.get("/_sandbox/transactions")
    async def list_transactions() -> list[dict[str, Any]]:
        return [
            {
                **transaction_answer(t),
                "credential_id": t.credential_id,
                "description": t.description,
            }
            for t in sim.transactions.values()
        ]

    @app.post("/_sandbox/transactions/{transaction_id}/{action}")
    async def decide(transaction_id: str, action: str) -> JSONResponse:
        t = sim.transactions.get(transaction_id)
        if t is None or action not in ("approve", "deny", "expire"):
            return JSONResponse({"detail": "no such transaction or action"}, status_code=404)
        if t.state == "pending":
            if action == "approve":
                approve(t)
            else:
                t.state = "denied" if action == "deny" else "expired"
        # what the service would POST to the callback_url
        return JSONResponse({"callback_url": t.callback_url, "callback": transaction_answer(t)})

    add_control_routes(app, sim, FaultConfig)
    return app
