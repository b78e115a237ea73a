"""Client of a Cloud Signature Consortium style signing service (this project's CSC profile,
see :mod:`connectors.esign.profiles`): ``auth/login``, ``credentials/list``,
``credentials/info``, ``credentials/authorize``, ``signatures/signHash``, under
``{base_url}/csc/v1``.

Contracts:

* Login is HTTP Basic (``username``, ``password``) and answers a bearer token, kept in memory
  (never logged: the exchange log's copy of the answer has it blanked). A 401 on any later call
  logs in again once and repeats the call.
* Each signature is authorised for its own hash (``credentials/authorize`` with the PIN, which
  is blanked in the exchange log's copy), then signed (``signHash``) with the SAD it answered;
  the pair is retried as one unit while the service fails transiently.
* The signature answered is checked against the credential's certificate before it is used
  (:func:`connectors.esign.signer.check_signature`).
"""

from __future__ import annotations

import base64
import json
from typing import TypeVar

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel
from tenacity.wait import wait_base

from connectors.esign.config import EsignConfig
from connectors.esign.errors import SigningRefused
from connectors.esign.service_http import ServiceHttp
from connectors.esign.signer import SigningCredential, check_signature
from gateway.core.errors import InvalidUpstreamAnswer, UpstreamAuthError
from schemas import esign as wire
from schemas.esign import SignatureFormat

__all__ = ["HASH_OIDS", "RSA_ENCRYPTION", "CscSigner"]

#: OIDs of the digest algorithms (RFC 5754) and rsaEncryption, as CSC names them
HASH_OIDS = {
    "sha256": "2.16.840.1.101.3.4.2.1",
    "sha384": "2.16.840.1.101.3.4.2.2",
    "sha512": "2.16.840.1.101.3.4.2.3",
}
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"

M = TypeVar("M", bound=BaseModel)


def _scrub_token(answer: bytes) -> bytes:
    try:
        raw = json.loads(answer)
    except ValueError:
        return answer
    if isinstance(raw, dict):
        for key in ("access_token", "SAD"):
            if key in raw:
                raw[key] = "***"
    return json.dumps(raw).encode()


def load_chain(encoded: list[str]) -> tuple[x509.Certificate, ...]:
    try:
        return tuple(x509.load_der_x509_certificate(base64.b64decode(c)) for c in encoded)
    except ValueError:
        raise InvalidUpstreamAnswer("the service answered a certificate that is not DER") from None


class CscSigner:
    """A :class:`~connectors.esign.signer.RemoteSigner` over a CSC-style service."""

    def __init__(
        self, config: EsignConfig, http: httpx.AsyncClient, *, retry_wait: wait_base | None = None
    ) -> None:
        self._config = config
        self._root = f"{config.base_url}/csc/v1"
        self._http = ServiceHttp.of(config, http, service="CSC", retry_wait=retry_wait)
        self._token: str | None = None
        self._credential: SigningCredential | None = None

    # --- RemoteSigner ------------------------------------------------------------------------

    async def credential(self) -> SigningCredential:
        if self._credential is None:
            info = await self._authed(
                "credentials/info",
                wire.CscInfoRequest(credentialID=self._config.credential_id),
                wire.CscCredentialInfo,
            )
            if info.key.status != "enabled":
                raise SigningRefused(f"the credential {self._config.credential_id!r} is disabled")
            self._credential = SigningCredential(
                self._config.credential_id, load_chain(info.cert.certificates)
            )
        return self._credential

    async def sign_digest(
        self,
        digest: bytes,
        algorithm: str,
        *,
        description: str,
        format: SignatureFormat | None = None,
    ) -> bytes:
        credential = await self.credential()
        encoded = base64.b64encode(digest).decode("ascii")

        async def authorize_and_sign() -> bytes:
            pin = self._config.pin.get_secret_value()
            sad = await self._authed(
                "credentials/authorize",
                wire.CscAuthorizeRequest(
                    credentialID=credential.credential_id, hash=[encoded], PIN=pin
                ),
                wire.CscAuthorizeAnswer,
                redact=(pin.encode(),),
            )
            is_rsa = isinstance(credential.certificate.public_key(), rsa.RSAPublicKey)
            key_oid = RSA_ENCRYPTION if is_rsa else EC_PUBLIC_KEY
            answer = await self._authed(
                "signatures/signHash",
                wire.CscSignHashRequest(
                    credentialID=credential.credential_id,
                    SAD=sad.SAD,
                    hash=[encoded],
                    hashAlgo=HASH_OIDS[algorithm],
                    signAlgo=key_oid,
                ),
                wire.CscSignHashAnswer,
                redact=(sad.SAD.encode(),),
            )
            if len(answer.signatures) != 1:
                raise InvalidUpstreamAnswer("signHash answered other than one signature")
            try:
                return base64.b64decode(answer.signatures[0], validate=True)
            except ValueError:
                raise InvalidUpstreamAnswer("signHash answered a signature not in base64") from None

        signature = await self._http.retrying(authorize_and_sign)
        check_signature(credential, digest, algorithm, signature)
        return signature

    # --- service calls -----------------------------------------------------------------------

    async def list_credentials(self) -> list[str]:
        answer = await self._authed(
            "credentials/list", wire.CscListRequest(), wire.CscCredentialsList
        )
        return list(answer.credentialIDs)

    async def login(self) -> None:
        answer = await self._http.retrying(
            lambda: self._http.call(
                "POST",
                f"{self._root}/auth/login",
                wire.CscLoginAnswer,
                operation="csc.login",
                auth=httpx.BasicAuth(
                    self._config.username, self._config.password.get_secret_value()
                ),
                scrub=_scrub_token,
            )
        )
        self._token = answer.access_token

    async def _authed(
        self,
        path: str,
        body: BaseModel,
        model: type[M],
        *,
        redact: tuple[bytes, ...] = (),
    ) -> M:
        if self._token is None:
            await self.login()
        for again in (True, False):
            try:
                return await self._http.retrying(
                    lambda: self._http.call(
                        "POST",
                        f"{self._root}/{path}",
                        model,
                        operation=f"csc.{path.replace('/', '.')}",
                        body=body,
                        headers={"Authorization": f"Bearer {self._token}"},
                        redact=redact,
                        scrub=_scrub_token,
                    )
                )
            except UpstreamAuthError:
                if not again:
                    raise
                await self.login()
        raise AssertionError("unreachable")  # pragma: no cover
