"""What the simulated VNPost accepts, modelled from the public record on its own: the simulator
never imports the connector's wire models, so it can disagree with them.

Sources (the same as the connector's, read independently):

* OpenCPS rc-3.0 ``VNPostManagementImpl.java`` builds the order (``createMOrderDatas`` L801-826,
  ``createMOrderDatasCollect`` L828-855) and the quote (``createVNPOSTPriceData`` L708-728);
  its ``VNPostInputModel.java`` (L14-51) marks what is required ("Có") and what is not
  ("Không"); its NGSP SDK (``lib/VNPostNGSPSDK.jar``: ``MOrder``) types the fields: ``CODAmount``
  a Double (Gson writes ``58000.0``), the province and district codes Integers.
* PASETO's ``VNPostRequest.cs`` sends the same fields plus ``ItemCode`` and ``FlagConfig``.

So an order is accepted with any extra field (Gson and Newtonsoft ignore what they do not
know), ``CODAmount`` as an integer or a whole float, ``null`` for the optional texts; it is
refused without ``CustomerCode`` or ``OrderNumber``, or with a province or district code that is
not a JSON integer (a string ``"25"`` is refused: every public sender writes a number, so a
string is a sender's mistake the simulator should show).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

__all__ = [
    "CancelQuery",
    "FeedQuery",
    "OrderIn",
    "QuoteIn",
    "QuoteParty",
    "StatementQuery",
    "TokenIn",
]


def _null_as_empty(value: Any) -> Any:
    return "" if value is None else value


def _money(value: Any) -> Any:
    # a Java Double as Gson writes it (58000.0), or an int; null (serializeNulls) is nothing due
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _In(BaseModel):
    # unknown fields ignored, as the public readers (Gson, Newtonsoft) ignore them
    model_config = ConfigDict(extra="ignore", frozen=True)


Required = Annotated[str, Field(min_length=1, max_length=500)]
OptText = Annotated[str, BeforeValidator(_null_as_empty), Field(max_length=500)]
Key = Annotated[str, Field(min_length=1, max_length=64)]
Tel = Annotated[str, Field(pattern=r"^\+?\d[\d .\-]{6,18}$")]
#: a province or district code: a JSON integer (OpenCPS MOrder Integer, PASETO int)
Unit = Annotated[StrictInt, Field(ge=0, le=99_999_999)]
#: VND: an integer, or a whole float (the SDK's Double); VND has no minor unit
Money = Annotated[StrictInt, BeforeValidator(_money), Field(ge=0, le=10**12)]


class OrderIn(_In):
    """An order as VNPost takes it (VNPostInputModel.java: "Có" required, "Không" optional)."""

    CustomerCode: Key
    OrderNumber: Key
    CODAmount: Money = 0
    SenderProvince: Unit
    SenderDistrict: Unit
    SenderAddress: Required
    SenderName: Required
    SenderEmail: OptText = ""
    SenderTel: Tel
    SenderDesc: OptText = ""
    Description: OptText = ""
    ReceiverName: Required
    ReceiverAddress: Required
    ReceiverTel: Tel
    ReceiverProvince: Unit
    #: "Không": optional (PASETO sends 0)
    ReceiverDistrict: Unit = 0
    ReceiverEmail: OptText = ""


class QuoteParty(_In):
    provCode: Unit
    distCode: Unit


class QuoteIn(_In):
    """The quote body of OpenCPS's createVNPOSTPriceData; the simulator serves HCC only."""

    weight: Annotated[StrictInt, Field(ge=1, le=30_000)]
    mainSrv: Literal["HCC"]
    isreturn: Annotated[StrictInt, Field(ge=0, le=1)] = 0
    sender: QuoteParty
    receiver: QuoteParty


class TokenIn(_In):
    """The ``vnpost_token`` request (this project's profile)."""

    Username: Key
    Password: Annotated[str, Field(min_length=1, max_length=256)]
    CustomerCode: Key


class CancelQuery(_In):
    """``?CustomerCode=..&OrderNumber=..`` (the SDK's IOrder.cancelOrder)."""

    CustomerCode: Key
    OrderNumber: Key


class FeedQuery(_In):
    """``?pagesize=..&lastId=..`` (the SDK's IOrder.getOrderTracking; at most 1000 a page)."""

    pagesize: Annotated[int, Field(ge=1, le=1000)] = 100
    lastId: Annotated[str, Field(max_length=64)] = "0" * 24


class StatementQuery(_In):
    """``?CustomerCode=..&Date=yyyyMMdd`` (this project's profile)."""

    CustomerCode: Key
    Date: Annotated[str, Field(pattern=r"^\d{8}$")]
