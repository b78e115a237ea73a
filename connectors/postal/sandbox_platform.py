"""The postal simulator's state and protocol logic, without HTTP (served by
:mod:`connectors.postal.sandbox`).

:class:`PostalSimulator` holds the customer it knows, the tokens it issued, the orders with
their tracking lines, every webhook it produced, the fault configuration (statement
discrepancies included) and counters. Money is ``int`` VND. Answer and status codes are this
project's documented profile (:mod:`connectors.postal.errors`, :mod:`connectors.postal.mapping`),
spelt out here on purpose: the simulator is an independent implementation of the profile, so
that it can catch the client getting it wrong.

The tracking state machine (codes)::

    1 created -> 2 picked up -> 3 in transit -> 4 out for delivery -> 5 delivered
                                               4 --fail--> 6 failed delivery -> 4 (re-attempt)
    any of 2, 3, 4, 6 --return--> 7 returned        1 --cancel--> 8 cancelled

Lines of one order get strictly increasing times (a second apart at least), as real scans do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.core.simulators import FaultDraws, count
from schemas import postal as wire

__all__ = [
    "FINAL",
    "MESSAGES",
    "FaultConfig",
    "Order",
    "PostalSimulator",
    "Refusal",
    "SimConfig",
    "SimStats",
    "StatementDiscrepancies",
]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MESSAGES: dict[str, str] = {
    "1": "Tạo đơn thành công, chờ lấy hàng",
    "2": "Bưu tá đã nhận hàng",
    "3": "Đang vận chuyển",
    "4": "Đang phát",
    "5": "Phát thành công",
    "6": "Phát không thành công",
    "7": "Đã chuyển hoàn",
    "8": "Đã hủy",
}
FINAL = frozenset({"5", "7", "8"})
_NEXT = {"1": "2", "2": "3", "3": "4", "4": "5", "6": "4"}
Outcome = Literal["fail", "return"]
#: fields of an order that do not make it another order when they differ between two sends
_VOLATILE: frozenset[str] = frozenset()


class Refusal(Exception):
    """A refusal the platform answers with ``{"Code": code, "Message": message}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StatementDiscrepancies(BaseModel):
    """Differences planted in ``GET /statement`` (keys are order numbers of that day's
    collections): ``omit`` leaves them out; ``extra`` adds that many collections for orders
    the customer never made (``SBX-EXTRA-<Date>-<n>``); ``amount_delta`` adds an int (VND, may
    be negative) to a collection; ``duplicate`` lists a collection twice."""

    model_config = ConfigDict(extra="forbid")

    omit: list[str] = Field(default_factory=list, max_length=1000)
    extra: int = Field(default=0, ge=0, le=1000)
    amount_delta: dict[str, int] = Field(default_factory=dict)
    duplicate: list[str] = Field(default_factory=list, max_length=1000)


class FaultConfig(BaseModel):
    """Faults of the platform's endpoints; rates are per-request probabilities in 0..1 drawn
    from a seeded generator (``seed`` re-seeds it). ``latency_ms`` delays every request;
    ``error_rate`` answers HTTP 503 (``Retry-After: 1``); ``system_error_rate`` answers code
    "199" (nothing stored); ``drop_rate`` applies an order or a cancellation and then drops
    the connection mid-answer; ``expire_tokens`` makes every token issued so far invalid
    (code "102" until a new one is fetched). ``statement`` plants reconciliation
    differences."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0, le=60_000)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    system_error_rate: float = Field(default=0.0, ge=0, le=1)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    expire_tokens: bool = False
    statement: StatementDiscrepancies = Field(default_factory=StatementDiscrepancies)
    seed: int | None = None


class SimConfig(BaseModel):
    """How the simulator behaves beyond faults (``PUT /_sandbox/config``): where it pushes
    webhooks (none: it only keeps them), whether it loses them (kept, marked lost, never
    pushed: the gateway must poll), and the accelerated clock: every order not final moves
    one step each ``seconds_per_step`` (0: only on request)."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://\S+$")
    lose_webhooks: bool = False
    seconds_per_step: float = Field(default=0.0, ge=0, le=86_400)
    token_lifetime_seconds: int = Field(default=3600, ge=1, le=86_400)


