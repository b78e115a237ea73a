"""The simulator's own models of what EMC receives (independent of ``schemas.emc``, so that the
simulator can disagree with the connector). From the public record: PASETO
``EMCRequestBody.cs`` and ``EMCService.cs`` (``TrackingMCDT``); the aggregate is this
project's own profile."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

__all__ = ["Aggregate", "AggregateLine", "Event", "Owner"]

Short = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=False)]


class Owner(BaseModel):
    """``User``, once its JSON string is decoded."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ID_local: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{9,20}$")]
    ID_QG: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{9,20}$")]
    TYPE: Literal["1", "2"]
    LOCATION: Annotated[str, StringConstraints(min_length=1, max_length=10)]

    @model_validator(mode="after")
    def _consistent(self) -> Owner:
        if self.ID_local != self.ID_QG:
            raise ValueError("ID_local and ID_QG differ")
        if (self.TYPE == "1") != (len(self.ID_local) == 10):
            raise ValueError("TYPE is 1 exactly for a 10-character ID (a tax code)")
        return self


class Event(BaseModel):
    """One ``TrackingMCDT`` body: every code a string in its range, ``SiteId`` an integer,
    ``User`` a JSON *string*."""

    model_config = ConfigDict(extra="forbid", strict=True)

    CodeProfile: Short
    SiteId: StrictInt
    CodeTTHC: Short
    NameTTHC: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    MaHoSo: Short
    Status: Literal["0", "1", "2", "3", "4"]
    FormsReception: Literal["1", "2"] | None = None
    FormsPayments: Literal["0", "1", "2"]
    Level: Literal["0", "1", "3", "4"]
    IsFromDVCQG: Literal["0", "1"] | None = None
    IsDVCBC: Literal["0", "1", "2"] | None = None
    Data: Annotated[str, StringConstraints(max_length=4000)] | None = None
    User: str | None = None

    @model_validator(mode="after")
    def _checks(self) -> Event:
        if self.CodeProfile != self.MaHoSo:
            raise ValueError("CodeProfile must repeat MaHoSo")
        if self.User is not None:
            try:
                decoded = json.loads(self.User)
            except ValueError:
                raise ValueError("User is not a JSON string") from None
            Owner.model_validate(decoded)
        return self

    def owner(self) -> Owner | None:
        return None if self.User is None else Owner.model_validate(json.loads(self.User))


class AggregateLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    MaTTHC: Short
    MucDo: Literal["0", "1", "3", "4"]
    TiepNhan: StrictInt = Field(ge=0)
    DaGiaiQuyetDungHan: StrictInt = Field(ge=0)
    DaGiaiQuyetQuaHan: StrictInt = Field(ge=0)
    DangGiaiQuyet: StrictInt = Field(ge=0)
    NopTrucTuyen: StrictInt = Field(ge=0)
    ThanhToanTrucTuyen: StrictInt = Field(ge=0)
    SoTienThanhToanTrucTuyen: StrictInt = Field(ge=0)
    DanhGiaRatHaiLong: StrictInt = Field(ge=0)
    DanhGiaHaiLong: StrictInt = Field(ge=0)
    DanhGiaKhongHaiLong: StrictInt = Field(ge=0)


class Aggregate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    SiteId: StrictInt
    MaDonVi: Short
    Thang: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    NgayLap: Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")]
    DuLieu: list[AggregateLine]

    @model_validator(mode="after")
    def _unique_lines(self) -> Aggregate:
        keys = [(line.MaTTHC, line.MucDo) for line in self.DuLieu]
        if len(keys) != len(set(keys)):
            raise ValueError("a procedure appears twice at one level")
        return self
