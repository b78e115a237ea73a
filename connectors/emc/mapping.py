"""Canonical dossier events <-> EMC's ``TrackingMCDT`` packet (profile ``emc-tracking``).

:class:`SuKienHoSo` is what the gateway knows of a dossier at one status: the payload of the
``track_dossier`` outbox item and the body of ``POST /v1/emc/events``. :func:`to_wire` fills
``TrackingMCDT`` as PASETO's ``EMCService.cs`` (``SendAction``) does, with the code tables of
:mod:`connectors.emc.codes`:

* ``CodeProfile`` and ``MaHoSo`` the dossier code; ``CodeTTHC`` / ``NameTTHC`` the procedure;
* ``User`` the JSON *string* ``{"ID_local", "ID_QG", "TYPE", "LOCATION"}``: the owner's ID
  number twice, ``TYPE`` "1" when it has 10 characters (an enterprise tax code) else "2",
  ``LOCATION`` the configured province code (PASETO ``MaTinh``); serialised compactly, as
  Newtonsoft.Json does by default.

The ID number is personal data: it travels only inside the packet (encrypted in the outbox and
in the exchange log); what the gateway says about an event names it masked
(:func:`masked_id`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from connectors.emc.codes import (
    FORMS_PAYMENTS,
    FORMS_RECEPTION,
    IS_DVCBC,
    IS_FROM_DVCQG,
    LEVEL,
    FormsPayments,
    KenhNop,
    MucDo,
    TraKetQua,
    TrangThaiEmc,
    TrangThaiHoSo,
    emc_status,
)
from gateway.core.local_time import FIRST_DAY, LAST_DAY, TZ, local_day
from schemas import emc as wire

__all__ = ["SuKienHoSo", "local_stamp", "masked_id", "to_wire", "user_json"]

#: a dossier code as the national portal writes them ({agency}-{yyMMdd}-{NNNN}); the pattern
#: of :mod:`schemas.dvcqg` is not imported (a wire module of another platform)
MA_HO_SO_PATTERN = r"^[0-9A-Za-z.]{1,40}-[0-9]{6}-[0-9]{4,5}$"
MA_TTHC_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,63}$"
ID_PATTERN = r"^[0-9A-Za-z-]{9,20}$"


class SuKienHoSo(BaseModel):
    """One dossier event for EMC, in the gateway's canonical names."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                    "ma_tthc": "1.001776",
                    "ten_tthc": "Đăng ký khai sinh",
                    "trang_thai": "da_tiep_nhan",
                    "kenh_thuc_hien": "truc_tuyen",
                    "so_giay_to_chu_ho_so": "001090000001",
                    "ngay_tiep_nhan": "2024-01-05T08:30:00+07:00",
                    "ngay_hen_tra": "2024-01-12T17:00:00+07:00",
                }
            ]
        },
    )

    ma_ho_so: str = Field(pattern=MA_HO_SO_PATTERN, description="dossier code (MaHoSo)")
    ma_tthc: str = Field(pattern=MA_TTHC_PATTERN, description="procedure code (CodeTTHC)")
    ten_tthc: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="procedure name (NameTTHC)"
    )
    trang_thai: TrangThaiHoSo = Field(
        description="the DVCQG dossier status; EMC's Status is derived from it"
    )
    trang_thai_emc: TrangThaiEmc | None = Field(
        None,
        description="EMC's Status as is ('4' assigned is reachable only so); default: "
        "derived from trang_thai",
    )
    kenh_thuc_hien: KenhNop = Field(description="submission channel (FormsReception)")
    hinh_thuc_thanh_toan: FormsPayments = Field(
        FormsPayments.khong_thanh_toan, description="how the fees were paid (FormsPayments)"
    )
    muc_do: MucDo | None = Field(
        None, description="level of service (Level); default: the configured level"
    )
    tu_dvcqg: bool = Field(False, description="the dossier came through the national portal")
    tra_ket_qua: TraKetQua = Field(
        TraKetQua.truc_tiep, description="how the result is handed over (IsDVCBC)"
    )
    so_giay_to_chu_ho_so: str = Field(
        pattern=ID_PATTERN,
        description="owner's ID number or enterprise tax code (User; personal data)",
        examples=["001090000001"],
    )
    du_lieu: Annotated[str, StringConstraints(max_length=4000)] | None = Field(
        None, description="free data for EMC (Data)"
    )
    # what the monthly report needs (not on the wire)
    ngay_tiep_nhan: AwareDatetime | None = Field(None, description="received at")
    ngay_hen_tra: AwareDatetime | None = Field(None, description="result due at")
    ngay_ket_thuc: AwareDatetime | None = Field(
        None, description="processing finished (result ready or returned) at"
    )

    @field_validator("ngay_tiep_nhan", "ngay_hen_tra", "ngay_ket_thuc")
    @classmethod
    def _within_range(cls, value: datetime | None) -> datetime | None:
        # year 1 or 9999 with an offset cannot be stored (OverflowError, a 500) nor reported
        if value is not None:
            try:
                day = local_day(value)
            except OverflowError:
                day = None
            if day is None or not FIRST_DAY <= day <= LAST_DAY:
                raise ValueError(f"a date from {FIRST_DAY} to {LAST_DAY}")
        return value


def user_json(id_number: str, ma_tinh: str) -> str:
    """``User`` as PASETO serialises it (Newtonsoft's compact form, fields in its order)."""
    user = {
        "ID_local": id_number,
        "ID_QG": id_number,
        "TYPE": "1" if len(id_number) == 10 else "2",
        "LOCATION": ma_tinh,
    }
    return json.dumps(user, ensure_ascii=False, separators=(",", ":"))


def masked_id(id_number: str) -> str:
    """``001090000001`` -> ``001******001``: what the gateway may say about an owner."""
    if len(id_number) <= 6:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 6) + id_number[-3:]


def to_wire(event: SuKienHoSo, *, site_id: int, ma_tinh: str, level: MucDo) -> wire.TrackingMCDT:
    """The ``TrackingMCDT`` packet of ``event``; ``level`` is used when the event names none.
    Raises ``pydantic.ValidationError`` when the packet breaks the wire schema."""
    status = event.trang_thai_emc or emc_status(event.trang_thai)
    return wire.TrackingMCDT.model_validate(
        {
            "CodeProfile": event.ma_ho_so,
            "SiteId": site_id,
            "CodeTTHC": event.ma_tthc,
            "NameTTHC": event.ten_tthc,
            "MaHoSo": event.ma_ho_so,
            "Status": status.value,
            "FormsReception": FORMS_RECEPTION[event.kenh_thuc_hien],
            "FormsPayments": FORMS_PAYMENTS[event.hinh_thuc_thanh_toan],
            "Level": LEVEL[event.muc_do or level],
            "IsFromDVCQG": IS_FROM_DVCQG[event.tu_dvcqg],
            "IsDVCBC": IS_DVCBC[event.tra_ket_qua],
            "Data": event.du_lieu,
            "User": user_json(event.so_giay_to_chu_ho_so, ma_tinh),
        }
    )


def local_stamp(at: datetime) -> str:
    """``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh."""
    return at.astimezone(TZ).strftime("%Y%m%d%H%M%S")
