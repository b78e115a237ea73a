"""Async client of the DVCQG adapter: one method per upstream service.

Protocol, as OpenCPS speaks it (``VietOpenCPS/opencps-v2``, branch ``release-candidate-3.0``,
``.../dossiermgt/action/impl/DVCQGIntegrationActionImpl.java``): ``POST {base_url}{auth_endpoint}``
with ``{username, password}`` opens a session (``getAccessToken``, lines 1234-1320); every other
call is ``POST {base_url}{integration_endpoint}`` with ``{session, madonvi, service, ...}``
(``syncData`` / ``getSharingData``, lines 2200-2286 and 1834-1907), except the catalogue list
and the code lists, which go to ``{base_url}{share_endpoint}`` (``getSharingDictCollection``,
lines 2000-2090; :data:`~connectors.dvcqg.profiles.SHARE_SERVICES`). Every call, auth
included, carries the unit's code in a ``dstcode`` header (lines 1272-1274, 1867, 2048, 2243).
Answers carry ``error_code``, resolved through :mod:`connectors.dvcqg.errors`.

Contracts:

* Every outbound packet is validated against :mod:`schemas.dvcqg` before anything is sent
  (not even the session is opened for a bad packet): :class:`~gateway.core.errors.InvalidInput`
  naming the field path.
* Every answer is validated before it is trusted: non-JSON or off-schema answers raise
  :class:`~gateway.core.errors.InvalidUpstreamAnswer` naming the field.
* Transport failures, HTTP 429 and 5xx raise :class:`~gateway.core.errors.TransientUpstreamError`
  (``retry_after`` from the Retry-After header when given).
* The session is opened lazily, once for concurrent callers, and renewed once when the portal
  answers "100"; the call is then repeated once.
* Read-only calls (auth, TraCuuHoSo, LayDanhSachTTHC, LayThuTuc) are retried a bounded number
  of times on transient failures. Writes are not: the outbox owns their retries, and the core
  must see each attempt.
* Neither the password nor the session ever appears in an exception message or a log line.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import ValidationError
from tenacity import (
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from connectors.dvcqg.config import DvcqgConfig
from connectors.dvcqg.errors import resolve, resolve_sync
from connectors.dvcqg.profiles import SHARE_SERVICES, updating_flag
from gateway.core.connector import ErrorRule, Resolution, raise_for_rule
from gateway.core.delivery.resilience import retry_transient
from gateway.core.errors import (
    FieldError,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.recording import retry_after_seconds
from gateway.core.validation import field_errors, validate_model
from schemas import dvcqg as wire

__all__ = ["NOT_FOUND", "DvcqgClient"]

log = structlog.get_logger(__name__)

A = TypeVar("A", bound=wire.WireAnswer)
S = TypeVar("S", bound=wire.ServiceAnswer)
T = TypeVar("T")

#: "record not found": for look-ups an answer, not an error
NOT_FOUND = "201"
# a request is validated before the session is known; the real one is put in just before sending
_NO_SESSION = ""
_REDACTED = "***"


class DvcqgClient:
    """Client of one DVCQG adapter account.

    ``http`` is injected (the core's client records every attempt in the exchange log) and has
    no ``base_url``: full URLs are built from ``config.base_url``. ``read_retry_wait`` replaces
    the back-off between read retries (tests pass ``tenacity.wait_none()``).
    """

    def __init__(
        self,
        config: DvcqgConfig,
        http: httpx.AsyncClient,
        *,
        read_retry_wait: wait_base | None = None,
    ) -> None:
        self._config = config
        self._http = http
        base = config.base_url.rstrip("/")
        self._auth_url = f"{base}{config.auth_endpoint}"
        self._api_url = f"{base}{config.integration_endpoint}"
        self._share_url = f"{base}{config.share_endpoint}"
        self._headers = {"dstcode": config.unit_code}
        self._timeout = httpx.Timeout(config.timeout_seconds)
        # 0.2 s, 0.4 s, ... capped at 2 s, plus jitter: "initial" is spelled "multiplier" since
        # tenacity 9.1 (the old name warns)
        self._retry_wait = read_retry_wait or wait_exponential_jitter(multiplier=0.2, max=2)
        self._session: str | None = None
        # one lock so that concurrent callers open (or renew) the session once, not N times
        self._auth_lock = asyncio.Lock()

    # --- public operations ----------------------------------------------------------------

    async def authenticate(self) -> None:
        """Open a new session now, replacing any current one.

        Raises :class:`UpstreamAuthError` when the credentials are refused, and the errors of
        any call otherwise (after bounded retries of transient failures).
        """
        async with self._auth_lock:
            self._session = await self._with_read_retries(self._open_session)

    async def dong_bo_ho_so(
        self, packets: Sequence[wire.HoSoMC], *, updating: bool = False
    ) -> wire.ServiceAnswer:
        """Create the dossiers on DVCQG, or update them if the portal says they exist.

        Sent first with ``isUpdating`` = ``updating`` (the caller's belief that the portal
        already holds them), as the string "True"/"False"; when the portal says the dossier
        exists ("3", "-3", or "0" with a message saying so, as PASETO reads it) the same data
        is resent as an update, and an update the portal cannot match ("201") is resent as a
        creation. Not retried here (a write): the outbox retries it.
        """
        request = validate_model(
            wire.DongBoHoSoMCRequest,
            {
                "session": _NO_SESSION,
                "madonvi": self._config.madonvi,
                "isUpdating": updating_flag(updating),
                "data": [p.model_dump(exclude_none=True) for p in packets],
            },
            what="DongBoHoSoMC packet",
        )
        answer, rule = await self._sync(request, updating=updating)
        if updating and answer.error_code == NOT_FOUND:
            log.info("dvcqg.resend_as_create", dossiers=len(request.data))
            updating = False
            answer, rule = await self._sync(request, updating=updating)
        if rule.resolution is Resolution.EXISTS and not updating:
            log.info("dvcqg.resend_as_update", dossiers=len(request.data))
            updating = True
            answer, rule = await self._sync(request, updating=updating)
        if rule.resolution is Resolution.EXISTS:
            # an update cannot collide with an existing record: the portal is confused
            raise PermanentUpstreamError(
                "DVCQG still reports the dossier as existing when sent as an update",
                code=answer.error_code,
            )
        self._raise_unless_success(rule, answer)
        return answer

    async def _sync(
        self, request: wire.DongBoHoSoMCRequest, *, updating: bool
    ) -> tuple[wire.ServiceAnswer, ErrorRule]:
        sent = request.model_copy(update={"isUpdating": updating_flag(updating)})
        answer, _ = await self._call("DongBoHoSoMC", sent, wire.ServiceAnswer)
        return answer, resolve_sync(answer.error_code, answer.message, updating=updating)

    async def cap_nhat_tien_do(self, steps: Sequence[wire.QuaTrinhXuLy]) -> int:
        """Send processing steps in chunks of ``config.step_chunk_size``, in order.

        Every step is validated before the first chunk goes out. Returns the number of
        chunks sent (0 for no steps). If a chunk fails, the earlier ones stay sent: a repeat
        of the whole delivery resends them, which the at-least-once contract allows.
        """
        checked = [
            validate_model(wire.QuaTrinhXuLy, s.model_dump(), prefix=f"steps[{i}]")
            for i, s in enumerate(steps)
        ]
        size = self._config.step_chunk_size
        requests = [
            validate_model(
                wire.CapNhatTienDoHoSoMCRequest,
                {
                    "session": _NO_SESSION,
                    "madonvi": self._config.madonvi,
                    "data": checked[start : start + size],
                },
                what="CapNhatTienDoHoSoMC packet",
            )
            for start in range(0, len(checked), size)
        ]
        for request in requests:
            answer, rule = await self._call("CapNhatTienDoHoSoMC", request, wire.ServiceAnswer)
            self._raise_unless_success(rule, answer)
        return len(requests)

    async def tra_cuu_ho_so(self, ma_ho_so: str) -> wire.HoSoTraCuu | None:
        """The dossier as DVCQG holds it, with its steps; ``None`` when it does not know it
        (an empty ``result``, or "201"). Sent with ``mahoso`` (OpenCPS line 2195); the
        answer's ``result`` is a list, of which the first is read (a single object is
        tolerated)."""
        request = validate_model(
            wire.TraCuuHoSoRequest,
            {"session": _NO_SESSION, "madonvi": self._config.madonvi, "mahoso": ma_ho_so},
            what="TraCuuHoSo request",
        )
        answer, rule = await self._call(
            "TraCuuHoSo", request, wire.TraCuuHoSoAnswer, read_only=True
        )
        if answer.error_code == NOT_FOUND:
            return None
        self._raise_unless_success(rule, answer)
        return answer.result[0] if answer.result else None

    async def lay_danh_sach_tthc(self) -> list[wire.ThuTucTomTat]:
        """The procedure catalogue of the province (summary lines), from the share endpoint."""
        request = validate_model(
            wire.LayDanhSachTTHCRequest,
            {"session": _NO_SESSION, "madonvi": self._config.madonvi},
            what="LayDanhSachTTHC request",
        )
        answer, rule = await self._call(
            "LayDanhSachTTHC", request, wire.LayDanhSachTTHCAnswer, read_only=True
        )
        self._raise_unless_success(rule, answer)
        return answer.result

    async def lay_danh_muc_co_quan(self) -> list[wire.CoQuan]:
        """The list of agencies (``LayDanhMucCoQuan``), from the share endpoint."""
        request = validate_model(
            wire.LayDanhMucCoQuanRequest,
            {"session": _NO_SESSION, "madonvi": self._config.madonvi},
            what="LayDanhMucCoQuan request",
        )
        answer, rule = await self._call(
            "LayDanhMucCoQuan", request, wire.LayDanhMucCoQuanAnswer, read_only=True
        )
        self._raise_unless_success(rule, answer)
        return answer.result

    async def lay_danh_muc_linh_vuc(self) -> list[wire.LinhVucThucHien]:
        """The list of fields of activity (``LayDanhMucLinhVuc``), from the share endpoint."""
        request = validate_model(
            wire.LayDanhMucLinhVucRequest,
            {"session": _NO_SESSION, "madonvi": self._config.madonvi},
            what="LayDanhMucLinhVuc request",
        )
        answer, rule = await self._call(
            "LayDanhMucLinhVuc", request, wire.LayDanhMucLinhVucAnswer, read_only=True
        )
        self._raise_unless_success(rule, answer)
        return answer.result

    async def lay_thu_tuc(self, ma_tthc: str) -> wire.ThuTuc | None:
        """One procedure in full; ``None`` when the catalogue does not know the code. Sent
        with ``maTTHC`` (OpenCPS line 1445); ``result[0]`` is read (OpenCPS lines 172-176)."""
        request = validate_model(
            wire.LayThuTucRequest,
            {"session": _NO_SESSION, "madonvi": self._config.madonvi, "maTTHC": ma_tthc},
            what="LayThuTuc request",
        )
        answer, rule = await self._call("LayThuTuc", request, wire.LayThuTucAnswer, read_only=True)
        if answer.error_code == NOT_FOUND:
            return None
        self._raise_unless_success(rule, answer)
        return answer.result[0] if answer.result else None

    async def lay_ho_so_truc_tuyen(self, so_luong: int) -> list[dict[str, Any]]:
        """Pull: up to ``so_luong`` online dossiers the portal holds for the province and has
        not had acknowledged, oldest first, raw (the caller validates each). Read-only
        (retried)."""
        request = validate_model(
            wire.LayDanhSachHoSoTrucTuyenRequest,
            {"session": _NO_SESSION, "madonvi": self._config.madonvi, "SoLuong": so_luong},
            what="LayDanhSachHoSoTrucTuyen request",
        )
        answer, rule = await self._call(
            "LayDanhSachHoSoTrucTuyen",
            request,
            wire.LayDanhSachHoSoTrucTuyenAnswer,
            read_only=True,
        )
        self._raise_unless_success(rule, answer)
        return answer.result

    async def xac_nhan_ho_so_truc_tuyen(self, acks: Sequence[Mapping[str, Any]]) -> None:
        """Acknowledge pulled versions (``{MaHoSo, PhienBan, KetQua}``), once they are stored.
        Retried like a read: acknowledging the same version twice changes nothing."""
        request = validate_model(
            wire.XacNhanHoSoTrucTuyenRequest,
            {"session": _NO_SESSION, "madonvi": self._config.madonvi, "data": list(acks)},
            what="XacNhanHoSoTrucTuyen request",
        )
        answer, rule = await self._call(
            "XacNhanHoSoTrucTuyen", request, wire.ServiceAnswer, read_only=True
        )
        self._raise_unless_success(rule, answer)

    async def lay_danh_sach_muc_moi(self, loai: str, so_luong: int) -> list[dict[str, Any]]:
        """Pull: up to ``so_luong`` feedback items, ratings or questions (``loai``) not yet
        acknowledged, raw (the caller validates each by its kind). Read-only (retried)."""
        request = validate_model(
            wire.LayDanhSachMucMoiRequest,
            {
                "session": _NO_SESSION,
                "madonvi": self._config.madonvi,
                "Loai": loai,
                "SoLuong": so_luong,
            },
            what="LayDanhSachMucMoi request",
        )
        answer, rule = await self._call(
            "LayDanhSachMucMoi", request, wire.LayDanhSachMucMoiAnswer, read_only=True
        )
        self._raise_unless_success(rule, answer)
        return answer.result

    async def xac_nhan_muc(self, loai: str, acks: Sequence[Mapping[str, Any]]) -> None:
        """Acknowledge pulled items of ``loai`` (``{Ma, KetQua}``), once stored (retried)."""
        request = validate_model(
            wire.XacNhanMucRequest,
            {
                "session": _NO_SESSION,
                "madonvi": self._config.madonvi,
                "Loai": loai,
                "data": list(acks),
            },
            what="XacNhanMuc request",
        )
        answer, rule = await self._call("XacNhanMuc", request, wire.ServiceAnswer, read_only=True)
        self._raise_unless_success(rule, answer)

    async def dong_bo_tra_loi(self, service: str, answers: Sequence[Mapping[str, Any]]) -> None:
        """Send answers back (``DongBoTraLoiPhanAnh`` or ``DongBoHoiDap``). A write: not
        retried here (the outbox retries; the portal keeps one answer per ``Ma``)."""
        model: type[wire.WirePacket] = (
            wire.DongBoTraLoiPhanAnhRequest
            if service == "DongBoTraLoiPhanAnh"
            else wire.DongBoHoiDapRequest
        )
        request = validate_model(
            model,
            {"session": _NO_SESSION, "madonvi": self._config.madonvi, "data": list(answers)},
            what=f"{service} request",
        )
        answer, rule = await self._call(service, request, wire.ServiceAnswer)
        self._raise_unless_success(rule, answer)

    async def dong_bo_ket_qua_kho(self, result: Mapping[str, Any]) -> None:
        """Send a result document to the citizen's data store (``DongBoKetQuaKho``). A write,
        not retried here; the store keeps one document per ``MaGiayTo``, so the outbox's
        redelivery is harmless."""
        request = validate_model(
            wire.DongBoKetQuaKhoRequest,
            {"session": _NO_SESSION, "madonvi": self._config.madonvi, "data": [dict(result)]},
            what="DongBoKetQuaKho request",
        )
        answer, rule = await self._call("DongBoKetQuaKho", request, wire.ServiceAnswer)
        self._raise_unless_success(rule, answer)

    # --- session --------------------------------------------------------------------------

    async def _current_session(self) -> str:
        session = self._session
        if session is None:
            async with self._auth_lock:
                session = self._session  # another caller may have opened it meanwhile
                if session is None:
                    session = await self._with_read_retries(self._open_session)
                    self._session = session
        return session

    async def _renew_session(self, stale: str) -> str:
        async with self._auth_lock:
            session = self._session
            # only the first caller that saw the stale session renews it; the others reuse
            # the stale session stays set until replaced so that _redact still blanks it out
            if session is None or session == stale:
                log.info("dvcqg.session_renewed")
                session = await self._with_read_retries(self._open_session)
                self._session = session
            return session

    async def _open_session(self) -> str:
        body = wire.AuthRequest(
            username=self._config.username, password=self._config.password.get_secret_value()
        ).model_dump()
        answer = await self._exchange(self._auth_url, body, wire.AuthAnswer, "auth")
        rule = resolve(answer.error_code)
        if rule.resolution is Resolution.REAUTH:
            raise UpstreamAuthError(
                "DVCQG refused the gateway's credentials (check username and password)",
                code=answer.error_code,
            )
        if rule.resolution is not Resolution.SUCCESS:
            self._raise_unless_success(rule, answer)
            raise PermanentUpstreamError(  # EXISTS makes no sense for auth
                f"DVCQG auth answered {answer.error_code!r}", code=answer.error_code
            )
        if not answer.session:
            raise InvalidUpstreamAnswer(
                "DVCQG auth answer broke its schema: session: missing on success",
                errors=[FieldError("session", "missing on success")],
            )
        return answer.session

    # --- transport ------------------------------------------------------------------------

    async def _call(
        self,
        service: str,
        request: wire.WirePacket,
        answer_model: type[S],
        *,
        read_only: bool = False,
    ) -> tuple[S, ErrorRule]:
        """Send ``request`` with the session; on "100" renew the session and send it once more."""
        session = await self._current_session()
        url = self._share_url if service in SHARE_SERVICES else self._api_url
        renewed = False
        while True:
            body = request.model_copy(update={"session": session}).model_dump(
                mode="json", exclude_none=True
            )
            exchange = functools.partial(self._exchange, url, body, answer_model, service)
            answer = await (self._with_read_retries(exchange) if read_only else exchange())
            rule = resolve(answer.error_code)
            if rule.resolution is Resolution.REAUTH and not renewed:
                session = await self._renew_session(stale=session)
                renewed = True
                continue
            return answer, rule

    async def _exchange(
        self,
        url: str,
        body: Mapping[str, Any],
        answer_model: type[A],
        what: str,
    ) -> A:
        """One HTTP round trip (with the ``dstcode`` header), its answer validated as
        ``answer_model``."""
        try:
            response = await self._http.post(
                url, json=body, headers=self._headers, timeout=self._timeout
            )
        except httpx.TransportError as exc:
            # the message names the failure and the URL only: never the body (session, password)
            raise TransientUpstreamError(
                f"DVCQG {what}: {type(exc).__name__} reaching {url}"
            ) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientUpstreamError(
                f"DVCQG {what}: HTTP {status}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status in (401, 403) and url == self._auth_url:
            raise UpstreamAuthError(f"DVCQG auth refused the gateway: HTTP {status}")
        if not 200 <= status < 300:
            raise PermanentUpstreamError(f"DVCQG {what}: unexpected HTTP {status}")
        try:
            raw = response.json()
        except ValueError as exc:
            raise InvalidUpstreamAnswer(f"DVCQG {what} answer is not valid JSON: {exc}") from exc
        try:
            return answer_model.model_validate(raw)
        except ValidationError as exc:
            errors = field_errors(exc)
            # not chained: pydantic's own message quotes input values (a session, personal data)
            raise InvalidUpstreamAnswer(
                f"DVCQG {what} answer broke its schema: {errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None

    async def _with_read_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        return await retry_transient(
            call, attempts=self._config.read_retry_attempts, wait=self._retry_wait
        )

    # --- answers --------------------------------------------------------------------------

    def _raise_unless_success(
        self, rule: ErrorRule, answer: wire.ServiceAnswer | wire.AuthAnswer
    ) -> None:
        raise_for_rule(rule, code=answer.error_code, message=self._redact(answer.message or ""))

    def _redact(self, text: str) -> str:
        """``text`` with the password and session blanked out (the portal may echo them)."""
        for secret in (self._config.password.get_secret_value(), self._session):
            if secret:
                text = text.replace(secret, _REDACTED)
        return text
