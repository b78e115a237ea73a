"""The DVCQG connector: the core's contract (check, deliver) plus the synchronous look-ups.

Operations delivered through the outbox (at-least-once, so each is safe to repeat):

* ``sync_dossier``: payload ``HoSo.model_dump(mode="json")``; sent with ``DongBoHoSoMC``
  (created, or updated when the portal already has it: a repeat is an update).
* ``update_steps``: payload ``{"ma_ho_so": str, "steps": [BuocXuLy as JSON, ...]}``; sent
  with ``CapNhatTienDoHoSoMC`` in chunks.

A payload that no longer validates cannot succeed on any retry, so it is refused as a
:class:`PermanentUpstreamError` (dead letter) carrying the field errors, never retried.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx
from pydantic import Field, ValidationError

from connectors.dvcqg.catalogue import ProcedureCatalogue
from connectors.dvcqg.client import DvcqgClient
from connectors.dvcqg.config import DvcqgConfig
from connectors.dvcqg.errors import ERROR_TABLE
from connectors.dvcqg.mapping import (
    buoc_from_wire,
    buoc_to_wire,
    ho_so_from_wire,
    ho_so_to_wire,
    thu_tuc_chi_tiet_from_wire,
)
from connectors.dvcqg.models import BuocXuLy, CapNhatTienDo, HoSo, ThuTucChiTiet
from connectors.dvcqg.online import OnlineDossiers
from connectors.dvcqg.portal_view import BuocTrenCong, HoSoTrenCong
from connectors.dvcqg.profiles import PROFILES
from gateway.core.connector import (
    CheckResult,
    Delivered,
    DocumentSigner,
    ErrorRule,
    PeriodicJob,
)
from gateway.core.errors import (
    FieldError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamError,
)
from gateway.core.validation import field_errors, validate_model
from schemas.dvcqg import MA_HO_SO_PATTERN, HoSoMC, KetQuaKhoDuLieu, TraLoi

__all__ = ["DvcqgConnector", "UpdateSteps"]


_SYNCED_MEMORY = 100_000


class UpdateSteps(CapNhatTienDo):
    """The ``update_steps`` outbox payload: the dossier's code plus its steps."""

    ma_ho_so: str = Field(pattern=MA_HO_SO_PATTERN, examples=["000.00.01.H22-240105-0007"])


#: a store_result payload's mark: sign the document when it is delivered
SIGN_AT_DELIVERY = "_sign"


