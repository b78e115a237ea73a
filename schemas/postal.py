"""Wire packets of the public postal service (VNPost, Bưu chính công ích), with the platform's own
field names (PascalCase; the tracking lines keep the camelCase the platform uses for them).

What is public (``shared/reference/national-platforms.md``, and the field names the open-source
one-stop system VietOpenCPS sends): a token endpoint, then an order with ``CustomerCode``,
``OrderNumber``, ``CODAmount``, sender and receiver name, address, province and district codes,
phone and email, ``SenderDesc`` (what is carried), the service ``"HCC"`` and ``IsReturn``;
cancel, price quote and tracking (a list of ``{statusCode, statusMessage}``); the token in an
``access_token`` header; ``"100"`` means success. Everything else here (the other answer codes,
the status codes, the webhook and statement packets, ``time`` on tracking lines) is **this
project's documented profile** of the platform, kept in this module and
``connectors/postal/mapping.py`` only.

Contracts:

* Money is integer VND (:data:`Amount`): a strict ``int`` >= 0; a float, a numeric string or a
  boolean is refused.
* What the gateway sends forbids unknown fields and bounds every string; what the platform
  sends ignores fields it does not know and bounds every string.
* Times are ``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh (:func:`wire_time`), days ``yyyyMMdd``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SERVICE_HCC",
    "SUCCESS",
    "Amount",
    "Answer",
    "CancelAnswer",
    "CancelRequest",
    "CreateOrder",
    "OrderAnswer",
    "QuoteAnswer",
    "QuoteRequest",
    "Statement",
    "StatementItem",
    "StatusWebhook",
    "TokenAnswer",
    "TokenRequest",
    "TrackingAnswer",
    "TrackingLine",
    "parse_wire_time",
    "wire_day",
    "wire_time",
]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
#: the answer code of success (public)
SUCCESS = "100"
#: the service of public administration (hành chính công), public
SERVICE_HCC: Literal["HCC"] = "HCC"

#: integer VND: floats, numeric strings and booleans refused
Amount = Annotated[int, Field(strict=True, ge=0, le=10**12)]
#: a code we send: printable, no spaces
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s]+$")]
#: an administrative unit code (mã tỉnh, mã huyện: digits)
UnitCode = Annotated[str, Field(min_length=1, max_length=8, pattern=r"^\d+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Address = Annotated[str, Field(min_length=1, max_length=500)]
Phone = Annotated[str, Field(pattern=r"^(0|\+84)\d{9,10}$")]
Email = Annotated[str, Field(max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
WireTime = Annotated[str, Field(pattern=r"^\d{14}$")]
WireDay = Annotated[str, Field(pattern=r"^\d{8}$")]
#: strings the platform sends: bounded
Received = Annotated[str, Field(max_length=512)]


def wire_time(moment: datetime) -> str:
    """``moment`` as yyyyMMddHHmmss, Vietnam time; a naive one is refused."""
    if moment.tzinfo is None:
        raise ValueError("a wire time needs a timezone-aware datetime")
    return moment.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def parse_wire_time(value: str) -> datetime:
    """A yyyyMMddHHmmss Vietnam time as an aware UTC datetime (ValueError when malformed)."""
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM).astimezone(UTC)


def wire_day(day: date) -> str:
    return day.strftime("%Y%m%d")


class _Sent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Received(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Answer(_Received):
    """Every answer carries ``Code`` ("100" success) and a ``Message``."""

    Code: Annotated[str, Field(min_length=1, max_length=16)]
    Message: Received = ""


# --- token ----------------------------------------------------------------------------------


class TokenRequest(_Sent):
    Username: Annotated[str, Field(min_length=1, max_length=128)]
    Password: Annotated[str, Field(min_length=1, max_length=256)]
    CustomerCode: Code


class TokenAnswer(Answer):
    Token: Annotated[str, Field(max_length=4096)] | None = None
    #: seconds the token lives (this project's profile)
    ExpiresIn: Annotated[int, Field(strict=True, ge=1, le=86_400 * 30)] | None = None


# --- orders ---------------------------------------------------------------------------------


class CreateOrder(_Sent):
    """An order: pick-up of a dossier or delivery of a result (service HCC)."""

    CustomerCode: Code
    OrderNumber: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.\-_]+$")]
    CODAmount: Amount
    SenderFullname: Name
    SenderAddress: Address
    SenderProvinceId: UnitCode
    SenderDistrictId: UnitCode
    SenderTel: Phone
    SenderEmail: Email = ""
    ReceiverFullname: Name
    ReceiverAddress: Address
    ReceiverProvinceId: UnitCode
    ReceiverDistrictId: UnitCode
    ReceiverTel: Phone
    ReceiverEmail: Email = ""
    #: what is carried (public)
    SenderDesc: Annotated[str, Field(min_length=1, max_length=500)]
    Description: Annotated[str, Field(max_length=500)] = ""
    ServiceName: Literal["HCC"] = SERVICE_HCC
    IsReturn: bool = False
    #: grams (this project's profile)
    Weight: Annotated[int, Field(strict=True, ge=1, le=30_000)] = 500


class OrderAnswer(Answer):
    OrderNumber: Received | None = None
    #: the platform's own number of the parcel (số hiệu bưu gửi)
    ItemCode: Received | None = None
    TotalFee: Amount | None = None


class CancelRequest(_Sent):
    CustomerCode: Code
    OrderNumber: Annotated[str, Field(min_length=1, max_length=64)]
    Reason: Annotated[str, Field(max_length=500)] = ""


class CancelAnswer(Answer):
    OrderNumber: Received | None = None


class QuoteRequest(_Sent):
    CustomerCode: Code
    SenderProvinceId: UnitCode
    SenderDistrictId: UnitCode
    ReceiverProvinceId: UnitCode
    ReceiverDistrictId: UnitCode
    Weight: Annotated[int, Field(strict=True, ge=1, le=30_000)]
    CODAmount: Amount = 0
    ServiceName: Literal["HCC"] = SERVICE_HCC


class QuoteAnswer(Answer):
    MainFee: Amount | None = None
    CODFee: Amount | None = None
    TotalFee: Amount | None = None


# --- tracking and webhooks ---------------------------------------------------------------------


class TrackingLine(_Received):
    """One status of a parcel: the platform's code, its text and when (Vietnam time)."""

    statusCode: Annotated[str, Field(min_length=1, max_length=8, pattern=r"^\d+$")]
    statusMessage: Received = ""
    time: WireTime


class TrackingAnswer(Answer):
    OrderNumber: Received | None = None
    ItemCode: Received | None = None
    Tracking: Annotated[list[TrackingLine], Field(max_length=500)] = []


class StatusWebhook(_Received):
    """A status change the platform pushes (this project's profile): one tracking line of one
    order, signed (see ``connectors.postal.client.PostalClient.verify_webhook``)."""

    CustomerCode: Annotated[str, Field(min_length=1, max_length=64)]
    OrderNumber: Annotated[str, Field(min_length=1, max_length=64)]
    ItemCode: Received = ""
    statusCode: Annotated[str, Field(min_length=1, max_length=8, pattern=r"^\d+$")]
    statusMessage: Received = ""
    time: WireTime


# --- cash on delivery ---------------------------------------------------------------------------


class StatementItem(_Received):
    """One amount collected on delivery (this project's profile)."""

    OrderNumber: Annotated[str, Field(min_length=1, max_length=64)]
    ItemCode: Received = ""
    CODAmount: Amount
    CollectedAt: WireTime


class Statement(Answer):
    """The amounts the postal service collected for the customer on one day."""

    Date: WireDay | None = None
    Items: Annotated[list[StatementItem], Field(max_length=100_000)] = []