@dataclass
class SimStats:
    """Counters: ``received`` by endpoint; ``by_code`` answers by Code; ``orders_created``;
    ``duplicates`` (an order sent again with the same content); ``tokens_issued``;
    ``webhooks`` by kind; ``faults_injected``."""

    received: dict[str, int] = field(default_factory=dict)
    by_code: dict[str, int] = field(default_factory=dict)
    webhooks: dict[str, int] = field(default_factory=dict)
    orders_created: int = 0
    duplicates: int = 0
    tokens_issued: int = 0
    faults_injected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": dict(self.received),
            "by_code": dict(self.by_code),
            "webhooks": dict(self.webhooks),
            "orders_created": self.orders_created,
            "duplicates": self.duplicates,
            "tokens_issued": self.tokens_issued,
            "faults_injected": self.faults_injected,
        }


@dataclass
class Order:
    order_number: str
    item_code: str
    packet: dict[str, Any]
    content: str
    fee: int
    lines: list[dict[str, str]] = field(default_factory=list)
    last_step_at: float = 0.0
    collected_at: str = ""

    @property
    def code(self) -> str:
        return self.lines[-1]["statusCode"]

    def as_json(self) -> dict[str, Any]:
        return {
            "OrderNumber": self.order_number,
            "ItemCode": self.item_code,
            "statusCode": self.code,
            "CODAmount": self.packet["CODAmount"],
            "TotalFee": self.fee,
            "CollectedAt": self.collected_at,
            "IsReturn": self.packet["IsReturn"],
            "Tracking": list(self.lines),
        }


def _wire_time(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM)


def _validated(model: type[BaseModel], packet: Any) -> Any:
    try:
        return model.model_validate(packet)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(body)"
        raise Refusal("104", f"{where}: {first['msg']}") from None


