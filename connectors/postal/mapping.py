"""The gateway's canonical shipments <-> the postal service's wire packets.

Canonical (northbound, snake_case Vietnamese domain names): a :class:`ShipmentRequest` names
the dossier (``ma_ho_so``), the flow, the agency whose one-stop centre is the other party, the
citizen (name, address, province and district codes, phone), what is carried, and the amount to
collect on delivery (integer VND). Two flows:

* ``pickup``: the dossier from the citizen (sender) to the centre (receiver); nothing can be
  collected on delivery (the centre receives);
* ``delivery``: the result from the centre (sender) to the citizen (receiver), with the fees
  collected on delivery when the dossier still owes them (e.g. seed 003, Điều 17.12).

The order number is ``f"{ma_ho_so}-{flow}"``: one order per dossier and flow, which is what
makes a redelivered creation find the order it already made.

The wire packets follow the public senders (:mod:`connectors.postal.profiles` picks the order
profile; sources in ``tests/golden/postal/SOURCES.md``). The status codes of the platform's
tracking documents (``StatusCode``: the field is public, OpenCPS's SDK MRhDoc; the list of codes
is not, so it is this project's documented profile) map onto the canonical status machine
(:data:`STATUS_BY_CODE`); an unknown code maps to ``None`` and is kept in the history without
moving the shipment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from connectors.postal.config import Centre
from connectors.postal.profiles import ORDER_PROFILES, OrderProfile
from schemas import postal as wire
from schemas.dvcqg import MA_HO_SO_PATTERN

__all__ = [
    "FLOWS",
    "STATUS_BY_CODE",
    "Citizen",
    "Flow",
    "QuoteIn",
    "ShipmentEvent",
    "ShipmentRequest",
    "event_from_wire",
    "mask_name",
    "mask_phone",
    "mask_phones",
    "order_number",
    "quote_to_wire",
    "receiver_summary",
    "status_of",
    "to_wire",
]

Flow = Literal["pickup", "delivery"]
FLOWS: tuple[Flow, ...] = ("pickup", "delivery")

#: the platform's status code -> the canonical status (this project's profile)
STATUS_BY_CODE: Mapping[str, str] = {
    "1": "created",  # Tạo đơn thành công, chờ lấy hàng
    "2": "picked_up",  # Đã nhận hàng (bưu tá đã lấy)
    "3": "in_transit",  # Đang vận chuyển
    "4": "in_transit",  # Đang phát
    "5": "delivered",  # Phát thành công
    "6": "failed_delivery",  # Phát không thành công
    "7": "returned",  # Đã chuyển hoàn
    "8": "cancelled",  # Đã hủy
}

UnitCode = Annotated[str, Field(pattern=r"^[0-9]{1,8}$")]


class Citizen(BaseModel):
    """The citizen who sends the dossier (pick-up) or receives the result (delivery)."""

    model_config = ConfigDict(extra="forbid")

    ho_va_ten: str = Field(min_length=1, max_length=200, examples=["Nguyễn Văn An"])
    dia_chi: str = Field(min_length=1, max_length=500, examples=["12 Lê Lợi, phường Gia Cẩm"])
    ma_tinh: UnitCode = Field(description="province code (mã tỉnh)", examples=["25"])
    ma_huyen: UnitCode = Field(description="district code (mã huyện)", examples=["227"])
    so_dien_thoai: str = Field(pattern=r"^(0|\+84)[0-9]{9,10}$", examples=["0912345678"])
    email: str = Field("", max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ShipmentRequest(BaseModel):
    """A shipment the case system asks for (``POST /v1/postal/shipments``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                    "flow": "delivery",
                    "ma_dvc": "000.00.01.H22",
                    "cong_dan": {
                        "ho_va_ten": "Nguyễn Văn An",
                        "dia_chi": "12 Lê Lợi, phường Gia Cẩm",
                        "ma_tinh": "25",
                        "ma_huyen": "227",
                        "so_dien_thoai": "0912345678",
                    },
                    "noi_dung": "Giấy khai sinh (bản chính)",
                    "tien_thu_ho": 58000,
                }
            ]
        },
    )

    ma_ho_so: str = Field(pattern=MA_HO_SO_PATTERN, examples=["000.00.01.H22-240105-0007"])
    flow: Flow = Field(description="pickup: dossier to the centre; delivery: result to the citizen")
    ma_dvc: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^\S+$",
        description="the agency whose one-stop centre sends or receives",
        examples=["000.00.01.H22"],
    )
    cong_dan: Citizen
    noi_dung: str = Field(
        min_length=1, max_length=500, description="what is carried", examples=["Kết quả TTHC"]
    )
    tien_thu_ho: int = Field(
        0,
        strict=True,
        ge=0,
        le=10**12,
        description="VND collected from the citizen on delivery (delivery flow only)",
    )
    khoi_luong_gram: int = Field(
        500,
        strict=True,
        ge=1,
        le=30_000,
        description="grams; not sent with the order (OpenCPS's order carries no weight), "
        "kept for the record",
    )
    ghi_chu: str = Field("", max_length=500, description="sent as Description")

    @field_validator("tien_thu_ho")
    @classmethod
    def _no_cod_on_pickup(cls, value: int, info: ValidationInfo) -> int:
        # on a pick-up the centre is the receiver: nobody there pays the postman
        if value and info.data.get("flow") == "pickup":
            raise ValueError("a pick-up collects nothing on delivery")
        return value


