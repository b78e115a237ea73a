"""The postal simulator's state and protocol logic, without HTTP (served by
:mod:`connectors.postal.sandbox.app`).

:class:`PostalSimulator` holds the customer it knows, the tokens it issued, the orders with
their tracking lines, the customer's tracking feed, every webhook it produced, the fault
configuration (statement discrepancies included) and counters. Money is ``int`` VND.

What it accepts is modelled from the public record in :mod:`connectors.postal.sandbox.wire`;
its answers take the shapes the public readers read: ``{Status, Message}`` ("100" success,
"101" the order is already there: PASETO), the quote's ``{content: {price}}`` (OpenCPS), the
tracking feed ``{_size, _total_pages, _returned, _embedded: {"rh:doc": [...]}}`` (OpenCPS's NGSP
SDK MStatus / MRhDoc). The other answer codes, the status codes, webhooks and statements are
this project's documented profile, spelt out here on purpose: the simulator is an independent
implementation, so that it can catch the connector getting it wrong.

Credentials it accepts: the ``vnpost_token`` token (header ``access_token``), an NGSP
client-credentials token (``Authorization: Bearer``), a static token configured in
:class:`SimConfig`, or none at all on a request the LGSP relayed (header
``X-LGSP-Relay: sandbox-lgsp-relay``: the LGSP holds the platform's credential).

The tracking state machine (codes)::

    1 created -> 2 picked up -> 3 in transit -> 4 out for delivery -> 5 delivered
                                               4 --fail--> 6 failed delivery -> 4 (re-attempt)
    any of 2, 3, 4, 6 --return--> 7 returned        1 --cancel--> 8 cancelled

Lines of one order get strictly increasing times (a second apart at least), as real scans do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.postal.sandbox.wire import (
    CancelQuery,
    FeedQuery,
    OrderIn,
    QuoteIn,
    StatementQuery,
    TokenIn,
)
from gateway.core.http.simulators import FaultDraws, count

__all__ = [
    "FINAL",
    "LGSP_RELAY_HEADER",
    "LGSP_RELAY_VALUE",
    "LGSP_SERVICES",
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
#: a request the sandbox's LGSP relayed: authenticated by the LGSP, which holds our credential
LGSP_RELAY_HEADER = "X-LGSP-Relay"
LGSP_RELAY_VALUE = "sandbox-lgsp-relay"
#: the LGSP's service names (OpenCPS's configuration keys lgsp_vnpost_*, VnPostTerm.java
#: L69-76) -> the simulator's endpoints
LGSP_SERVICES: dict[str, str] = {
    "orderpost": "orders",
    "ordercancel": "cancel",
    "ordertracking": "tracking",
    "getprice": "quote",
    "statement": "statement",
}
_NEXT = {"1": "2", "2": "3", "3": "4", "4": "5", "6": "4"}
Outcome = Literal["fail", "return"]


class Refusal(Exception):
    """A refusal the platform answers with ``{"Status": code, "Message": message}``."""

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
    ("102" until a new one is fetched). ``statement`` plants reconciliation
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
    #: tokens VNPost issued once (PASETO's access_Token), accepted as they are
    static_tokens: list[str] = Field(default_factory=list, max_length=10)
    #: the LGSP's ``?service=<name>`` -> an endpoint of the simulator
    lgsp_services: dict[str, str] = Field(default_factory=lambda: dict(LGSP_SERVICES))


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
        """The order as the sandbox's own routes show it (not a platform answer)."""
        return {
            "OrderNumber": self.order_number,
            "ItemCode": self.item_code,
            "statusCode": self.code,
            "CODAmount": self.packet["CODAmount"],
            "TotalFee": self.fee,
            "CollectedAt": self.collected_at,
            "Tracking": list(self.lines),
        }


def _wire_time(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM)


def _validated(model: type[BaseModel], packet: Any) -> Any:
    if not isinstance(packet, dict):
        raise Refusal("104", "(body): expected a JSON object")
    try:
        return model.model_validate(packet)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(body)"
        raise Refusal("104", f"{where}: {first['msg']}") from None


