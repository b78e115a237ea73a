"""The postal connector: the core's contract (check, deliver), quotes, tracking, the poller.

Operations delivered through the outbox (at-least-once, so each is safe to repeat):

* ``create_order``: payload :class:`~connectors.postal.mapping.ShipmentRequest` as JSON. The
  order number is ``f"{ma_ho_so}-{flow}"``; the platform answers "101" (the order is already
  there) for an order number it has, so a redelivery after a crash never makes a second order.
* ``cancel_order``: payload ``{"order_number": str, "ly_do": str}`` (the reason stays in the
  gateway's record: the public cancellation carries CustomerCode and OrderNumber only).
  Cancelling an order the platform already cancelled is a success (a repeat).

A payload that no longer validates cannot succeed on any retry: it is refused as a
:class:`PermanentUpstreamError` (dead letter) carrying the field errors.

Statuses are not written here: the platform announces them (webhooks, or tracking when a
shipment went quiet) and :mod:`connectors.postal.shipments` applies them. :meth:`PostalConnector.
periodic_jobs` gives the core the poller of quiet shipments.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.postal.client import PostalClient
from connectors.postal.config import Centre, PostalConfig
from connectors.postal.errors import ERROR_TABLE, EXISTS, PostalNotCancellable
from connectors.postal.mapping import (
    QuoteIn,
    ShipmentEvent,
    ShipmentRequest,
    event_from_wire,
    quote_to_wire,
    status_of,
    to_wire,
)
from connectors.postal.profiles import order_profile
from gateway.core.connector import CheckResult, Delivered, ErrorRule, PeriodicJob
from gateway.core.errors import (
    FieldError,
    GatewayError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
)
from gateway.core.validation import field_errors, validate_model
from schemas import postal as wire

__all__ = ["CancelOrder", "PostalConnector"]

P = TypeVar("P", bound=BaseModel)


class CancelOrder(BaseModel):
    """The ``cancel_order`` outbox payload."""

    model_config = ConfigDict(extra="forbid")

    order_number: str = Field(min_length=1, max_length=64)
    ly_do: str = Field("", max_length=500)


class PostalConnector:
    """Adapter of the public postal service (VNPost), service HCC."""

    slug: ClassVar[str] = "postal"
    operations: ClassVar[frozenset[str]] = frozenset({"create_order", "cancel_order"})
    error_table: ClassVar[Mapping[str, ErrorRule]] = ERROR_TABLE

    def __init__(self, config: PostalConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.client = PostalClient(config, http)

    async def check(self) -> CheckResult:
        """A token and the tracking of an order that does not exist. Never raises for
        upstream failures; nothing is created."""
        started = time.perf_counter()
        try:
            await self.client.probe()
        except GatewayError as exc:  # upstream failures, and a packet our config breaks
            return CheckResult(
                False,
                f"{type(exc).__name__}: {exc.detail}",
                (time.perf_counter() - started) * 1000,
            )
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(True, "tracking feed answered", latency)

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        try:
            match operation:
                case "create_order":
                    return await self._create(payload)
                case "cancel_order":
                    return await self._cancel(payload)
                case _:
                    raise PermanentUpstreamError(
                        f"postal connector has no operation {operation!r}",
                        code="unknown-operation",
                    )
        except InvalidInput as exc:
            raise PermanentUpstreamError(
                f"payload refused before sending: {exc.detail}",
                code="invalid-payload",
                errors=exc.errors,
            ) from exc

    async def aclose(self) -> None:
        """Nothing to close: the HTTP client is injected and owned by the core."""

    # --- what the API uses -------------------------------------------------------------------

    def centre(self, ma_dvc: str, *, loc: str = "ma_dvc") -> Centre:
        """The one-stop centre of an agency, or :class:`InvalidInput` naming ``loc``."""
        centre = self.config.centres.get(ma_dvc)
        if centre is None:
            raise InvalidInput(
                f"no one-stop centre is configured for the agency {ma_dvc}",
                errors=[FieldError(loc, "no one-stop centre is configured for this agency")],
            )
        return centre

    def order_packet(self, request: ShipmentRequest) -> wire.CreateOrder:
        """The order packet of a request (the configured profile), or :class:`InvalidInput`
        naming the field (validation both ways: refused now, not when the outbox delivers
        it)."""
        profile = order_profile(self.config)
        return self._packet(
            lambda centre: to_wire(
                request, centre, customer_code=self.config.customer_code, profile=profile
            ),
            request.ma_dvc,
            "order",
        )

    async def quote(self, request: QuoteIn) -> int:
        """The platform's price (VND) of the shipment."""
        packet = self._packet(
            lambda centre: quote_to_wire(request, centre, service=self.config.service_name),
            request.ma_dvc,
            "quote",
        )
        return await self.client.quote(packet)

    def _packet(self, build: Callable[[Centre], P], ma_dvc: str, what: str) -> P:
        centre = self.centre(ma_dvc)
        try:
            return build(centre)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise InvalidInput(
                f"the {what} packet failed validation: {errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None

    async def track(self, order_number: str) -> list[ShipmentEvent] | None:
        """The parcel's statuses as canonical events; ``None`` when the platform has no such
        order (not created yet, e.g. its creation is still in the outbox)."""
        docs = await self.client.tracking(order_number)
        if docs is None:
            return None
        events: list[ShipmentEvent] = []
        for n, doc in enumerate(docs):
            try:
                events.append(event_from_wire(order_number, doc))
            except ValueError as exc:
                field, _, why = str(exc).partition(": ")
                raise InvalidUpstreamAnswer(
                    f"the postal service's tracking answer breaks its schema: {exc}",
                    errors=[FieldError(f"_embedded.rh:doc[{n}].{field}", why or "invalid")],
                ) from None
        return events

    def periodic_jobs(self, gateway: Any) -> Sequence[PeriodicJob]:
        """The poller of quiet shipments (see :mod:`connectors.postal.poller`)."""
        from connectors.postal import poller as shipments_poller

        async def run() -> int:
            return await shipments_poller.poll_quiet(
                gateway,
                track=self.track,
                quiet_after_seconds=self.config.quiet_after_seconds,
                limit=self.config.poll_batch_size,
            )

        return [PeriodicJob("quiet_shipments", self.config.poll_interval_seconds, run)]

    # --- deliveries --------------------------------------------------------------------------

    async def _create(self, payload: Mapping[str, Any]) -> Delivered:
        request = validate_model(ShipmentRequest, payload, what="create_order payload")
        packet = self.order_packet(request)
        answer = await self.client.create_order(packet)
        made = "was already there" if answer.Status == EXISTS else "created"
        return Delivered(
            detail=f"postal order {packet.OrderNumber} {made}",
            upstream_ref=answer.ItemCode or packet.OrderNumber,
            extra={"order_number": packet.OrderNumber, "code": answer.Status},
        )

    async def _cancel(self, payload: Mapping[str, Any]) -> Delivered:
        cancel = validate_model(CancelOrder, payload, what="cancel_order payload")
        try:
            await self.client.cancel_order(cancel.order_number)
        except PostalNotCancellable:
            # a repeat of a cancellation the platform already made is a success; anything
            # else past the point of cancelling is a refusal
            tracked = await self.client.tracking(cancel.order_number) or []
            if not any(status_of(doc.StatusCode or "") == "cancelled" for doc in tracked):
                raise
        return Delivered(
            detail=f"postal order {cancel.order_number} cancelled",
            upstream_ref=cancel.order_number,
        )
