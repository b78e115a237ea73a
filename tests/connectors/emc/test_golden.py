"""Golden packets of EMC (``tests/golden/emc/``, sources in its ``SOURCES.md``), both ways: what
we send against what PASETO sends for the same dossier (every field, same JSON types, the same
codes); PASETO's packets accepted by our wire schema and by our simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.emc.codes import FormsPayments, KenhNop, MucDo, TraKetQua, TrangThaiHoSo
from connectors.emc.mapping import SuKienHoSo, to_wire
from connectors.emc.sandbox import EmcSimulator
from schemas import emc as wire

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "emc"
#: Data carries the event's exchange id (SOURCES.md); PASETO sends null
OURS_DIFFER = {"Data"}


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


RECEIVED = SuKienHoSo(
    ma_ho_so="000.00.01.H22-240105-0007",
    ma_tthc="1.001776",
    ten_tthc="Đăng ký khai sinh",
    trang_thai=TrangThaiHoSo.da_tiep_nhan,
    kenh_thuc_hien=KenhNop.truc_tuyen,
    so_giay_to_chu_ho_so="001090000001",
    du_lieu='{"exchange_id":"x"}',
)
RETURNED = SuKienHoSo(
    ma_ho_so="000.00.01.H22-240105-0008",
    ma_tthc="2.000477.000.00.00.H56",
    ten_tthc="Cấp giấy phép kinh doanh",
    trang_thai=TrangThaiHoSo.da_tra_ket_qua,
    kenh_thuc_hien=KenhNop.truc_tiep,
    hinh_thuc_thanh_toan=FormsPayments.truc_tuyen,
    muc_do=MucDo.truc_tuyen_toan_trinh,
    tu_dvcqg=True,
    tra_ket_qua=TraKetQua.buu_chinh,
    so_giay_to_chu_ho_so="0101234567",
)


@pytest.mark.parametrize(
    ("event", "name"),
    [
        (RECEIVED, "paseto_tracking_received.json"),
        (RETURNED, "paseto_tracking_returned_enterprise.json"),
    ],
)
def test_we_send_what_paseto_sends(event: SuKienHoSo, name: str) -> None:
    ours = to_wire(event, site_id=3800, ma_tinh="38", level=MucDo.truc_tuyen_mot_phan)
    sent = json.loads(ours.model_dump_json())
    theirs = golden(name)
    assert list(sent) == list(theirs)  # the same 13 fields, in EMCRequestBody's order
    for field, value in theirs.items():
        if field in OURS_DIFFER:
            continue
        assert sent[field] == value, field
        assert type(sent[field]) is type(value), field


@pytest.mark.parametrize(
    "name", ["paseto_tracking_received.json", "paseto_tracking_returned_enterprise.json"]
)
def test_paseto_packets_pass_our_schema_and_our_simulator(name: str) -> None:
    packet = golden(name)
    assert wire.TrackingMCDT.model_validate(packet).model_dump(mode="json") == packet
    sim = EmcSimulator()
    assert sim.track(packet) == {"status": "ok"}
    assert sim.track(packet) == {"status": "duplicate"}
    assert (sim.stats.events_kept, sim.stats.duplicates) == (1, 1)


def test_our_aggregate_profile_round_trips() -> None:
    packet = golden("ours_monthly_aggregate.json")
    assert wire.MonthlyAggregate.model_validate(packet).model_dump(mode="json") == packet
    sim = EmcSimulator()
    assert sim.aggregate(packet)["status"] == "accepted"
    assert sim.aggregate(packet)["status"] == "duplicate"
    changed = dict(packet, NgayLap="20240202080000")
    assert sim.aggregate(changed)["status"] == "replaced"
    assert len(sim.aggregates) == 1