class DvcqgConnector:
    """Adapter of the National Public Service Portal (DVCQG)."""

    slug: ClassVar[str] = "dvcqg"
    operations: ClassVar[frozenset[str]] = frozenset(
        {"sync_dossier", "update_steps", "answer_feedback", "answer_question", "store_result"}
    )
    error_table: ClassVar[Mapping[str, ErrorRule]] = ERROR_TABLE
    #: DongBoHoSoMC takes a list; the simulator accepts up to 50, real adapters vary
    batch_operations: ClassVar[Mapping[str, int]] = {"sync_dossier": 10}

    def __init__(self, config: DvcqgConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        #: the wire profile of the dossier packet (connectors.dvcqg.profiles)
        self.profile = PROFILES[config.profile]
        self.client = DvcqgClient(config, http)
        self.online = OnlineDossiers(config, http, self.client)
        self.catalogue = ProcedureCatalogue(
            self.client,
            ttl_seconds=config.catalogue_ttl_seconds,
            refresh_timeout_seconds=config.catalogue_refresh_timeout_seconds,
            unknown_procedure=config.unknown_procedure,
        )
        # dossiers this process has synchronised: their next sync goes out as an update at
        # once, instead of a creation the portal answers "exists" (one call instead of two)
        self._synced: OrderedDict[str, None] = OrderedDict()
        self._gateway: Any = None

    def bind(self, gateway: Any) -> None:
        """:class:`~gateway.core.connector.GatewayBound`: a result to sign finds the signing
        connector when it is delivered."""
        self._gateway = gateway

    def _document_signer(self) -> DocumentSigner | None:
        connectors = getattr(self._gateway, "connectors", {})
        return next((c for c in connectors.values() if isinstance(c, DocumentSigner)), None)

    async def check(self) -> CheckResult:
        """Authenticate and list the catalogue. Never raises for upstream failures."""
        started = time.perf_counter()
        try:
            await self.client.authenticate()
            procedures = await self.client.lay_danh_sach_tthc()
        except UpstreamError as exc:
            return CheckResult(
                ok=False,
                detail=f"{type(exc).__name__}: {exc.detail}",
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        return CheckResult(
            ok=True,
            detail=f"authenticated; {len(procedures)} procedures in the catalogue",
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        """Deliver one outbox payload (see the module docstring for the payloads)."""
        try:
            match operation:
                case "sync_dossier":
                    return await self._sync_dossier(payload)
                case "update_steps":
                    return await self._update_steps(payload)
                case "answer_feedback" | "answer_question":
                    return await self._send_answer(operation, payload)
                case "store_result":
                    return await self._store_result(payload)
                case _:
                    raise PermanentUpstreamError(
                        f"dvcqg connector has no operation {operation!r}",
                        code="unknown-operation",
                    )
        except InvalidInput as exc:
            raise _refused_before_sending(exc) from exc

    def periodic_jobs(self, gateway: Any) -> Sequence[PeriodicJob]:
        """Pulling from the portal (online dossiers; feedback, ratings and questions), unless
        ``pull_interval_seconds`` is 0 (push only)."""
        interval = self.config.pull_interval_seconds
        if interval <= 0:
            return []
        return [
            PeriodicJob("pull-online-dossiers", interval, lambda: self.online.pull_round(gateway)),
            PeriodicJob(
                "pull-citizen-items", interval, lambda: self.online.pull_items_round(gateway)
            ),
        ]

    async def _store_result(self, payload: Mapping[str, Any]) -> Delivered:
        """Send a result to the citizen's data store; signed here first when it was accepted
        to be (``KySo``): a signing service or TSA that is down leaves the delivery to be
        retried, never the case system to be answered 503."""
        fields = dict(payload)
        if fields.pop(SIGN_AT_DELIVERY, False):
            fields = await self._signed(fields)
        result = validate_model(KetQuaKhoDuLieu, fields, what="store_result payload")
        await self.client.dong_bo_ket_qua_kho(result.model_dump(mode="json", exclude_none=True))
        return Delivered(
            detail=f"DongBoKetQuaKho: {result.MaGiayTo} of {result.MaHoSo} stored",
            upstream_ref=result.MaGiayTo,
        )

    async def _signed(self, fields: dict[str, Any]) -> dict[str, Any]:
        signer = self._document_signer()
        if signer is None:
            return fields  # no signing connector any more: sent as it was accepted
        content = base64.b64decode(fields["NoiDungTep"])
        embedded = await signer.sign_document(content, str(fields["DinhDang"]))
        if embedded is None:
            return fields  # a kind the signer does not embed (sent unsigned, as before)
        return {
            **fields,
            "NoiDungTep": base64.b64encode(embedded).decode(),
            "MaBam": hashlib.sha256(embedded).hexdigest(),
            "DaKySo": 1,
        }

    async def _send_answer(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        service = "DongBoTraLoiPhanAnh" if operation == "answer_feedback" else "DongBoHoiDap"
        answer = validate_model(TraLoi, payload, what=f"{operation} payload")
        await self.client.dong_bo_tra_loi(service, [answer.model_dump(mode="json")])
        return Delivered(detail=f"{service}: answer to {answer.Ma} sent", upstream_ref=answer.Ma)

    async def aclose(self) -> None:
        """Cancel a catalogue refresh still running (the HTTP client is the core's)."""
        await self.catalogue.aclose()

    def check_dossier(self, ho_so: HoSo) -> None:
        """Validation both ways: refuse now a dossier whose DVCQG packet the portal's schema
        would refuse (raises :class:`InvalidInput` naming the wire field)."""
        try:
            ho_so_to_wire(ho_so, self.profile)
        except ValidationError as exc:
            raise _invalid_packet(exc) from None

    def check_steps(self, ma_ho_so: str, steps: Sequence[BuocXuLy]) -> None:
        """As :meth:`check_dossier`, for processing steps."""
        try:
            for step in steps:
                buoc_to_wire(ma_ho_so, step)
        except ValidationError as exc:
            raise _invalid_packet(exc) from None

    async def lookup_dossier(self, ma_ho_so: str) -> tuple[HoSoTrenCong, list[BuocTrenCong]] | None:
        """The dossier as DVCQG holds it and its steps; ``None`` when DVCQG does not know it.

        Read tolerantly (blanks and unknown codes as None); an answer that still does not map
        raises :class:`InvalidUpstreamAnswer` naming the field.
        """
        record = await self.client.tra_cuu_ho_so(ma_ho_so)
        if record is None:
            return None
        try:
            return ho_so_from_wire(record), [buoc_from_wire(q) for q in record.QuaTrinhXuLy]
        except ValueError as exc:
            raise _invalid_answer("TraCuuHoSo", exc) from None

    async def procedure(self, ma_tthc: str) -> ThuTucChiTiet | None:
        """One procedure in full (LayThuTuc); ``None`` when the catalogue does not know it."""
        detail = await self.client.lay_thu_tuc(ma_tthc)
        if detail is None:
            return None
        try:
            return thu_tuc_chi_tiet_from_wire(detail)
        except ValueError as exc:
            raise _invalid_answer("LayThuTuc", exc) from None

    async def deliver_batch(
        self, operation: str, payloads: Sequence[Mapping[str, Any]]
    ) -> Sequence[Delivered | UpstreamError]:
        """Several dossiers in one ``DongBoHoSoMC`` call (its ``data`` is a list).

        A payload that fails validation is refused alone; if the portal refuses the whole
        call (it does not say which packet it disliked), each dossier is sent again on its
        own so that only the bad one fails. A transient failure raises for the whole batch.
        """
        if operation not in self.batch_operations:
            return [await self._deliver_one(operation, p) for p in payloads]
        outcomes: list[Delivered | UpstreamError | None] = [None] * len(payloads)
        ready: list[tuple[int, HoSo, HoSoMC]] = []
        for index, payload in enumerate(payloads):
            try:
                ho_so, packet = self._prepare_dossier(payload)
            except InvalidInput as exc:
                outcomes[index] = _refused_before_sending(exc)
            else:
                ready.append((index, ho_so, packet))
        if ready:
            updating = all(h.ma_ho_so in self._synced for _, h, _ in ready)
            try:
                await self.client.dong_bo_ho_so([p for _, _, p in ready], updating=updating)
            except PermanentUpstreamError:
                for index, ho_so, packet in ready:
                    outcomes[index] = await self._sync_alone(ho_so, packet)
            else:
                for index, ho_so, _ in ready:
                    self._remember(ho_so.ma_ho_so)
                    outcomes[index] = _synced(ho_so)
        return [o for o in outcomes if o is not None]

    async def _deliver_one(
        self, operation: str, payload: Mapping[str, Any]
    ) -> Delivered | UpstreamError:
        try:
            return await self.deliver(operation, payload)
        except TransientUpstreamError:
            raise
        except UpstreamError as exc:
            return exc

    async def _sync_alone(self, ho_so: HoSo, packet: HoSoMC) -> Delivered | UpstreamError:
        try:
            await self.client.dong_bo_ho_so([packet], updating=ho_so.ma_ho_so in self._synced)
        except TransientUpstreamError:
            raise
        except UpstreamError as exc:
            return exc
        self._remember(ho_so.ma_ho_so)
        return _synced(ho_so)

    def _prepare_dossier(self, payload: Mapping[str, Any]) -> tuple[HoSo, HoSoMC]:
        ho_so = validate_model(HoSo, payload, what="sync_dossier payload")
        try:
            return ho_so, ho_so_to_wire(ho_so, self.profile)
        except ValidationError as exc:
            raise _invalid_packet(exc) from None

    async def _sync_dossier(self, payload: Mapping[str, Any]) -> Delivered:
        ho_so, packet = self._prepare_dossier(payload)
        updating = ho_so.ma_ho_so in self._synced
        await self.client.dong_bo_ho_so([packet], updating=updating)
        self._remember(ho_so.ma_ho_so)
        return _synced(ho_so)

    def _remember(self, ma_ho_so: str) -> None:
        self._synced[ma_ho_so] = None
        self._synced.move_to_end(ma_ho_so)
        while len(self._synced) > _SYNCED_MEMORY:
            self._synced.popitem(last=False)

    async def _update_steps(self, payload: Mapping[str, Any]) -> Delivered:
        batch = validate_model(UpdateSteps, payload, what="update_steps payload")
        try:
            packets = [buoc_to_wire(batch.ma_ho_so, step) for step in batch.steps]
        except ValidationError as exc:
            raise _invalid_packet(exc) from None
        chunks = await self.client.cap_nhat_tien_do(packets)
        return Delivered(
            detail=f"{len(batch.steps)} steps of {batch.ma_ho_so} sent in {chunks} chunks",
            upstream_ref=batch.ma_ho_so,
            extra={"steps": len(batch.steps), "chunks": chunks},
        )


def _synced(ho_so: HoSo) -> Delivered:
    return Delivered(
        detail=f"dossier {ho_so.ma_ho_so} synchronised with DVCQG", upstream_ref=ho_so.ma_ho_so
    )


def _refused_before_sending(exc: InvalidInput) -> PermanentUpstreamError:
    return PermanentUpstreamError(
        f"payload refused before sending: {exc.detail}", code="invalid-payload", errors=exc.errors
    )


def _invalid_packet(exc: ValidationError) -> InvalidInput:
    # the canonical model accepted it but the wire schema does not: name the wire field
    errors = field_errors(exc)
    return InvalidInput(
        f"wire packet failed validation: {errors[0].loc}: {errors[0].msg}", errors=errors
    )


def _invalid_answer(service: str, exc: ValueError) -> InvalidUpstreamAnswer:
    # pydantic's own message quotes the values (personal data): keep only paths and reasons
    if isinstance(exc, ValidationError):
        errors = field_errors(exc)
    else:
        loc, _, msg = str(exc).partition(": ")
        errors = [FieldError(loc, msg) if msg else FieldError("(body)", loc)]
    return InvalidUpstreamAnswer(
        f"DVCQG {service} answer does not map onto the canonical model: "
        f"{errors[0].loc}: {errors[0].msg}",
        errors=errors,
    )