def _ok(**fields: Any) -> dict[str, Any]:
    return {"Status": "100", "Message": "OK", **fields}


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
        """No tokens, orders, feed, webhooks, counters or faults; the default config;
        re-seeded."""
        self.tokens: dict[str, float] = {}
        self.orders: dict[str, Order] = {}
        self.feed: list[dict[str, Any]] = []
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

    def _issue(self) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        lifetime = self.config.token_lifetime_seconds
        self.tokens[token] = time.monotonic() + lifetime
        self.stats.tokens_issued += 1
        return token, lifetime

    def token(self, packet: Any) -> dict[str, Any]:
        """The ``vnpost_token`` exchange (this project's profile)."""
        request = _validated(TokenIn, packet)
        if request.CustomerCode != self.customer_code:
            raise Refusal("103", "CustomerCode is not a known customer")
        if not self._good_pair(request.Username, request.Password):
            raise Refusal("108", "Sai tên đăng nhập hoặc mật khẩu")
        token, lifetime = self._issue()
        return _ok(Token=token, ExpiresIn=lifetime)

    def ngsp_token(self, authorization: str, form: Mapping[str, str]) -> dict[str, Any] | None:
        """The NGSP client-credentials exchange (OpenCPS's SDK IToken.getToken): HTTP Basic
        key:secret and ``grant_type=client_credentials``; ``None`` when refused (HTTP 401)."""
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic" or form.get("grant_type") != "client_credentials":
            return None
        try:
            user, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not self._good_pair(user, secret):
            return None
        token, lifetime = self._issue()
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}

    def _good_pair(self, user: str, secret: str) -> bool:
        good_user = hmac.compare_digest(user.encode(), self.username.encode())
        good_password = hmac.compare_digest(secret.encode(), self.password.encode())
        return good_user and good_password

    def authorize(self, headers: Mapping[str, str]) -> None:
        """A request the LGSP relayed needs no credential of ours; any other carries a token
        (``access_token``, or ``Authorization: Bearer``) issued and alive, or a static one."""
        if headers.get(LGSP_RELAY_HEADER.lower()) == LGSP_RELAY_VALUE:
            return
        token = headers.get("access_token", "")
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if not token and scheme.lower() == "bearer":
            token = value.strip()
        if token and any(hmac.compare_digest(token, s) for s in self.config.static_tokens):
            return
        until = self.tokens.get(token)
        if until is None or until < time.monotonic():
            raise Refusal("102", "Token không hợp lệ hoặc đã hết hạn")

    def _customer(self, value: str) -> None:
        if value != self.customer_code:
            raise Refusal("103", "CustomerCode is not a known customer")

    # --- orders -------------------------------------------------------------------------------

    def create(self, packet: Any) -> tuple[Order, bool]:
        """The order for this packet, and whether it is new (False: the same one again, which
        the platform answers "101")."""
        order = _validated(OrderIn, packet)
        self._customer(order.CustomerCode)
        normal = order.model_dump(mode="json")
        content = json.dumps(normal, sort_keys=True)
        existing = self.orders.get(order.OrderNumber)
        if existing is not None:
            if not hmac.compare_digest(existing.content.encode(), content.encode()):
                raise Refusal("105", "OrderNumber đã được dùng cho đơn hàng khác")
            self.stats.duplicates += 1
            return existing, False
        fee = self._fee(order.SenderProvince, order.ReceiverProvince, 500)
        item = f"EH{len(self.orders) + 1:09d}VN"
        created = Order(order.OrderNumber, item, normal, content, fee)
        self.orders[order.OrderNumber] = created
        self.stats.orders_created += 1
        self._step(created, "1")
        return created, True

    def cancel(self, query: Any) -> Order:
        request = _validated(CancelQuery, query)
        self._customer(request.CustomerCode)
        order = self.orders.get(request.OrderNumber)
        if order is None:
            raise Refusal("106", "Không tìm thấy đơn hàng")
        if order.code != "1":
            raise Refusal("107", "Đơn hàng không thể hủy ở trạng thái hiện tại")
        self._step(order, "8")
        return order

    def quote(self, packet: Any) -> dict[str, Any]:
        """The price as OpenCPS reads it: ``content.price`` (VNPostManagementImpl L695)."""
        request = _validated(QuoteIn, packet)
        price = self._fee(request.sender.provCode, request.receiver.provCode, request.weight)
        return _ok(content={"price": price})

    @staticmethod
    def _fee(sender: int, receiver: int, weight: int) -> int:
        # a made-up tariff: a base, each started 500 g, farther when the provinces differ
        return 16_500 + 2_500 * ((weight - 1) // 500) + (0 if sender == receiver else 8_000)

    def tracking(self, query: Any) -> dict[str, Any]:
        """A page of the customer's status feed after ``lastId``, oldest first (the SDK's
        MStatus); ``_embedded`` left out of an empty page, as OpenCPS's reader stops on it."""
        request = _validated(FeedQuery, query)
        after = [doc for doc in self.feed if doc["_id"]["$oid"] > request.lastId]
        page = after[: request.pagesize]
        total = max(1, -(-len(self.feed) // request.pagesize))
        answer: dict[str, Any] = {
            "_size": len(self.feed),
            "_total_pages": total,
            "_returned": len(page),
        }
        if page:
            answer["_embedded"] = {"rh:doc": [dict(doc) for doc in page]}
        return answer

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
        doc = self._document(order, code, moment)
        self.feed.append(doc)
        self.webhook(order, doc)

    def _document(self, order: Order, code: str, moment: datetime) -> dict[str, Any]:
        """One status as a feed document (the SDK's MRhDoc field names and types); EventTime
        in Unix milliseconds."""
        return {
            "_id": {"$oid": f"{len(self.feed) + 1:024x}"},
            "CustomerCode": self.customer_code,
            "OrderNumber": order.order_number,
            "EventTime": int(moment.timestamp() * 1000),
            "POSID": "SANDBOX",
            "ItemCode": order.item_code,
            "StatusCode": int(code),
            "StatusMessage": MESSAGES[code],
            "Notes": "",
        }

    # --- webhooks (this project's profile) ----------------------------------------------------

    def sign(self, timestamp: str, body: bytes) -> str:
        mac = hmac.new(self.webhook_secret.encode(), timestamp.encode() + b"." + body, "sha256")
        return mac.hexdigest()

    def webhook(self, order: Order, doc: dict[str, Any], *, kind: str = "signed") -> dict[str, Any]:
        """The webhook of one feed document, kept (and pushed by the HTTP layer)."""
        body = json.dumps(doc, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        signature = self.sign(stamp, body)
        if kind == "forged":
            # same length and alphabet, different value: a forger without the secret
            signature = hashlib.sha256(f"forged|{signature}".encode()).hexdigest()
        return self._keep_webhook(kind, order.order_number, body, stamp, signature)

    def forge(self, order: Order, code: str) -> dict[str, Any]:
        """A webhook announcing ``code`` for ``order``, with a wrong signature."""
        doc = self._document(order, code, _parse(order.lines[-1]["time"]))
        return self.webhook(order, doc, kind="forged")

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

    # --- cash on delivery (this project's profile) --------------------------------------------

    def statement(self, query: Any) -> dict[str, Any]:
        request = _validated(StatementQuery, query)
        self._customer(request.CustomerCode)
        day = request.Date
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
        return _ok(Date=day, Items=items)
