"""Wire packets of EMC, the government's system for monitoring and measuring the provision and
use of digital government services (Hệ thống giám sát, đo lường mức độ cung cấp và sử dụng dịch
vụ Chính phủ số), with the platform's own field names.

* :class:`TrackingMCDT`: the per-dossier event ``POST https://f-emc.ngsp.gov.vn/TrackingMCDT``
  (profile ``emc-tracking``), as PASETO sends it: ``HuanVu201/DichVuCong_KhoaLuan_PASETO``
  ``DichVuCongApi/src/Core/Application/Common/EMC/EMCRequestBody.cs`` (fields and enums) and
  ``DichVuCongApi/src/Infrastructure/EMC/EMCService.cs`` (how each is filled; ``User`` is a
  JSON *string* of :class:`TrackingUser`). Every value is a string except ``SiteId`` (int).
  The codes are in :mod:`connectors.emc.codes`; here each field is held to its code range.
* :class:`MonthlyAggregate` and :class:`AggregateAnswer`: **this project's own profile** (no
  public monthly aggregate interface of EMC was found; ``docs/research/issue-23-sources.md``
  §3.3-3.4): the month's figures per procedure and online level, for a province that has an
  aggregate endpoint.

No answer body of ``TrackingMCDT`` is public (PASETO reads only the HTTP status), so none is
modelled: a 2xx is acceptance.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

__all__ = [
    "AGGREGATE_STATUSES",
    "AggregateAnswer",
    "AggregateRow",
    "MonthlyAggregate",
    "TrackingMCDT",
    "TrackingUser",
]

Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class TrackingUser(BaseModel):
    """The dossier owner, serialised as a JSON string into ``TrackingMCDT.User`` (PASETO
    ``EMCService.cs``: ``ID_local`` and ``ID_QG`` the owner's ID number, ``TYPE`` "1" for a
    10-character ID, i.e. an enterprise tax code, else "2", ``LOCATION`` the province code)."""

    model_config = ConfigDict(extra="forbid")

    ID_local: Annotated[
        str, StringConstraints(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    ]
    ID_QG: Annotated[
        str, StringConstraints(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    ]
    TYPE: Literal["1", "2"]
    LOCATION: Annotated[str, StringConstraints(min_length=1, max_length=10)]


class TrackingMCDT(BaseModel):
    """One dossier event (``EMCRequestBody``). ``CodeProfile`` repeats ``MaHoSo``."""

    model_config = ConfigDict(extra="forbid")

    CodeProfile: Code
    SiteId: StrictInt = Field(ge=1, description="the site id EMC issued to the province")
    CodeTTHC: Code
    NameTTHC: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    MaHoSo: Code
    Status: Literal["0", "1", "2", "3", "4"]
    FormsReception: Literal["1", "2"] | None = None
    FormsPayments: Literal["0", "1", "2"]
    Level: Literal["0", "1", "3", "4"]
    IsFromDVCQG: Literal["0", "1"] | None = None
    IsDVCBC: Literal["0", "1", "2"] | None = None
    Data: Annotated[str, StringConstraints(max_length=4000)] | None = None
    User: Annotated[str, StringConstraints(min_length=2, max_length=1000)] | None = None

    @field_validator("User")
    @classmethod
    def _user_is_json_of_a_user(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            TrackingUser.model_validate(json.loads(value))
        except ValueError as exc:  # json's and pydantic's errors alike
            raise ValueError(
                "User must be a JSON string of {ID_local, ID_QG, TYPE, LOCATION}"
            ) from exc
        return value


# --- this project's own profile: the monthly aggregate --------------------------------------


class AggregateRow(BaseModel):
    """The month's figures of one procedure at one online level (our profile)."""

    model_config = ConfigDict(extra="forbid")

    MaTTHC: Code
    MucDo: Literal["0", "1", "3", "4"]
    TiepNhan: StrictInt = Field(ge=0, description="dossiers received in the month")
    DaGiaiQuyetDungHan: StrictInt = Field(ge=0, description="resolved on time in the month")
    DaGiaiQuyetQuaHan: StrictInt = Field(ge=0, description="resolved late in the month")
    DangGiaiQuyet: StrictInt = Field(ge=0, description="in progress at the month's end")
    NopTrucTuyen: StrictInt = Field(ge=0, description="received online in the month")
    ThanhToanTrucTuyen: StrictInt = Field(ge=0, description="online payments in the month")
    SoTienThanhToanTrucTuyen: StrictInt = Field(ge=0, description="their amount, whole VND")
    DanhGiaRatHaiLong: StrictInt = Field(ge=0, description="ratings 1, very satisfied")
    DanhGiaHaiLong: StrictInt = Field(ge=0, description="ratings 2, satisfied")
    DanhGiaKhongHaiLong: StrictInt = Field(ge=0, description="ratings 3, not satisfied")


class MonthlyAggregate(BaseModel):
    """The month's report of one agency (our profile). ``(MaDonVi, Thang)`` is its identity:
    a second submission of the same month replaces the first."""

    model_config = ConfigDict(extra="forbid")

    SiteId: StrictInt = Field(ge=1)
    MaDonVi: Code
    Thang: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    NgayLap: Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")] = Field(
        description="when the gateway computed it, yyyyMMddHHmmss, Asia/Ho_Chi_Minh"
    )
    DuLieu: list[AggregateRow] = Field(max_length=10_000)


AGGREGATE_STATUSES = ("accepted", "replaced", "duplicate")


class AggregateAnswer(BaseModel):
    """The aggregate endpoint's answer (our profile)."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["accepted", "replaced", "duplicate"]
    report_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
