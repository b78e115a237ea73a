"""A simulated Cloud Signature Consortium style signing service (this project's CSC profile:
CSC API v1 names, ``{root}/csc/v1``): ``auth/login`` with HTTP Basic, then bearer
``credentials/list|info|authorize`` and ``signatures/signHash``. Refusals are ``{"error",
"error_description"}`` with HTTP 400 (401 for a bad token or login), as CSC API v1 §10 writes
them. A request the sandbox's LGSP relayed is authenticated by the LGSP: it needs no token.

The credentials are the test PKI's signers (``valid``, ``revoked``, ``expired``,
``not_yet_valid``); their keys stay here, as they stay in a real service.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from typing import Any, TypeVar

from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from connectors.esign.sandbox.accounts import RELAY_HEADER, RELAY_VALUE
from connectors.esign.sandbox.packets import (
    CscAuthorizeRequest,
    CscInfoRequest,
    CscListRequest,
    CscSignHashRequest,
)
from connectors.esign.sandbox.pki import sign_prehashed
from connectors.esign.sandbox.state import EsignSimulator
from gateway.core.http.simulators import BodyTooLarge, read_body

__all__ = ["PREFIX", "add_csc_routes"]

PREFIX = "/csc/v1"
MAX_REQUEST_BYTES = 64 * 1024
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_OIDS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
M = TypeVar("M", bound=BaseModel)


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def add_csc_routes(app: FastAPI, sim: EsignSimulator) -> None:
    pki = sim.pki

    def error(status: int, code: str, description: str) -> Refused:
        sim.stats.refused += 1
        return Refused(
            JSONResponse({"error": code, "error_description": description}, status_code=status)
        )

    def invalid(detail: str) -> Refused:
        return error(400, "invalid_request", detail)

    async def body_as(request: Request, model: type[M]) -> M:
        try:
            raw = json.loads(await read_body(request, MAX_REQUEST_BYTES))
            return model.model_validate(raw)
        except BodyTooLarge:
            raise Refused(Response(status_code=413)) from None
        except (ValueError, ValidationError) as exc:
            raise invalid(str(exc).splitlines()[0][:200]) from None

    def service_up() -> None:
        if sim.faults.service_down:
            raise Refused(JSONResponse({"error": "temporarily_unavailable"}, status_code=503))

    def relayed(request: Request) -> bool:
        return request.headers.get(RELAY_HEADER) == RELAY_VALUE

    def token(request: Request) -> None:
        service_up()
        header = request.headers.get("authorization", "")
        bearer = header[7:] if header.lower().startswith("bearer ") else ""
        if bearer in sim.tokens or (not bearer and relayed(request)):
            return
        raise error(401, "invalid_token", "the access token is not valid")

    def credential_of(credential_id: str) -> str:
        if credential_id not in pki.signers:
            raise error(400, "invalid_credential", "no such credential")
        return credential_id

    @app.exception_handler(Refused)
    async def _refused(_request: Request, exc: Refused) -> Response:
        return exc.response

    @app.post(f"{PREFIX}/auth/login")
    async def login(request: Request) -> dict[str, Any]:
        service_up()
        header = request.headers.get("authorization", "")
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, secret = "", ""
        basic = header.startswith("Basic ")
        if not basic and relayed(request):
            user, secret = sim.username, sim.password  # the LGSP logged in for the caller
        elif not (
            basic
            and hmac.compare_digest(user, sim.username)
            and hmac.compare_digest(secret.encode(), sim.password.encode())
        ):
            raise error(401, "access_denied", "login refused")
        sim.stats.logins += 1
        return {"access_token": sim.new_token(), "expires_in": 3600}

    @app.post(f"{PREFIX}/credentials/list")
    async def list_credentials(request: Request) -> dict[str, Any]:
        token(request)
        await body_as(request, CscListRequest)
        return {"credentialIDs": sorted(pki.signers)}

    @app.post(f"{PREFIX}/credentials/info")
    async def info(request: Request) -> dict[str, Any]:
        token(request)
        body = await body_as(request, CscInfoRequest)
        credential = credential_of(body.credentialID)
        cert = pki.signer(credential).certificate
        chain = [
            base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in pki.chain(credential)
        ]
        return {
            "key": {"status": "enabled", "algo": [RSA_ENCRYPTION], "len": 2048},
            "cert": {
                "status": "valid",
                "certificates": chain,
                "subjectDN": cert.subject.rfc4514_string(),
                "serialNumber": format(cert.serial_number, "X"),
            },
            "authMode": "explicit",
            "multisign": 1,
        }

    @app.post(f"{PREFIX}/credentials/authorize")
    async def authorize(request: Request) -> dict[str, Any]:
        token(request)
        body = await body_as(request, CscAuthorizeRequest)
        credential = credential_of(body.credentialID)
        if not hmac.compare_digest((body.PIN or "").encode(), sim.pin.encode()):
            raise error(400, "invalid_credential", "the PIN is wrong")
        sad = secrets.token_urlsafe(24)
        sim.sads[sad] = (credential, frozenset(body.hash))
        return {"SAD": sad, "expiresIn": 300}

    @app.post(f"{PREFIX}/signatures/signHash")
    async def sign_hash(request: Request) -> dict[str, Any]:
        token(request)
        body = await body_as(request, CscSignHashRequest)
        granted = sim.sads.pop(body.SAD, None)
        if granted is None or granted[0] != body.credentialID:
            raise invalid("the SAD is not valid for this credential")
        if not set(body.hash) <= granted[1]:
            raise invalid("a hash was not authorised")
        algorithm = _OIDS.get(body.hashAlgo)
        if algorithm is None or body.signAlgo != RSA_ENCRYPTION:
            raise invalid("unsupported hashAlgo or signAlgo")
        digests = [base64.b64decode(h) for h in body.hash]
        if any(len(d) != _DIGEST_SIZES[algorithm] for d in digests):
            raise invalid("a hash has the wrong length")
        key = pki.signer(body.credentialID).key
        signatures = []
        for digest in digests:
            signed = bytes(len(digest)) if sim.faults.wrong_signature else digest
            signatures.append(sign_prehashed(key, signed, algorithm))
            sim.stats.signatures += 1
        return {"signatures": [base64.b64encode(s).decode() for s in signatures]}
