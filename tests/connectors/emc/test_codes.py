"""The code tables of TrackingMCDT (PASETO ``EMCRequestBody.cs`` / ``EMCService.cs``), against
the DVCQG connector's own vocabulary (names and national numbers), so that the two never
drift apart (the EMC connector may not import DVCQG's; its tests may)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.dvcqg import mapping as dvcqg_mapping
from connectors.dvcqg.models import KenhThucHien
from connectors.dvcqg.models import TrangThaiHoSo as DvcqgTrangThai
from connectors.emc import codes
from connectors.emc.codes import TrangThaiEmc, TrangThaiHoSo, emc_status
from connectors.emc.config import EmcConfig, production_refusals
from connectors.emc.mapping import SuKienHoSo, masked_id, to_wire, user_json
from schemas import emc as wire

#: EMCService.SendAction, by the national status number (TrangThaiHoSoId)
PASETO_STATUS = {"1": "1", "2": "1", "4": "2", "9": "3", "10": "3"}


def test_our_status_names_are_dvcqgs() -> None:
    assert {s.value for s in TrangThaiHoSo} == {s.value for s in DvcqgTrangThai}
    assert {k.value for k in codes.KenhNop} == {k.value for k in KenhThucHien}


@pytest.mark.parametrize("status", list(DvcqgTrangThai))
def test_status_follows_paseto_by_national_number(status: DvcqgTrangThai) -> None:
    numbers = {k.value: v for k, v in dvcqg_mapping.TRANG_THAI_CODES.items()}
    number = str(numbers[status.value])
    assert emc_status(TrangThaiHoSo(status.value)).value == PASETO_STATUS.get(number, "0")


def test_assigned_is_declared_but_never_derived() -> None:
    assert TrangThaiEmc.phan_cong_xu_ly.value == "4"
    assert TrangThaiEmc.phan_cong_xu_ly not in set(codes.STATUS_OF_TRANG_THAI.values())


def test_reception_payments_levels_and_flags() -> None:
    # HinhThucEnum: KenhThucHien 1 -> TrucTiep 2; 2 and 3 -> TrucTuyen 1
    numbers = {k.value: v for k, v in dvcqg_mapping.KENH_THUC_HIEN_CODES.items()}
    for kenh, code in codes.FORMS_RECEPTION.items():
        assert code == ("2" if numbers[kenh.value] == 1 else "1")
    assert dict(codes.FORMS_PAYMENTS.items()) == {
        codes.FormsPayments.khong_thanh_toan: "0",
        codes.FormsPayments.truc_tuyen: "1",
        codes.FormsPayments.truc_tiep: "2",
    }
    assert sorted(codes.LEVEL.values()) == ["0", "1", "3", "4"]
    assert dict(codes.IS_FROM_DVCQG.items()) == {True: "1", False: "0"}
    assert sorted(codes.IS_DVCBC.values()) == ["0", "1", "2"]


def test_user_is_a_json_string_typed_by_the_id_length() -> None:
    assert user_json("001090000001", "38") == (
        '{"ID_local":"001090000001","ID_QG":"001090000001","TYPE":"2","LOCATION":"38"}'
    )
    assert '"TYPE":"1"' in user_json("0101234567", "38")
    assert masked_id("001090000001") == "001******001"


def test_the_wire_schema_refuses_codes_out_of_range_and_a_user_that_is_not_json() -> None:
    event = SuKienHoSo(
        ma_ho_so="000.00.01.H22-240105-0007",
        ma_tthc="1.001776",
        ten_tthc="Đăng ký khai sinh",
        trang_thai=TrangThaiHoSo.dang_xu_ly,
        kenh_thuc_hien=codes.KenhNop.truc_tiep,
        so_giay_to_chu_ho_so="001090000001",
    )
    packet = to_wire(event, site_id=1, ma_tinh="38", level=codes.MucDo.truc_tiep_mot_phan)
    assert (packet.Status, packet.FormsReception, packet.Level) == ("2", "2", "0")
    good = packet.model_dump()
    for field, bad in (("Status", "5"), ("Level", "2"), ("FormsPayments", "3"), ("SiteId", 0)):
        with pytest.raises(ValidationError) as raised:
            wire.TrackingMCDT.model_validate({**good, field: bad})
        assert raised.value.errors()[0]["loc"] == (field,)
    with pytest.raises(ValidationError):
        wire.TrackingMCDT.model_validate({**good, "User": "001090000001"})


def test_production_refuses_the_placeholders_once_tracking_is_on() -> None:
    assert production_refusals(EmcConfig()) == []  # tracking off: nothing is sent
    assert production_refusals(EmcConfig(site_id=3800)) == ["ma_tinh", "ma_don_vi"]
    assert production_refusals(EmcConfig(site_id=3800, ma_tinh="38", ma_don_vi="H56")) == []