class QuoteIn(BaseModel):
    """A price quote for a shipment between a citizen's district and an agency's centre."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ma_dvc": "000.00.01.H22", "flow": "delivery", "ma_tinh": "25", "ma_huyen": "227"}
            ]
        },
    )

    ma_dvc: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    flow: Flow
    ma_tinh: UnitCode
    ma_huyen: UnitCode
    tien_thu_ho: int = Field(
        0,
        strict=True,
        ge=0,
        le=10**12,
        description="accepted, not sent: the public quote body (OpenCPS createVNPOSTPriceData) "
        "has no amount collected on delivery",
    )
    khoi_luong_gram: int = Field(500, strict=True, ge=1, le=30_000, description="sent as weight")


class ShipmentEvent(BaseModel):
    """A status of a parcel, canonical: what the platform said, when, and what it means."""

    model_config = ConfigDict(frozen=True)

    order_number: str
    item_code: str
    status: str | None  # None: a code this profile does not know (kept, never applied)
    platform_code: str
    message: str
    at: datetime


def mask_phone(phone: str) -> str:
    """``0912345678`` -> ``09******78``: enough to tell two numbers apart, not to call."""
    return phone[:2] + "*" * max(len(phone) - 4, 0) + phone[-2:] if len(phone) > 4 else "***"


_PHONE = re.compile(r"(?<![0-9])(?:0|\+84)[0-9]{9,10}(?![0-9])")


def mask_phones(text: str) -> str:
    """Every Vietnamese phone number in ``text`` masked (the platform's own messages may
    quote the receiver's number; the gateway's logs and errors must not)."""
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def mask_name(name: str) -> str:
    """``Nguyễn Văn An`` -> ``N. V. A.``: initials only."""
    return " ".join(f"{part[0]}." for part in name.split() if part) or "***"


def receiver_summary(request: ShipmentRequest, centre: Centre) -> str:
    """Who receives the parcel, as the gateway may keep it in clear: the centre by name; a
    citizen by initials, masked phone and district (the rest stays in the encrypted log)."""
    if request.flow == "pickup":
        return f"{centre.name} ({centre.district_id}/{centre.province_id})"
    c = request.cong_dan
    return f"{mask_name(c.ho_va_ten)}, {mask_phone(c.so_dien_thoai)} ({c.ma_huyen}/{c.ma_tinh})"


def order_number(ma_ho_so: str, flow: Flow) -> str:
    """The order number of a dossier's flow: one order per dossier and flow."""
    return f"{ma_ho_so}-{flow}"


