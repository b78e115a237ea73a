"""Asynchronous signing with the hash service: the signatures awaiting their holder, kept in
``esign_signatures`` (:class:`~gateway.core.store.db.EsignSignature`).

The life of one, driven by the API, the outbox and a periodic job of the connector:

1. ``POST /v1/esign/sign`` prepares the signature (:mod:`connectors.esign.deferred`), stores it
   here (:func:`open_signature`, status ``pending``, the prepared document sealed) and accepts
   an outbox delivery ``request_signature``; it answers 202 with the signature's id.
2. The delivery asks the service to have the holder approve the digest, with the signature's
   id as the transaction id: a redelivery is the same request and the holder is asked once.
3. The job :func:`complete_pending` asks the service about every pending signature: approved
   -> the document is finished (with its timestamp), the result sealed here, status ``signed``
   and the event ``esign.signed`` published in the same transaction; denied or expired ->
   ``failed`` and ``esign.failed``; still pending after ``approval_timeout_seconds`` ->
   ``failed``. A service or TSA that fails transiently is asked again next round.
4. ``GET /v1/esign/signatures/{id}`` reads it (:func:`view`), for the client that asked only.

A signature the service signs at once (``csc``) is queued the same way when the service or the
timestamp authority is down, or when the client asks for it (``Prefer: respond-async``):
:func:`open_queued` (``pending``, format ``queued`` until made), an outbox delivery
``sign_document`` carrying the request, and :func:`settle_queued` from the delivery itself once
signed (``esign.signed``) or refused (``esign.failed``).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from connectors.esign.errors import UNKNOWN_TRANSACTION, ApprovalPending, SigningRefused
from connectors.esign.prepared import DIGEST, PreparedSignature
from connectors.esign.tables import EsignSignature
from gateway.core import events
from gateway.core.errors import NotFound, TransientUpstreamError, UpstreamError
from gateway.core.http.recording import current_attempt
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow

if TYPE_CHECKING:
    from connectors.esign.client_hash import HashSigner
    from connectors.esign.connector import EsignConnector, SignedDocument, SignJob

__all__ = ["complete_pending", "open_queued", "open_signature", "settle_queued", "view"]

log = structlog.get_logger("connectors.esign.store")

SOURCE = "esign"
#: pending signatures asked about per round
BATCH = 50


def _aad(signature_id: str, part: str) -> bytes:
    return f"esign-signature|{signature_id}|{part}".encode()


async def open_signature(
    gw: Gateway,
    *,
    signature_id: str,
    client: str,
    exchange_id: str,
    ma_ho_so: str | None,
    credential_id: str,
    prepared: PreparedSignature,
) -> None:
    row = EsignSignature(
        id=signature_id,
        client=client,
        exchange_id=exchange_id,
        ma_ho_so=ma_ho_so,
        format=prepared.format,
        status="pending",
        credential_id=credential_id,
        prepared_sealed=gw.cipher.encrypt(prepared.to_json(), _aad(signature_id, "prepared")),
        created_at=utcnow(),
    )
    async with gw.db.transaction() as session:
        session.add(row)


async def open_queued(
    gw: Gateway, *, signature_id: str, client: str, exchange_id: str, ma_ho_so: str | None
) -> None:
    """A signature queued in the outbox (``sign_document``): pending, nothing prepared (the
    document travels in the outbox item, sealed)."""
    row = EsignSignature(
        id=signature_id,
        client=client,
        exchange_id=exchange_id,
        ma_ho_so=ma_ho_so,
        format="queued",
        status="pending",
        credential_id="",
        prepared_sealed=None,
        created_at=utcnow(),
    )
    async with gw.db.transaction() as session:
        session.add(row)


async def settle_queued(
    gw: Gateway,
    job: SignJob,
    *,
    signed: SignedDocument | None = None,
    failure: str | None = None,
) -> None:
    """A queued signature made (or refused): kept and announced, once (a redelivery after a
    crash finds it settled and changes nothing; a row lost to a crash between the accepting
    and :func:`open_queued` is made again from the job)."""
    async with gw.db.transaction() as session:
        row = await session.get(EsignSignature, job.signature_id)
    if row is None:
        await open_queued(
            gw,
            signature_id=job.signature_id,
            client=job.client,
            exchange_id=_delivered_exchange() or job.signature_id,
            ma_ho_so=job.ma_ho_so,
        )
        async with gw.db.transaction() as session:
            row = await session.get(EsignSignature, job.signature_id)
        assert row is not None
    if signed is not None:
        row.format = signed.format
        await _settle(
            gw,
            row,
            status="signed",
            detail=None,
            result=signed.data,
            subject=signed.credential.subject,
            format=signed.format,
        )
    else:
        await _settle(gw, row, status="failed", detail=failure)


def _delivered_exchange() -> str | None:
    """The exchange the delivery under way serves (its outbox item's)."""
    ctx = current_attempt()
    return ctx.parent_id if ctx is not None else None


async def view(gw: Gateway, signature_id: str, *, client: str) -> dict[str, Any]:
    """The signature as its client sees it; :class:`NotFound` for anyone else."""
    async with gw.db.transaction() as session:
        row = await session.get(EsignSignature, signature_id)
    if row is None or row.client != client:
        raise NotFound(f"no signature {signature_id}")
    result = (
        gw.cipher.decrypt(row.result_sealed, _aad(row.id, "result"))
        if row.result_sealed is not None
        else None
    )
    encoded = base64.b64encode(result).decode("ascii") if result is not None else None
    return {
        "id": row.id,
        "status": row.status,
        "format": row.format,
        "ma_ho_so": row.ma_ho_so,
        "exchange_id": row.exchange_id,
        "detail": row.detail,
        "signed_document": encoded if row.format != "cms" else None,
        "signature": encoded if row.format == "cms" else None,
        "created_at": row.created_at.isoformat(),
        "settled_at": row.settled_at.isoformat() if row.settled_at else None,
    }


async def _settle(
    gw: Gateway,
    row: EsignSignature,
    *,
    status: str,
    detail: str | None,
    result: bytes | None = None,
    subject: str | None = None,
    format: str | None = None,
) -> None:
    async with gw.db.transaction() as session:
        current = await session.get(EsignSignature, row.id, with_for_update=True)
        if current is None or current.status != "pending":
            return  # another process settled it first
        if format is not None:
            current.format = format
        current.status = status
        current.detail = detail[:500] if detail else None
        current.settled_at = utcnow()
        current.prepared_sealed = None
        if result is not None:
            current.result_sealed = gw.cipher.encrypt(result, _aad(row.id, "result"))
        await events.publish(
            session,
            gw.cipher,
            type=f"esign.{status}",
            source=SOURCE,
            subject=row.id,
            payload={
                "signature_id": row.id,
                "status": status,
                "format": current.format,
                "ma_ho_so": row.ma_ho_so,
                "exchange_id": row.exchange_id,
                "signer_subject": subject,
                "detail": current.detail,
                "links": {"self": f"/v1/esign/signatures/{row.id}"},
            },
        )
    gw.wakeup.set()


async def _complete_one(gw: Gateway, connector: EsignConnector, row: EsignSignature) -> bool:
    """True when the signature was settled this round."""
    signer: HashSigner = connector.hash_signer()
    assert row.prepared_sealed is not None
    prepared = PreparedSignature.from_json(
        gw.cipher.decrypt(row.prepared_sealed, _aad(row.id, "prepared"))
    )
    too_old = utcnow() - row.created_at > timedelta(
        seconds=connector.config.approval_timeout_seconds
    )
    try:
        signature = await signer.outcome(row.id, prepared.digest, DIGEST)
    except ApprovalPending:
        if too_old:
            await _settle(gw, row, status="failed", detail="not approved in time")
            return True
        return False
    except SigningRefused as exc:
        if exc.code == UNKNOWN_TRANSACTION and not too_old:
            return False  # the outbox has not delivered the request yet
        await _settle(gw, row, status="failed", detail=exc.detail)
        return True
    from connectors.esign.deferred import finish  # pyHanko and signxml: loaded when used

    credential = await signer.credential()
    timestamper = connector.timestamper() if prepared.state.get("timestamped") else None
    try:
        result = await finish(prepared, credential, signature, timestamper=timestamper)
    except UpstreamError:
        raise  # the TSA: transient ones are asked again next round
    except Exception as exc:  # a prepared document that cannot be finished never will be
        log.exception("esign.finish_failed", signature_id=row.id)
        detail = f"the signature could not be embedded ({type(exc).__name__})"
        await _settle(gw, row, status="failed", detail=detail)
        return True
    await _settle(gw, row, status="signed", detail=None, result=result, subject=credential.subject)
    return True


async def complete_pending(gw: Gateway, connector: EsignConnector) -> int:
    """One round over the pending signatures; how many were settled."""
    async with gw.db.transaction() as session:
        rows = list(
            (
                await session.execute(
                    select(EsignSignature)
                    .where(
                        EsignSignature.status == "pending",
                        # the queued ones are the outbox's (sign_document)
                        EsignSignature.prepared_sealed.is_not(None),
                    )
                    .order_by(EsignSignature.created_at)
                    .limit(BATCH)
                )
            ).scalars()
        )
    settled = 0
    for row in rows:
        try:
            settled += await _complete_one(gw, connector, row)
        except TransientUpstreamError as exc:
            log.info("esign.approval_check_deferred", signature_id=row.id, reason=exc.detail)
        except UpstreamError as exc:
            await _settle(gw, row, status="failed", detail=exc.detail)
            settled += 1
    return settled