class PostalSimulator(FaultDraws):
    """The simulated postal service's state and protocol logic, independent of HTTP."""

    def __init__(
        self,
        *,
        customer_code: str = "LGSP-SANDBOX",
        username: str = "lgsp-sandbox",
        password: str = "sandbox-postal-password",  # noqa: S107 - the sandbox placeholder
        webhook_secret: str = "sandbox-postal-webhook",  # noqa: S107 - the sandbox placeholder
        seed: int = 2024,
    ) -> None:
        self.customer_code = customer_code
        self.username = username
        self.password = password
        self.webhook_secret = webhook_secret
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        """No tokens, orders, webhooks, counters or faults; the default config; re-seeded."""
        self.tokens: dict[str, float] = {}
        self.orders: dict[str, Order] = {}
        self.webhooks: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.stats = SimStats()
        self.faults = FaultConfig()
        self.config = SimConfig()
        self.rng = random.Random(self.seed)  # noqa: S311 - fault draws, not security

    def set_faults(self, config: FaultConfig) -> FaultConfig:
        if config.seed is not None:
            self.rng = random.Random(config.seed)  # noqa: S311 - fault draws, not security
        if config.expire_tokens:
            self.tokens.clear()
        self.faults = config
        return config

    def keep(self, endpoint: str, packet: Any) -> None:
        """What was received, for inspection (bounded: the last 1000)."""
        if isinstance(packet, dict) and "Password" in packet:
            packet = {**packet, "Password": "***"}  # kept for inspection, never the password
        self.received.append({"endpoint": endpoint, "packet": packet})
        del self.received[:-1000]

    # --- auth ---------------------------------------------------------------------------------

    def token(self, packet: Any) -> dict[str, Any]:
        request = _validated(wire.TokenRequest, packet)
        if request.CustomerCode != self.customer_code:
            raise Refusal("103", "CustomerCode is not a known customer")
        good_user = hmac.compare_digest(request.Username.encode(), self.username.encode())
        good_password = hmac.compare_digest(request.Password.encode(), self.password.encode())
        if not (good_user and good_password):
            raise Refusal("101", "Sai tên đăng nhập hoặc mật khẩu")
        token = secrets.token_urlsafe(32)
        lifetime = self.config.token_lifetime_seconds
        self.tokens[token] = time.monotonic() + lifetime
        self.stats.tokens_issued += 1
        return {"Code": "100", "Message": "OK", "Token": token, "ExpiresIn": lifetime}

    def authorize(self, token: str | None) -> None:
        until = self.tokens.get(token or "")
        if until is None or until < time.monotonic():
            raise Refusal("102", "Token không hợp lệ hoặc đã hết hạn")

    def _customer(self, value: str) -> None:
        if value != self.customer_code:
            raise Refusal("103", "CustomerCode is not a known customer")

    # --- orders -------------------------------------------------------------------------------

    def create(self, packet: Any) -> tuple[Order, bool]:
        """The order for this packet, and whether it is new (False: the same one again)."""
        order = _validated(wire.CreateOrder, packet)
        self._customer(order.CustomerCode)
        content = json.dumps(
            {k: v for k, v in order.model_dump(mode="json").items() if k not in _VOLATILE},
            sort_keys=True,
        )
        existing = self.orders.get(order.OrderNumber)
        if existing is not None:
            if not hmac.compare_digest(existing.content.encode(), content.encode()):
                raise Refusal("105", "OrderNumber đã được dùng cho đơn hàng khác")
            self.stats.duplicates += 1
            return existing, False
        fee = self._fee(
            order.SenderProvinceId, order.ReceiverProvinceId, order.Weight, order.CODAmount
        )["TotalFee"]
        item = f"EH{len(self.orders) + 1:09d}VN"
        created = Order(order.OrderNumber, item, order.model_dump(mode="json"), content, fee)
        self.orders[order.OrderNumber] = created
        self.stats.orders_created += 1
        self._step(created, "1")
        return created, True

    def cancel(self, packet: Any) -> Order:
        request = _validated(wire.CancelRequest, packet)
        self._customer(request.CustomerCode)
        order = self.orders.get(request.OrderNumber)
        if order is None:
            raise Refusal("106", "Không tìm thấy đơn hàng")
        if order.code != "1":
            raise Refusal("107", "Đơn hàng không thể hủy ở trạng thái hiện tại")
        self._step(order, "8")
        return order

    def quote(self, packet: Any) -> dict[str, Any]:
        request = _validated(wire.QuoteRequest, packet)
        self._customer(request.CustomerCode)
        fees = self._fee(
            request.SenderProvinceId, request.ReceiverProvinceId, request.Weight, request.CODAmount
        )
        return {"Code": "100", "Message": "OK", **fees}

    @staticmethod
    def _fee(sender: str, receiver: str, weight: int, cod: int) -> dict[str, int]:
        # a made-up tariff: a base, each started 500 g, farther when the provinces differ
        main = 16_500 + 2_500 * ((weight - 1) // 500) + (0 if sender == receiver else 8_000)
        cod_fee = 0 if cod == 0 else max(10_000, cod // 100)
        return {"MainFee": main, "CODFee": cod_fee, "TotalFee": main + cod_fee}

    def tracking(self, customer: str | None, number: str | None) -> dict[str, Any]:
        self._customer(customer or "")
        order = self.orders.get(number or "")
        if order is None:
            raise Refusal("106", "Không tìm thấy đơn hàng")
        return {
            "Code": "100",
            "Message": "OK",
            "OrderNumber": order.order_number,
            "ItemCode": order.item_code,
            "Tracking": list(order.lines),
        }

    # --- the state machine ----------------------------------------------------------------

    def advance(self, number: str, outcome: Outcome | None = None, at: str | None = None) -> Order:
        """One step of an order (ValueError when it cannot move so)."""
        order = self.orders.get(number)
        if order is None:
            raise KeyError(number)
        code = order.code
        if code in FINAL:
            raise ValueError(f"the order is final ({MESSAGES[code]})")
        if outcome == "return":
            if code == "1":
                raise ValueError("an order not picked up yet cannot be returned (cancel it)")
            nxt = "7"
        elif outcome == "fail":
            if code not in ("3", "4"):
                raise ValueError("only a parcel on its way can fail delivery")
            nxt = "6"
        else:
            nxt = _NEXT[code]
        self._step(order, nxt, at)
        return order

    def tick(self) -> int:
        """The accelerated clock: every order not final moves the steps it is due."""
        per = self.config.seconds_per_step
        if per <= 0:
            return 0
        now, moved = time.monotonic(), 0
        for order in self.orders.values():
            while order.code not in FINAL and now - order.last_step_at >= per:
                self._step(order, _NEXT[order.code], at=None, stepped_at=order.last_step_at + per)
                moved += 1
        return moved

    def _step(
        self, order: Order, code: str, at: str | None = None, *, stepped_at: float | None = None
    ) -> None:
        moment = _parse(at) if at is not None else datetime.now(UTC)
        if order.lines and at is None:
            # scans of one parcel are strictly ordered in time
            moment = max(moment, _parse(order.lines[-1]["time"]) + timedelta(seconds=1))
        line = {"statusCode": code, "statusMessage": MESSAGES[code], "time": _wire_time(moment)}
        order.lines.append(line)
        order.last_step_at = stepped_at if stepped_at is not None else time.monotonic()
        if code == "5" and order.packet["CODAmount"] > 0:
            order.collected_at = line["time"]
        self.webhook(order, line)

    # --- webhooks -----------------------------------------------------------------------------

    def sign(self, timestamp: str, body: bytes) -> str:
        mac = hmac.new(self.webhook_secret.encode(), timestamp.encode() + b"." + body, "sha256")
        return mac.hexdigest()

    def webhook(
        self, order: Order, line: dict[str, str], *, kind: str = "signed"
    ) -> dict[str, Any]:
        """The webhook of one tracking line, kept (and pushed by the HTTP layer)."""
        body = json.dumps(
            {
                "CustomerCode": self.customer_code,
                "OrderNumber": order.order_number,
                "ItemCode": order.item_code,
                **line,
            },
            ensure_ascii=False,
        ).encode()
        stamp = str(int(time.time()))
        signature = self.sign(stamp, body)
        if kind == "forged":
            # same length and alphabet, different value: a forger without the secret
            signature = hashlib.sha256(f"forged|{signature}".encode()).hexdigest()
        return self._keep_webhook(kind, order.order_number, body, stamp, signature)

    def duplicate(self, seq: int) -> dict[str, Any]:
        """The webhook numbered ``seq`` again, byte for byte (IndexError when none)."""
        original = self.webhooks[seq]
        return self._keep_webhook(
            "duplicate",
            original["order_number"],
            original["body"].encode(),
            original["headers"]["X-VNPost-Timestamp"],
            original["headers"]["X-VNPost-Signature"],
        )

    def _keep_webhook(
        self, kind: str, number: str, body: bytes, stamp: str, signature: str
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "seq": len(self.webhooks),
            "kind": kind,
            "order_number": number,
            "body": body.decode(),
            "headers": {"X-VNPost-Timestamp": stamp, "X-VNPost-Signature": signature},
            "pushed": "lost" if self.config.lose_webhooks else None,
        }
        self.webhooks.append(record)
        count(self.stats.webhooks, kind)
        return record

    # --- cash on delivery ---------------------------------------------------------------------

    def statement(self, customer: str | None, day: str | None) -> dict[str, Any]:
        self._customer(customer or "")
        if day is None or len(day) != 8 or not day.isdigit():
            raise Refusal("104", "Date: expected yyyyMMdd")
        planted = self.faults.statement
        items: list[dict[str, Any]] = []
        for order in self.orders.values():
            if not order.collected_at.startswith(day):
                continue
            number, amount = order.order_number, int(order.packet["CODAmount"])
            if number in planted.omit:
                continue
            item = {
                "OrderNumber": number,
                "ItemCode": order.item_code,
                "CODAmount": max(0, amount + planted.amount_delta.get(number, 0)),
                "CollectedAt": order.collected_at,
            }
            items.append(item)
            if number in planted.duplicate:
                items.append(dict(item))
        for n in range(1, planted.extra + 1):
            items.append(
                {
                    "OrderNumber": f"SBX-EXTRA-{day}-{n}",
                    "ItemCode": f"EX{n:09d}VN",
                    "CODAmount": 15_000 * n,
                    "CollectedAt": f"{day}120000",
                }
            )
        return {"Code": "100", "Message": "OK", "Date": day, "Items": items}