def status_of(code: str) -> str | None:
    return STATUS_BY_CODE.get(code.strip())


def _unit(code: str) -> int:
    # the canonical codes are digit strings ("01"); the wire carries integers (OpenCPS MOrder:
    # Integer SenderProvince ..., VNPostInputModel.java L22-48)
    return int(code)


def _citizen_side(c: Citizen, prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}Name": c.ho_va_ten,
        f"{prefix}Address": c.dia_chi,
        f"{prefix}Province": _unit(c.ma_tinh),
        f"{prefix}District": _unit(c.ma_huyen),
        f"{prefix}Tel": c.so_dien_thoai,
        f"{prefix}Email": c.email,
    }


def _centre_side(c: Centre, prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}Name": c.name,
        f"{prefix}Address": c.address,
        f"{prefix}Province": _unit(c.province_id),
        f"{prefix}District": _unit(c.district_id),
        f"{prefix}Tel": c.phone,
        f"{prefix}Email": c.email,
    }


def to_wire(
    request: ShipmentRequest,
    centre: Centre,
    *,
    customer_code: str,
    profile: OrderProfile = ORDER_PROFILES["opencps"],
) -> wire.CreateOrder:
    """The order packet of ``profile`` (validated: a pydantic ValidationError names the wire
    field). A delivery is OpenCPS's createMOrderDatas (L801-826: the centre sends, the citizen
    receives); a pick-up its createMOrderDatasCollect (L828-855: the citizen sends, the centre
    receives)."""
    if request.flow == "pickup":
        sides = {**_citizen_side(request.cong_dan, "Sender"), **_centre_side(centre, "Receiver")}
    else:
        sides = {**_centre_side(centre, "Sender"), **_citizen_side(request.cong_dan, "Receiver")}
    return profile.model.model_validate(
        {
            "CustomerCode": customer_code,
            # ours is the dossier's code and the flow; OpenCPS sends the dossier number alone
            # (input.getOrderNumber()), one order per dossier, where we make two
            "OrderNumber": order_number(request.ma_ho_so, request.flow),
            "CODAmount": request.tien_thu_ho,
            **sides,
            "SenderDesc": request.noi_dung,
            "Description": request.ghi_chu,
            **profile.extras,
        }
    )


def quote_to_wire(
    quote: QuoteIn, centre: Centre, *, service: str = wire.SERVICE_HCC
) -> wire.QuoteRequest:
    """The quote body of OpenCPS's createVNPOSTPriceData (L708-728); as its getPostalPrice
    (L660-666) does, the centre is the receiver of a pick-up and the sender of a delivery."""
    citizen = {"provCode": _unit(quote.ma_tinh), "distCode": _unit(quote.ma_huyen)}
    ours = {"provCode": _unit(centre.province_id), "distCode": _unit(centre.district_id)}
    sender, receiver = (citizen, ours) if quote.flow == "pickup" else (ours, citizen)
    return wire.QuoteRequest.model_validate(
        {
            "weight": quote.khoi_luong_gram,
            "mainSrv": service,
            "isreturn": 1,  # OpenCPS L714 always sends 1
            "sender": sender,
            "receiver": receiver,
        }
    )


def event_from_wire(order: str, doc: wire.FeedDoc | wire.StatusWebhook) -> ShipmentEvent:
    """A tracking document (the SDK's MRhDoc) or a webhook as a canonical event; a document
    without the status or the time the gateway needs is a ValueError naming the field."""
    if doc.StatusCode is None:
        raise ValueError("StatusCode: missing")
    if doc.EventTime is None:
        raise ValueError("EventTime: missing")
    return ShipmentEvent(
        order_number=order,
        item_code=doc.ItemCode,
        status=status_of(doc.StatusCode),
        platform_code=doc.StatusCode,
        message=doc.StatusMessage[:200],
        at=wire.parse_event_time(doc.EventTime),
    )
