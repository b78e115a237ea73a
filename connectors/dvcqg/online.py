"""Online dossiers from the national portal, the connector's side: pushes checked, documents
fetched, pulls run (the core's :mod:`connectors.dvcqg.portal_dossiers` stores and announces).

* Push (this project's profile): the portal POSTs ``{service: "GuiHoSoTrucTuyen", madonvi,
  data: [HoSoTrucTuyen, ...]}`` signed the Standard Webhooks way with ``push_secret``
  (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of
  "{id}.{timestamp}.{body}">``). :meth:`OnlineDossiers.verify_push` checks the signature and
  the time (``push_tolerance_seconds``) before reading the body, then its schema, and that it
  is for this province (``madonvi``).
* Pull: :meth:`OnlineDossiers.pull_round` asks ``LayDanhSachHoSoTrucTuyen``, receives what
  comes, and acknowledges (``XacNhanHoSoTrucTuyen``) only what the core has stored; it is the
  connector's periodic job ``pull-online-dossiers`` every ``pull_interval_seconds``.
* Feedback, ratings and questions: pushed to ``/callbacks/dvcqg/citizens`` (the same signing;
  ``service`` ``GuiPhanAnhKienNghi``, ``GuiDanhGia`` or ``GuiHoiDap``), checked by
  :meth:`OnlineDossiers.verify_citizen_push`, or pulled by :meth:`OnlineDossiers.
  pull_items_round` (``LayDanhSachMucMoi`` per kind, then ``XacNhanMuc``).
* Documents: :meth:`OnlineDossiers.fetch` reads a document from the portal's file server
  through the recording client (so the exchange log holds what was received), never from a
  host other than ``base_url``'s and ``attachment_hosts`` (no request forgery through a
  crafted URL), and never past ``max_attachment_bytes``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import ValidationError

from connectors.dvcqg import portal_dossiers, portal_items
from connectors.dvcqg.client import DvcqgClient
from connectors.dvcqg.config import DvcqgConfig
from connectors.dvcqg.portal_dossiers import FetchedFile
from connectors.dvcqg.portal_items import Kind
from gateway.core.delivery.intake import call_through
from gateway.core.errors import FieldError, GatewayError, InvalidInput, TransientUpstreamError
from gateway.core.events_webhook import verify_webhook
from gateway.core.http.recording import ResponseTooLarge, retry_after_seconds
from gateway.core.runtime import Gateway
from gateway.core.validation import field_errors
from schemas import dvcqg as wire

__all__ = ["PULLER", "OnlineDossiers", "PushRejected"]

log = structlog.get_logger("connectors.dvcqg.online")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

CitizenItem = wire.PhanAnhKienNghi | wire.DanhGia | wire.CauHoi
_KIND_OF_SERVICE: dict[str, Kind] = {
    "GuiPhanAnhKienNghi": "feedback",
    "GuiDanhGia": "rating",
    "GuiHoiDap": "question",
}
_ITEM_MODEL: dict[Kind, type[CitizenItem]] = {
    "feedback": wire.PhanAnhKienNghi,
    "rating": wire.DanhGia,
    "question": wire.CauHoi,
}

#: the client name the pull rounds are logged under
PULLER = "lgsp-portal-puller"


class PushRejected(GatewayError):
    """A push whose signature or time does not verify; the detail names no secret."""

    status = 401
    type_slug = "dvcqg-push-rejected"
    title = "Push from the portal rejected"


class OnlineDossiers:
    def __init__(self, config: DvcqgConfig, http: httpx.AsyncClient, client: DvcqgClient) -> None:
        self._config = config
        self._http = http
        self._client = client
        own = urlsplit(config.base_url).hostname or ""
        self._hosts = frozenset({own.lower(), *(h.lower() for h in config.attachment_hosts)})
        self._timeout = httpx.Timeout(config.timeout_seconds, read=max(config.timeout_seconds, 30))

    # --- push --------------------------------------------------------------------------------

    def _verify_signature(self, headers: Mapping[str, str], body: bytes) -> None:
        try:
            verify_webhook(
                self._config.push_secret.get_secret_value(),
                headers,
                body,
                tolerance_seconds=self._config.push_tolerance_seconds,
            )
        except ValueError as exc:
            raise PushRejected(f"the push does not verify: {exc}") from None

    def verify_push(self, headers: Mapping[str, str], body: bytes) -> wire.GuiHoSoTrucTuyen:
        self._verify_signature(headers, body)
        try:
            push = wire.GuiHoSoTrucTuyen.model_validate(json.loads(body))
        except ValueError as exc:
            raise _invalid(exc) from None
        if push.madonvi != self._config.madonvi:
            raise InvalidInput(
                "the push is for another province",
                errors=[FieldError("madonvi", f"not {self._config.madonvi}")],
            )
        return push

    def verify_citizen_push(
        self, headers: Mapping[str, str], body: bytes
    ) -> tuple[Kind, list[CitizenItem]]:
        """A push of feedback, ratings or questions: its kind and its validated items."""
        self._verify_signature(headers, body)
        try:
            push = wire.CITIZEN_PUSH_ADAPTER.validate_python(json.loads(body))
        except ValueError as exc:
            raise _invalid(exc, strip_tag=True) from None
        if push.madonvi != self._config.madonvi:
            raise InvalidInput(
                "the push is for another province",
                errors=[FieldError("madonvi", f"not {self._config.madonvi}")],
            )
        return _KIND_OF_SERVICE[push.service], list(push.data)

    # --- documents ---------------------------------------------------------------------------

    async def fetch(self, url: str, bound: int) -> FetchedFile:
        """A document from the portal's file server (see the module docstring). Transport
        failures and 5xx raise :class:`TransientUpstreamError`: the version is then not
        stored, not acknowledged, and comes again."""
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._hosts:
            return FetchedFile(None, 0, "not_allowed")
        try:
            response = await self._http.get(
                url,
                timeout=self._timeout,
                extensions={"lgsp_operation": "document", "lgsp_max_response_bytes": bound},
            )
        except ResponseTooLarge:
            return FetchedFile(None, bound, "too_large")
        except httpx.TransportError as exc:
            raise TransientUpstreamError(f"DVCQG document: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientUpstreamError(
                f"DVCQG document: HTTP {response.status_code}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if response.status_code != 200:
            return FetchedFile(None, 0, "missing")
        return FetchedFile(response.content, len(response.content))

    # --- pull --------------------------------------------------------------------------------

    async def pull_round(self, gw: Gateway) -> int:
        """One pull: receive what the portal offers and acknowledge what was stored; the
        number of new versions. Logged as one exchange (its attempts under it)."""

        async def round_trip() -> list[portal_dossiers.Outcome]:
            offered = await self._client.lay_ho_so_truc_tuyen(self._config.pull_batch)
            if not offered:
                return []
            good, refused = _valid_dossiers(offered)
            outcomes = await portal_dossiers.receive(
                gw,
                good,
                via="pull",
                fetch=self.fetch,
                max_attachment_bytes=self._config.max_attachment_bytes,
            )
            acks = [o.as_ack() for o in [*outcomes, *refused]]
            if acks:
                await self._client.xac_nhan_ho_so_truc_tuyen(acks)
            return outcomes

        _, outcomes = await call_through(
            gw,
            connector=portal_dossiers.CONNECTOR,
            operation="pull_online_dossiers",
            client=PULLER,
            call=round_trip,
            render=lambda found: json.dumps([o.as_ack() for o in found]).encode(),
        )
        return sum(1 for o in outcomes if o.ket_qua == "accepted")

    async def pull_items_round(self, gw: Gateway) -> int:
        """One pull of each kind of citizen item: store, then acknowledge (an item that breaks
        its schema is acknowledged ``rejected`` and logged, so it is not offered forever).
        The number of new items; each kind is one exchange in the log."""
        total = 0
        for kind in portal_items.KINDS:
            _, added = await call_through(
                gw,
                connector=portal_dossiers.CONNECTOR,
                operation=f"pull_{kind}",
                client=PULLER,
                call=functools.partial(self._pull_items, gw, kind),
                render=lambda n: json.dumps({"accepted": n}).encode(),
            )
            total += added
        return total

    async def _pull_items(self, gw: Gateway, kind: Kind) -> int:
        loai, id_field = portal_items.KINDS[kind]
        offered = await self._client.lay_danh_sach_muc_moi(loai, self._config.pull_batch)
        good: list[CitizenItem] = []
        acks: list[dict[str, str]] = []
        for raw in offered:
            try:
                good.append(_ITEM_MODEL[kind].model_validate(raw))
            except ValidationError as exc:
                item_id = raw.get(id_field)
                log.warning(
                    "portal_item_rejected",
                    kind=kind,
                    item_id=str(item_id)[:64],
                    field=field_errors(exc)[0].loc,
                )
                if isinstance(item_id, str) and _SAFE_ID.fullmatch(item_id):
                    acks.append({"Ma": item_id, "KetQua": "rejected"})
        outcomes = await portal_items.receive(gw, kind, good, via="pull")
        acks += [{"Ma": o.ma_ho_so, "KetQua": o.ket_qua} for o in outcomes]
        if acks:
            await self._client.xac_nhan_muc(loai, acks)
        return sum(1 for o in outcomes if o.ket_qua == "accepted")


def _valid_dossiers(
    offered: list[dict[str, Any]],
) -> tuple[list[wire.HoSoTrucTuyen], list[portal_dossiers.Outcome]]:
    """The pulled dossiers that pass their schema, and the ``rejected`` acknowledgements of
    those that do not (when they name a version), each logged with its first bad field: a
    malformed dossier is refused alone, and not offered again and again."""
    good: list[wire.HoSoTrucTuyen] = []
    refused: list[portal_dossiers.Outcome] = []
    for raw in offered:
        try:
            good.append(wire.HoSoTrucTuyen.model_validate(raw))
        except ValidationError as exc:
            code, version = raw.get("MaHoSo"), _version(raw.get("PhienBan"))
            log.warning(
                "portal_dossier_rejected",
                ma_ho_so=str(code)[:64],
                phien_ban=version,
                field=field_errors(exc)[0].loc,
            )
            if (
                isinstance(code, str)
                and re.fullmatch(wire.MA_HO_SO_PATTERN, code)
                and version is not None
                and 1 <= version <= 10_000
            ):
                refused.append(portal_dossiers.Outcome(code, version, "rejected"))
    return good, refused


def _version(value: Any) -> int | None:
    """The version a malformed dossier names, a number or a numeric string (as the reader
    accepts it), to acknowledge it ``rejected``; None when it names none."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _invalid(exc: ValueError, *, strip_tag: bool = False) -> InvalidInput:
    """A push that is not JSON or breaks its schema, naming the field path."""
    if not isinstance(exc, ValidationError):
        return InvalidInput("the push is not JSON", errors=[FieldError("(body)", "not JSON")])
    errors = field_errors(exc)
    if strip_tag:  # a discriminated union's tag (the service name) is no part of the path
        errors = [
            FieldError(e.loc.split(".", 1)[1] if "." in e.loc else e.loc, e.msg) for e in errors
        ]
    return InvalidInput(
        f"the push breaks its schema: {errors[0].loc}: {errors[0].msg}", errors=errors
    )
