"""Wire packets of the public postal service (VNPost, Bưu chính công ích), service HCC, with the
platform's own field names, as the public one-stop systems send and read them.

Public sources (cited field for field in ``tests/golden/postal/SOURCES.md``):

* OpenCPS ``VietOpenCPS/opencps-v2`` branch ``release-candidate-3.0``,
  ``modules/backend-postal-api-rest/.../controller/impl/VNPostManagementImpl.java``:
  ``createMOrderDatas`` (L801-826, result delivery) and ``createMOrderDatasCollect``
  (L828-855, pick-up from the citizen) build the order; ``createVNPOSTPriceData`` (L708-728)
  the price quote, whose answer is read as ``content.price`` (L695); and the NGSP SDK it
  ships (``modules/backend-postal-api-rest/lib/VNPostNGSPSDK.jar``: ``MOrder``, ``MResult``,
  ``MStatus``, ``MRhDoc``, ``MToken``, their Gson ``@SerializedName`` field names and Java
  types): ``CODAmount`` a Double, the province and district codes Integers, the answer
  ``{Status: Integer, Message}``, the tracking feed ``{_size, _total_pages, _returned,
  _embedded: {"rh:doc": [{_id: {$oid}, CustomerCode, OrderNumber, EventTime (Long), POSID,
  ItemCode, StatusCode (Integer), StatusMessage, Notes}]}}``.
* PASETO ``HuanVu201/DichVuCong_KhoaLuan_PASETO`` (``DichVuCongApi/src/Core/Application/
  Common/VnPost/VNPostRequest.cs``, ``Infrastructure/VnPost/VNPostServices.cs``): the same
  order plus ``ItemCode`` and ``FlagConfig``, the header ``access_token``, the answer
  ``{Status: "100", Message}``; ``"101"`` is taken as handed over too
  (``YeuCauBuuDienLayKetQuaWithoutItemCodeHandler.cs`` L128).

**This project's documented profile** (no public source): the token request of the
``vnpost_token`` credential, the answer codes other than "100"/"101", the status codes, the
status webhooks, the cash-on-delivery statement.

Contracts (strict when we write, tolerant when we read):

* What the gateway sends forbids unknown fields, bounds every string and carries the public
  JSON types: money as an integer (:data:`Amount`, a float or a string is refused), province and
  district codes as integers (:data:`UnitCode`).
* What the platform sends ignores unknown fields and bounds every string; numbers may come as
  strings or whole floats (:data:`LooseInt`), codes as numbers or strings (:data:`LooseCode`),
  ``null`` where a string was expected reads as ``""``.
* Times on our own profile's statement are ``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh
  (:func:`wire_time`), days ``yyyyMMdd``; a tracking document's ``EventTime`` is read by
  :func:`parse_event_time`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from schemas.wire_time import wire_format

__all__ = [
    "EXISTS",
    "FEED_START",
    "SERVICE_HCC",
    "SUCCESS",
    "Amount",
    "Answer",
    "CancelAnswer",
    "CancelRequest",
    "CreateOrder",
    "FeedDoc",
    "FeedQuery",
    "LooseCode",
    "LooseInt",
    "NgspTokenAnswer",
    "OrderAnswer",
    "PasetoOrder",
    "QuoteAnswer",
    "QuoteParty",
    "QuoteRequest",
    "Statement",
    "StatementItem",
    "StatementQuery",
    "StatusWebhook",
    "TokenAnswer",
    "TokenRequest",
    "TrackingAnswer",
    "UnitCode",
    "parse_event_time",
    "parse_wire_time",
    "wire_day",
    "wire_time",
]

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
#: the answer code of success: PASETO VNPostServices.cs L48 (``Status != "100"``)
SUCCESS = "100"
#: the order is already there: PASETO YeuCauBuuDienLayKetQuaWithoutItemCodeHandler.cs L128
#: counts it as handed over to VNPost, like "100"
EXISTS = "101"
#: the service of public administration (hành chính công): OpenCPS createVNPOSTPriceData L713
SERVICE_HCC: Literal["HCC"] = "HCC"
#: the first ``lastId`` of the tracking feed (OpenCPS VNPostGetOrderModel.java L15 comment)
FEED_START = "0" * 24

#: integer VND we send: floats, numeric strings and booleans refused
Amount = Annotated[int, Field(strict=True, ge=0, le=10**12)]
#: a province or district code we send: an integer, as OpenCPS's MOrder (Integer) carries it
UnitCode = Annotated[int, Field(strict=True, ge=0, le=99_999_999)]
#: a code we send: printable, no spaces
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s]+$")]
OrderNo = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.\-_]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Address = Annotated[str, Field(min_length=1, max_length=500)]
Phone = Annotated[str, Field(pattern=r"^(0|\+84)[0-9]{9,10}$")]
Email = Annotated[str, Field(max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Note = Annotated[str, Field(max_length=500)]
WireTime = Annotated[str, Field(pattern=r"^[0-9]{14}$")]
WireDay = Annotated[str, Field(pattern=r"^[0-9]{8}$")]


def _loose_int(value: Any) -> Any:
    """A number as real platforms write it: ``58000``, ``58000.0``, ``"58000"``, ``" 58000 "``.
    Booleans, fractions and other text are left for the int validator to refuse."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.lstrip("-").isdigit() and len(text) <= 20:
            return int(text)
    return value


