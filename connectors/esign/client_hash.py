"""Client of a hash-signing service whose certificate holder approves each signature on their
phone, in the wire profile ``HASH_PROFILE`` (``smartca``: VNPT SmartCA's ``sp769`` API; the
requests are built and the answers read by :mod:`connectors.esign.profiles`, which cites the
public sources):

* ``POST {base_url}/sca/sp769/v1/credentials/get_certificate`` ``{sp_id, sp_password, user_id,
  serial_number, transaction_id}`` -> ``data.user_certificates[]`` (``cert_data``,
  ``chain_data``): the holder's certificate and its chain;
* ``POST {base_url}/sca/sp769/v1/signatures/sign`` ``{sp_id, sp_password, user_id,
  transaction_desc, transaction_id, sign_files: [{data_to_be_signed, doc_id, file_type,
  sign_type: "hash"}], serial_number}`` -> ``{status_code 200, message, data: {transaction_id,
  tran_code}}``; the holder is asked on their phone;
* ``POST {base_url}/sca/sp769/v1/signatures/sign/{transaction_id}/status`` ``{}`` ->
  ``data.signatures[].signature_value`` once approved (``null`` before).

Contracts:

* ``sp_password`` travels in the bodies (the service takes it there) and is blanked in the
  exchange log's copy of every request; it never appears in an error or a log line.
* ``signatures/sign`` is not retried: a repeat would ask the holder a second time. Reads are.
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
import uuid
from collections.abc import Callable

import httpx
from pydantic import BaseModel
from tenacity.wait import wait_base

from connectors.esign import profiles
from connectors.esign.client_csc import load_chain
from connectors.esign.config import EsignConfig
from connectors.esign.errors import (
    DENIED,
    EXPIRED,
    SUCCESS,
    UNKNOWN_TRANSACTION,
    ApprovalPending,
    SigningRefused,
)
from connectors.esign.service_http import ServiceHttp, raise_for_code
from connectors.esign.signer import SigningCredential, check_signature
from gateway.core.errors import InvalidUpstreamAnswer
from schemas import esign as wire
from schemas.esign import SignatureFormat

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
        self._http = ServiceHttp.of(config, http, service="SmartCA", retry_wait=retry_wait)
        self._sleep = sleep or asyncio.sleep
        self._clock = clock
        self._credential: SigningCredential | None = None
        self._redact = profiles.secret_forms(config.sp_password.get_secret_value())

    def _url(self, path: str) -> str:
        return f"{self._config.base_url}{path}"

    async def credential(self) -> SigningCredential:
        if self._credential is None:
            config = self._config
            request = profiles.certificate_request(
                sp_id=config.sp_id,
                sp_password=config.sp_password.get_secret_value(),
                user_id=config.user_id,
                serial_number=config.serial_number,
                transaction_id=str(uuid.uuid4()),
            )
            answer = await self._http.retrying(
                lambda: self._http.call(
                    "POST",
                    self._url(config.smartca_certificate_path),
                    wire.HashCertificateAnswer,
                    operation="smartca.get_certificate",
                    body=request,
                    redact=self._redact,
                )
            )
            if str(answer.status_code) != SUCCESS:
                raise_for_code(str(answer.status_code), answer.message)
            chosen = profiles.choose_certificate(answer, config.serial_number, config.user_id)
            self._credential = SigningCredential(
                chosen.serial_number, load_chain(profiles.chain_of(chosen))
            )
        return self._credential

    async def submit(
        self,
        digest: bytes,
        algorithm: str,
        *,
        description: str,
        transaction_id: str | None = None,
        format: SignatureFormat | None = None,
    ) -> str:
        """Ask the holder to approve signing ``digest``; the transaction id the service
        answered. With the caller's own ``transaction_id`` (asynchronous signing: the
        signature's id) the service must answer that same id back."""
        credential = await self.credential()
        config = self._config
        ours = transaction_id or str(uuid.uuid4())
        request = profiles.sign_request(
            sp_id=config.sp_id,
            sp_password=config.sp_password.get_secret_value(),
            user_id=config.user_id,
            serial_number=credential.credential_id,
            transaction_id=ours,
            digest=digest,
            description=description,
            format=format,
        )
        answer = await self._http.call(
            "POST",
            self._url(config.smartca_sign_path),
            wire.HashSignAnswer,
            operation="smartca.sign",
            body=request,
            redact=self._redact,
        )
        if str(answer.status_code) != SUCCESS:
            raise_for_code(str(answer.status_code), answer.message)
        answered = answer.data.transaction_id if answer.data else None
        if not answered:
            raise InvalidUpstreamAnswer("the service answered no transaction_id")
        if transaction_id is not None and answered != transaction_id:
            # the signature's id is how it is asked about later: another id cannot be followed
            raise InvalidUpstreamAnswer(
                f"the service answered transaction {answered[:64]!r} for {transaction_id!r}"
            )
        return answered

    async def transaction(self, transaction_id: str) -> wire.HashTransaction:
        """The status answer of ``transaction_id``; :class:`SigningRefused` with the code
        ``unknown_transaction`` when the service does not know it."""
        path = self._config.smartca_status_path.replace("{transaction_id}", transaction_id)
        try:
            answer = await self._http.retrying(
                lambda: self._http.call(
                    "POST",
                    self._url(path),
                    wire.HashTransaction,
                    operation="smartca.status",
                    body=_EMPTY,
                )
            )
        except SigningRefused as exc:
            if exc.code == "400":
                raise SigningRefused(exc.detail, code=UNKNOWN_TRANSACTION) from None
            raise
        if str(answer.status_code) == "400":
            raise SigningRefused(
                f"the service knows no transaction {transaction_id}: {answer.message[:200]}",
                code=UNKNOWN_TRANSACTION,
            )
        if str(answer.status_code) != SUCCESS:
            raise_for_code(str(answer.status_code), answer.message)
        # data.transaction_id is not checked against ours: VNPT's own samples show another id
        # there (Doc §3.4 vs §3.3); a signature of anything else fails its check anyway
        return answer

    async def outcome(self, transaction_id: str, digest: bytes, algorithm: str) -> bytes:
        """The signature of an approved transaction; :class:`ApprovalPending` while the holder
        has not answered, :class:`SigningRefused` when they denied or let it expire."""
        found = profiles.outcome_of(await self.transaction(transaction_id), transaction_id)
        if found.state == "pending":
            raise ApprovalPending(
                f"transaction {transaction_id} awaits the holder's approval", code="pending"
            )
        if found.state != "approved":
            raise SigningRefused(
                f"the holder did not approve transaction {transaction_id} "
                f"({'denied' if found.state == 'denied' else 'expired'}: {found.detail})",
                code=DENIED if found.state == "denied" else EXPIRED,
            )
        try:
            signature = base64.b64decode(found.signature or "", validate=True)
        except ValueError:
            raise InvalidUpstreamAnswer("the signature is not base64") from None
        check_signature(await self.credential(), digest, algorithm, signature)
        return signature

    async def sign_digest(
        self,
        digest: bytes,
        algorithm: str,
        *,
        description: str,
        format: SignatureFormat | None = None,
    ) -> bytes:
        transaction_id = await self.submit(
            digest, algorithm, description=description, format=format
        )
        deadline = self._clock() + self._config.approval_wait_seconds
        while True:
            try:
                return await self.outcome(transaction_id, digest, algorithm)
            except ApprovalPending:
                if self._clock() >= deadline:
                    raise
            await _maybe_await(self._sleep(self._config.approval_poll_seconds))


class _Empty(BaseModel):
    """The status poll's body: ``{}`` (SmartCA769 L454-456)."""


_EMPTY = _Empty()


async def _maybe_await(value: object) -> None:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        await value
