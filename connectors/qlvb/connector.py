"""The document management connector: the core's contract (check, deliver), packages, statuses.

Operation delivered through the outbox (at-least-once, so safe to repeat):

* ``send_document``: payload :class:`~connectors.qlvb.mapping.VanBanGui` as JSON. The package
  is built anew (its trace timestamp is the delivery's), signed when ``signature="xmldsig"``
  (the registry's :class:`~gateway.core.connector.DocumentSigner`, found when the connector is
  bound; none configured is a configuration error, retried until someone configures it or the
  item dies), and sent with ``sendEdoc``. The axis de-duplicates by DocumentId and answers a
  repeat "DUPLICATE" with its DocID, so a redelivery never makes a second document. Once the
  axis took it, the document becomes ``sent`` (:func:`connectors.qlvb.documents.mark_sent`).

A payload that no longer validates is refused as a :class:`PermanentUpstreamError` (dead
letter) naming the fields. Status packages come back by the poller
(:mod:`connectors.qlvb.poller`, a :class:`~gateway.core.connector.PeriodicJob`) and by the push
route; both read them with :meth:`QlvbConnector.read_status`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from connectors.qlvb import documents, poller
from connectors.qlvb.client import QlvbClient
from connectors.qlvb.config import QlvbConfig
from connectors.qlvb.edxml import EdxmlError, build_edoc, parse_status, read_tree
from connectors.qlvb.errors import DUPLICATE, ERROR_TABLE, StatusInvalid
from connectors.qlvb.mapping import (
    StatusReport,
    VanBanGui,
    check_attachments,
    report_from_wire,
    to_wire,
)
from connectors.qlvb.signing import SignatureProblem, sign_package, verify_package
from gateway.core.connector import CheckResult, Delivered, DocumentSigner, ErrorRule, PeriodicJob
from gateway.core.errors import (
    FieldError,
    GatewayError,
    InvalidInput,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from gateway.core.local_time import FIRST_DAY, LAST_DAY, local_day
from gateway.core.validation import field_errors, validate_model

__all__ = ["QlvbConnector", "StatusInvalid"]


class QlvbConnector:
    """Adapter of the province's document exchange axis (edXML, QCVN 102:2016)."""

    slug: ClassVar[str] = "qlvb"
    operations: ClassVar[frozenset[str]] = frozenset({"send_document"})
    error_table: ClassVar[Mapping[str, ErrorRule]] = ERROR_TABLE

    def __init__(self, config: QlvbConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.client = QlvbClient(config, http)
        self._gateway: Any = None

    def bind(self, gateway: Any) -> None:
        """:class:`~gateway.core.connector.GatewayBound`: the signer is found, and a delivered
        document marked ``sent``, through the running gateway."""
        self._gateway = gateway

    def _document_signer(self) -> DocumentSigner | None:
        connectors = getattr(self._gateway, "connectors", {})
        return next((c for c in connectors.values() if isinstance(c, DocumentSigner)), None)

    async def check(self) -> CheckResult:
        """List the status packages waiting (nothing is taken). Never raises for upstream
        failures."""
        started = time.perf_counter()
        try:
            waiting = await self.client.received_list()
        except GatewayError as exc:
            return CheckResult(
                False, f"{type(exc).__name__}: {exc.detail}", (time.perf_counter() - started) * 1000
            )
        return CheckResult(
            True,
            f"the exchange axis answered; {len(waiting)} status packages waiting",
            (time.perf_counter() - started) * 1000,
        )

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        if operation != "send_document":
            raise PermanentUpstreamError(
                f"qlvb connector has no operation {operation!r}", code="unknown-operation"
            )
        try:
            doc = validate_model(VanBanGui, payload, what="send_document payload")
            package = self.package(doc)
        except InvalidInput as exc:
            raise PermanentUpstreamError(
                f"payload refused before sending: {exc.detail}",
                code="invalid-payload",
                errors=exc.errors,
            ) from exc
        if self.config.signature == "xmldsig":
            signer = self._document_signer()
            if signer is None:
                raise TransientUpstreamError(
                    "signature=xmldsig but no document signer is configured (esign)",
                    code="no-signer",
                )
            package = await sign_package(signer, package)
        answer = await self.client.send_edoc(package)
        document_id = doc.document_id(self.config.sender.organ_id)
        if self._gateway is not None:
            await documents.mark_sent(
                self._gateway,
                ma_ho_so=doc.ma_ho_so,
                document_id=document_id,
                axis_doc_id=answer.DocID or document_id,
            )
        made = "was already there" if answer.ErrorCode == DUPLICATE else "sent"
        return Delivered(
            detail=f"document {document_id} {made}",
            upstream_ref=answer.DocID or None,
            extra={"document_id": document_id, "signed": self.config.signature == "xmldsig"},
        )

    async def aclose(self) -> None:
        """Nothing to close: the HTTP client is injected and owned by the core."""

    # --- what the API and the poller use ----------------------------------------------------

    def package(self, doc: VanBanGui, *, now: datetime | None = None) -> bytes:
        """The unsigned edXML package of ``doc``, or :class:`InvalidInput` naming the field
        (validation both ways: refused when accepted, not when delivered)."""
        check_attachments(doc, self.config)
        try:
            packet = to_wire(doc, self.config, now=now or datetime.now(UTC))
        except ValidationError as exc:
            errors = field_errors(exc)
            raise InvalidInput(
                f"the edXML package failed validation: {errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None
        data = build_edoc(packet)
        if len(data) > self.config.max_package_bytes:
            raise InvalidInput(
                f"the package would be larger than {self.config.max_package_bytes} bytes",
                errors=[FieldError("tep_dinh_kem", "the attachments make the package too large")],
            )
        return data

    def read_status(self, data: bytes) -> StatusReport:
        """A status package from outside, read (hardened, bounded), its signature checked
        (:mod:`connectors.qlvb.signing`), or :class:`StatusInvalid` naming what is wrong."""
        try:
            root = read_tree(data, max_bytes=self.config.max_package_bytes)
            verify_package(
                data,
                root,
                trusted=self.config.trusted_certificates,
                required=self.config.require_status_signature,
            )
            package = parse_status(data, max_bytes=self.config.max_package_bytes)
        except EdxmlError as exc:
            raise StatusInvalid(
                f"the status package is invalid: {exc}", errors=[FieldError(exc.loc, exc.message)]
            ) from None
        except SignatureProblem as exc:
            raise StatusInvalid(
                f"the status package's signature is refused: {exc}",
                errors=[FieldError("Signature", str(exc))],
            ) from None
        report = report_from_wire(package)
        # year 1 or 9999 parses, but cannot be stored (OverflowError, a 500) nor be a status
        try:
            day = local_day(report.at)
        except OverflowError:
            day = None
        if day is None or not FIRST_DAY <= day <= LAST_DAY:
            raise StatusInvalid(
                "the status package's Timestamp is out of range",
                errors=[FieldError("MessageHeader/Timestamp", f"from {FIRST_DAY} to {LAST_DAY}")],
            )
        return report

    def periodic_jobs(self, gateway: Any) -> Sequence[PeriodicJob]:
        """The poller of status packages (see :mod:`connectors.qlvb.poller`)."""

        async def run() -> int:
            return await poller.poll_statuses(
                gateway,
                client=self.client,
                read_status=self.read_status,
                limit=self.config.poll_batch_size,
            )

        return [PeriodicJob("status_packages", self.config.poll_interval_seconds, run)]