def _code_text(value: Any) -> Any:
    """An answer code as text: ``100`` (the SDK's Integer) and ``"100"`` (PASETO) alike."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _text(value: Any) -> Any:
    """``null`` read as ``""``; a number where text was expected read as its digits."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


#: an integer the platform sends, possibly as a string or a whole float
LooseInt = Annotated[int, BeforeValidator(_loose_int), Field(strict=True, ge=-(10**15), le=10**15)]
LooseAmount = Annotated[int, BeforeValidator(_loose_int), Field(strict=True, ge=0, le=10**12)]
#: an answer or status code the platform sends, as a number or a string
LooseCode = Annotated[str, BeforeValidator(_code_text), Field(min_length=1, max_length=16)]
#: strings the platform sends: bounded, ``null`` as ``""``
Received = Annotated[str, BeforeValidator(_text), Field(max_length=512)]


def wire_time(moment: datetime) -> str:
    """``moment`` as yyyyMMddHHmmss, Vietnam time; a naive one is refused."""
    if moment.tzinfo is None:
        raise ValueError("a wire time needs a timezone-aware datetime")
    return wire_format(moment.astimezone(VIETNAM), "%Y%m%d%H%M%S")


def parse_wire_time(value: str) -> datetime:
    """A yyyyMMddHHmmss Vietnam time as an aware UTC datetime (ValueError when malformed)."""
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM).astimezone(UTC)


