"""Client of a hash-signing service whose certificate holder approves each signature (VNPT
SmartCA's profile), under ``{base_url}/hash/v1``:

* ``POST /certificate {user_id, credential_id}`` -> the credential's chain;
* ``POST /sign {user_id, credential_id, sign_type "hash", hash (hex), hash_algorithm,
  description, callback_url?}`` -> ``{status 0, transaction_id}``; the holder is asked;
* ``GET /transactions/{id}`` -> ``{state pending|approved|denied|expired, signature?}``.

Contracts:

* The API key travels as a bearer token in a header, never in a body.
* ``POST /sign`` is not retried: a repeat would ask the holder a second time. Reads are.
* :meth:`HashSigner.sign_digest` submits, then polls every ``approval_poll_seconds`` for at most
  ``approval_wait_seconds``: approved -> the signature (checked against the certificate);
  denied or expired -> :class:`~connectors.esign.errors.SigningRefused`; still pending ->
  :class:`~connectors.esign.errors.ApprovalPending` naming the transaction, which
  :meth:`HashSigner.outcome` can be asked about later (asynchronous signing).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable

import httpx
from tenacity.wait import wait_base

from connectors.esign.client_csc import load_chain
from connectors.esign.config import EsignConfig
from connectors.esign.errors import SUCCESS, ApprovalPending, SigningRefused
from connectors.esign.service_http import ServiceHttp, raise_for_code
from connectors.esign.signer import SigningCredential, check_signature
from gateway.core.errors import InvalidUpstreamAnswer
from schemas import esign as wire

__all__ = ["HashSigner"]


class HashSigner:
    """A :class:`~connectors.esign.signer.RemoteSigner` over a hash-signing service."""

    def __init__(
        self,
        config: EsignConfig,
        http: httpx.AsyncClient,
        *,
        retry_wait: wait_base | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._root = f"{config.base_url}/hash/v1"
        self._http = ServiceHttp.of(config, http, service="hash-signing", retry_wait=retry_wait)
        self._sleep = sleep or asyncio.sleep
        self._clock = clock
        self._credential: SigningCredential | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._config.api_key.get_secret_value()}"}

    async def credential(self) -> SigningCredential:
        if self._credential is None:
            answer = await self._http.retrying(
                lambda: self._http.call(
                    "POST",
                    f"{self._root}/certificate",
                    wire.HashCertificateAnswer,
                    operation="hash.certificate",
                    body=wire.HashCertificateRequest(
                        user_id=self._config.user_id, credential_id=self._config.credential_id
                    ),
                    headers=self._headers(),
                )
            )
            if str(answer.status) != SUCCESS:
                raise_for_code(str(answer.status), answer.message)
            if not answer.certificates:
                raise InvalidUpstreamAnswer("the service answered no certificate")
            self._credential = SigningCredential(
                answer.credential_id or self._config.credential_id,
                load_chain(answer.certificates),
            )
        return self._credential

    async def submit(
        self,
        digest: bytes,
        algorithm: str,
        *,
        description: str,
        callback_url: str | None = None,
        transaction_id: str | None = None,
    ) -> str:
        """Ask the holder to approve signing ``digest``; the transaction id. With the caller's
        own ``transaction_id`` a repeat is the same request (safe to resend)."""
        credential = await self.credential()
        request = wire.HashSignRequest(
            user_id=self._config.user_id,
            credential_id=credential.credential_id,
            hash=digest.hex(),
            hash_algorithm=algorithm,
            description=description[:500],
            callback_url=callback_url,
            transaction_id=transaction_id,
        )
        answer = await self._http.call(
            "POST",
            f"{self._root}/sign",
            wire.HashSignAnswer,
            operation="hash.sign",
            body=request,
            headers=self._headers(),
        )
        if str(answer.status) != SUCCESS:
            raise_for_code(str(answer.status), answer.message)
        if not answer.transaction_id or transaction_id not in (None, answer.transaction_id):
            raise InvalidUpstreamAnswer("the service answered no or another transaction_id")
        return answer.transaction_id

    async def transaction(self, transaction_id: str) -> wire.HashTransaction:
        answer = await self._http.retrying(
            lambda: self._http.call(
                "GET",
                f"{self._root}/transactions/{transaction_id}",
                wire.HashTransaction,
                operation="hash.transaction",
                headers=self._headers(),
            )
        )
        if str(answer.status) != SUCCESS:
            raise_for_code(str(answer.status), answer.message)
        if answer.transaction_id != transaction_id:
            raise InvalidUpstreamAnswer("the service answered about another transaction")
        return answer

    async def outcome(self, transaction_id: str, digest: bytes, algorithm: str) -> bytes:
        """The signature of an approved transaction; :class:`ApprovalPending` while the holder
        has not answered, :class:`SigningRefused` when they denied or let it expire."""
        answer = await self.transaction(transaction_id)
        if answer.state == "pending":
            raise ApprovalPending(
                f"transaction {transaction_id} awaits the holder's approval", code="pending"
            )
        if answer.state != "approved":
            raise SigningRefused(
                f"the holder did not approve transaction {transaction_id} ({answer.state})",
                code=answer.state,
            )
        if not answer.signature:
            raise InvalidUpstreamAnswer("an approved transaction came without its signature")
        try:
            signature = base64.b64decode(answer.signature, validate=True)
        except ValueError:
            raise InvalidUpstreamAnswer("the signature is not base64") from None
        check_signature(await self.credential(), digest, algorithm, signature)
        return signature

    async def sign_digest(self, digest: bytes, algorithm: str, *, description: str) -> bytes:
        transaction_id = await self.submit(digest, algorithm, description=description)
        deadline = self._clock() + self._config.approval_wait_seconds
        while True:
            try:
                return await self.outcome(transaction_id, digest, algorithm)
            except ApprovalPending:
                if self._clock() >= deadline:
                    raise
            await _maybe_await(self._sleep(self._config.approval_poll_seconds))


async def _maybe_await(value: object) -> None:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        await value