def parse_event_time(value: int | str) -> datetime:
    """A tracking document's ``EventTime`` as an aware UTC datetime.

    The SDK declares it a Java ``Long`` (MRhDoc) without saying what it counts; read
    tolerantly: 14 digits are ``yyyyMMddHHmmss`` Vietnam time, 12-13 digits Unix
    milliseconds, 9-11 digits Unix seconds; text may also be ISO 8601 (a naive one is Vietnam
    time). ValueError otherwise."""
    text = str(value).strip()
    if text.isascii() and text.isdigit():
        if len(text) == 14:
            return parse_wire_time(text)
        if 12 <= len(text) <= 13:
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        if 9 <= len(text) <= 11:
            return datetime.fromtimestamp(int(text), UTC)
        raise ValueError("EventTime: neither yyyyMMddHHmmss nor a Unix time")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("EventTime: neither yyyyMMddHHmmss, a Unix time nor ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM)
    return moment.astimezone(UTC)


def wire_day(day: date) -> str:
    return wire_format(day, "%Y%m%d")


class _Sent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Received(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Answer(_Received):
    """An answer with a status: ``Status`` ("100" success; a number in the NGSP SDK's MResult,
    a string in PASETO's RespondLGSP) and a ``Message``."""

    Status: LooseCode
    Message: Received = ""


# --- token (credential vnpost_token: this project's profile) ---------------------------------


class TokenRequest(_Sent):
    """The token request of the ``vnpost_token`` credential (this project's profile: PASETO's
    VNPostSettings carries ``urlVNPostGetToken``, ``username``, ``password`` but no public code
    shows the request)."""

    Username: Annotated[str, Field(min_length=1, max_length=128)]
    Password: Annotated[str, Field(min_length=1, max_length=256)]
    CustomerCode: Code


class TokenAnswer(Answer):
    Token: Annotated[str, Field(max_length=4096)] | None = None
    #: seconds the token lives (this project's profile)
    ExpiresIn: LooseInt | None = None


class NgspTokenAnswer(_Received):
    """The NGSP token (credential ``ngsp_client_credentials``): OpenCPS's SDK ``MToken``
    (``access_token``, ``token_type``, ``expires_in``), an OAuth2 client-credentials answer."""

    access_token: Annotated[str, Field(min_length=1, max_length=4096)]
    token_type: Annotated[str, BeforeValidator(_text), Field(max_length=32)] = "Bearer"  # noqa: S105
    expires_in: LooseInt | None = None


# --- orders ---------------------------------------------------------------------------------


class CreateOrder(_Sent):
    """An order, pick-up of a dossier or delivery of a result: exactly the 17 fields OpenCPS
    sends (createMOrderDatas / createMOrderDatasCollect; the SDK's MOrder), with their JSON
    types. Every field is sent, ``""`` for text not known."""

    CustomerCode: Code
    OrderNumber: OrderNo
    CODAmount: Amount
    SenderProvince: UnitCode
    SenderDistrict: UnitCode
    SenderAddress: Address
    SenderName: Name
    SenderEmail: Email = ""
    SenderTel: Phone
    #: what is carried ("Thành phần hồ sơ", VNPostInputModel.java L35)
    SenderDesc: Annotated[str, Field(min_length=1, max_length=500)]
    Description: Note = ""
    ReceiverName: Name
    ReceiverAddress: Address
    ReceiverTel: Phone
    ReceiverProvince: UnitCode
    ReceiverDistrict: UnitCode
    ReceiverEmail: Email = ""


class PasetoOrder(CreateOrder):
    """The order as PASETO sends it (VNPostRequest.cs ``OrderLGSPWithItemCode``): OpenCPS's
    fields plus ``ItemCode`` (a waybill number drawn from the province's stock; ``null`` on the
    ``urlVNPostAPIWithoutItemCode`` endpoint, the only one the gateway can use) and
    ``FlagConfig`` (2, PASETO's default; its meaning is not documented)."""

    ItemCode: Annotated[str, Field(max_length=64)] | None = None
    FlagConfig: Annotated[int, Field(strict=True, ge=0, le=99)] = 2


class OrderAnswer(Answer):
    """``{Status, Message}`` (MResult); ``OrderNumber`` and ``ItemCode`` read when present."""

    OrderNumber: Received | None = None
    #: the platform's own number of the parcel (số hiệu bưu gửi), when it answers one
    ItemCode: Received | None = None


class CancelRequest(_Sent):
    """The cancellation's query string (the SDK's ``IOrder.cancelOrder``:
    ``GET {apiCancelOrder}?CustomerCode=..&OrderNumber=..``)."""

    CustomerCode: Code
    OrderNumber: Annotated[str, Field(min_length=1, max_length=64)]


class CancelAnswer(Answer):
    """MResult ``{Status, Message}``."""


# --- price quote ------------------------------------------------------------------------------


class QuoteParty(_Sent):
    provCode: UnitCode
    distCode: UnitCode


class QuoteRequest(_Sent):
    """The quote body of OpenCPS's createVNPOSTPriceData (L708-728)."""

    #: grams
    weight: Annotated[int, Field(strict=True, ge=1, le=30_000)]
    mainSrv: Literal["HCC"] = SERVICE_HCC
    #: OpenCPS always sends 1
    isreturn: Annotated[int, Field(strict=True, ge=0, le=1)] = 1
    sender: QuoteParty
    receiver: QuoteParty


class QuoteContent(_Received):
    #: VND; OpenCPS reads it with ``getString("price")``, so a number or a string
    price: LooseAmount


class QuoteAnswer(_Received):
    """``{content: {price}}`` as OpenCPS reads it (L695); a ``Status`` is checked when
    present."""

    Status: LooseCode | None = None
    Message: Received = ""
    content: QuoteContent | None = None


# --- tracking (the SDK's MStatus feed) and webhooks -----------------------------------------


class FeedQuery(_Sent):
    """The tracking feed's query string (the SDK's ``IOrder.getOrderTracking``:
    ``?pagesize=&lastId=``; at most 1000 a page, VNPostGetOrderModel.java L12)."""

    pagesize: Annotated[int, Field(strict=True, ge=1, le=1000)]
    #: the ``_id.$oid`` of the last document read (24 hex digits in the SDK's comments; any
    #: token the platform gives is passed back)
    lastId: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")] = (
        FEED_START
    )


class FeedId(_Received):
    oid: Annotated[str, Field(alias="$oid", max_length=64)]


class FeedDoc(_Received):
    """One status of one parcel in the feed (the SDK's MRhDoc). Only what the gateway uses is
    checked where it uses it: a document of another order may lack any field."""

    id: Annotated[FeedId | None, Field(alias="_id")] = None
    CustomerCode: Received = ""
    OrderNumber: Received = ""
    EventTime: LooseInt | Annotated[str, Field(max_length=40)] | None = None
    POSID: Received = ""
    ItemCode: Received = ""
    StatusCode: LooseCode | None = None
    StatusMessage: Received = ""
    Notes: Received = ""


class FeedPage(_Received):
    docs: Annotated[list[FeedDoc], Field(alias="rh:doc", max_length=1000)] = []


class TrackingAnswer(_Received):
    """A page of the tracking feed (the SDK's MStatus): the customer's status documents after
    ``lastId``, oldest first. ``_embedded`` may be absent on an empty page."""

    Status: LooseCode | None = None
    Message: Received = ""
    size: Annotated[LooseInt | None, Field(alias="_size")] = None
    total_pages: Annotated[LooseInt | None, Field(alias="_total_pages")] = None
    returned: Annotated[LooseInt | None, Field(alias="_returned")] = None
    embedded: Annotated[FeedPage | None, Field(alias="_embedded")] = None

    @property
    def docs(self) -> list[FeedDoc]:
        return self.embedded.docs if self.embedded is not None else []


class StatusWebhook(_Received):
    """A status change the platform pushes (this project's profile: no public source). Its
    body is one tracking-feed document (the SDK's MRhDoc field names), signed (see
    ``connectors.postal.client.PostalClient.verify_webhook``)."""

    CustomerCode: Annotated[str, Field(min_length=1, max_length=64)]
    OrderNumber: Annotated[str, Field(min_length=1, max_length=64)]
    ItemCode: Received = ""
    StatusCode: LooseCode
    StatusMessage: Received = ""
    EventTime: LooseInt | Annotated[str, Field(min_length=1, max_length=40)]


# --- cash on delivery (this project's profile) ---------------------------------------------------


class StatementQuery(_Sent):
    CustomerCode: Code
    Date: WireDay


class StatementItem(_Received):
    """One amount collected on delivery (this project's profile)."""

    OrderNumber: Annotated[str, Field(min_length=1, max_length=64)]
    ItemCode: Received = ""
    CODAmount: LooseAmount
    CollectedAt: WireTime


class Statement(Answer):
    """The amounts the postal service collected for the customer on one day."""

    Date: WireDay | None = None
    Items: Annotated[list[StatementItem], Field(max_length=100_000)] = []
