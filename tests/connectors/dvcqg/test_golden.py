"""Golden packets of DVCQG, both ways (fixtures and their sources: tests/golden/dvcqg/SOURCES.md).

(a) What we send, compared with what the public sender sends for the same dossier: the
    ``opencps`` profile sends exactly OpenCPS rc-3.0's packet; the ``paseto`` profile every
    field PASETO sends, as strings.
(b) What the portal answers, as the public reader expects it, read by our client.
(c) The public senders' own packets, accepted by our simulator and by our wire model on read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from connectors.dvcqg import DvcqgConfig, DvcqgConnector, HoSo, KenhThucHien, TrangThaiHoSo
from connectors.dvcqg.profiles import PROFILES
from connectors.dvcqg.sandbox import DvcqgSimulator, create_app, get_simulator
from schemas import dvcqg as wire

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "dvcqg"
BASE = "http://dvcqg.golden"
SANDBOX = "http://sandbox.golden"
MADONVI = "000.00.00.H22"
SESSION = "3b2f6a1c9d8e4f70a1b2c3d4"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def shape(value: Any) -> Any:
    """The JSON types of a packet, field for field (lists by their items)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def scalars(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from scalars(v)
    elif isinstance(value, list):
        for v in value:
            yield from scalars(v)
    else:
        yield value


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE}/auth").mock(
            return_value=httpx.Response(200, json=golden("portal/auth.answer.json"))
        )
        yield router


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def connector(http: httpx.AsyncClient, profile: str) -> DvcqgConnector:
    config = DvcqgConfig(
        base_url=BASE,
        madonvi=MADONVI,
        profile=profile,
        read_retry_attempts=1,  # type: ignore[arg-type]
    )
    return DvcqgConnector(config, http)


def sent(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


# --- (a) what we send, against what the public sender sends --------------------------------


async def test_opencps_profile_sends_exactly_opencps_dongbohosomc(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    opencps = golden("opencps/DongBoHoSoMC.request.json")
    api = mock.post(f"{BASE}/api").mock(
        return_value=httpx.Response(200, json={"error_code": "0", "message": "Thành công"})
    )
    payloads = [golden("gateway/dossier-0007.json"), golden("gateway/dossier-0008.json")]

    outcomes = await connector(http, "opencps").deliver_batch("sync_dossier", payloads)

    assert all(not isinstance(o, Exception) for o in outcomes)
    [ours] = sent(api)
    # the same dossiers give the same packets, value for value (OpenCPS's third dossier has an
    # unmapped status, which a canonical dossier cannot have: it is read in (c) instead)
    assert ours["data"] == opencps["data"][:2]
    assert {k: v for k, v in ours.items() if k != "data"} == {
        "session": SESSION,
        "madonvi": MADONVI,
        "isUpdating": "False",
        "service": "DongBoHoSoMC",
    }
    assert [len(d) for d in ours["data"]] == [26, 26]
    assert {type(v) for v in scalars(ours)} == {str}
    assert api.calls[0].request.headers["dstcode"] == MADONVI


async def test_paseto_profile_sends_every_field_paseto_sends_as_strings(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    [paseto] = golden("paseto/HoSoDongBoDVC.json")
    opencps = golden("opencps/DongBoHoSoMC.request.json")["data"][0]
    api = mock.post(f"{BASE}/api").mock(
        return_value=httpx.Response(200, json={"error_code": "0", "message": "Thành công"})
    )

    await connector(http, "paseto").deliver("sync_dossier", golden("gateway/dossier-paseto.json"))

    [body] = sent(api)
    [ours] = body["data"]
    assert set(ours) == set(paseto)  # every field PASETO sends, none it does not
    assert set(opencps) <= set(ours)  # which includes OpenCPS's 26
    assert set(ours["TaiLieuNop"][0]) == set(paseto["TaiLieuNop"][0])
    assert set(ours["DanhSachLePhi"][0]) == set(paseto["DanhSachLePhi"][0])
    assert set(ours["DinhDanhCHS"][0]) == set(paseto["DinhDanhCHS"][0])
    assert ours["DSKetNoiCSDL"] == paseto["DSKetNoiCSDL"]
    # strings where PASETO has strings; "" where PASETO leaves a null
    assert {type(v) for v in scalars(ours)} == {str}
    for name, value in paseto.items():
        if value is None:
            assert ours[name] == "", name
        elif isinstance(value, str):
            assert ours[name] == value, name
    assert ours["TaiLieuNop"][0]["IsDeleted"] == "False"
    assert ours["DanhSachLePhi"] == paseto["DanhSachLePhi"]


async def test_steps_as_opencps_sends_them(http: httpx.AsyncClient, mock: respx.MockRouter) -> None:
    opencps = golden("opencps/CapNhatTienDoHoSoMC.request.json")
    api = mock.post(f"{BASE}/api").mock(
        return_value=httpx.Response(200, json={"error_code": "0", "message": "Thành công"})
    )
    for profile in PROFILES:
        api.calls.clear()
        await connector(http, profile).deliver("update_steps", golden("gateway/steps-0007.json"))
        [ours] = sent(api)
        assert ours["data"] == opencps["data"]
        assert shape(ours) == shape(opencps)


async def test_look_ups_as_opencps_sends_them(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    api = mock.post(f"{BASE}/api").mock(
        side_effect=[
            httpx.Response(200, json=golden("portal/TraCuuHoSo.answer.json")),
            httpx.Response(200, json=golden("portal/LayThuTuc.answer.json")),
        ]
    )
    dvcqg = connector(http, "paseto")
    await dvcqg.lookup_dossier("000.00.01.H22-240105-0007")
    await dvcqg.procedure("1.001776")
    tra_cuu, lay_thu_tuc = sent(api)
    assert tra_cuu == {**golden("opencps/TraCuuHoSo.request.json"), "session": SESSION}
    assert lay_thu_tuc == {**golden("opencps/LayThuTuc.request.json"), "session": SESSION}
    auth = mock.routes[0]
    assert json.loads(auth.calls[0].request.content) == golden("opencps/auth.request.json")


# --- (b) what the portal answers, read by our reader ---------------------------------------


async def test_lay_thu_tuc_nested_answer_is_read(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{BASE}/api").mock(
        return_value=httpx.Response(200, json=golden("portal/LayThuTuc.answer.json"))
    )

    detail = await connector(http, "paseto").procedure("1.001776")

    assert detail is not None
    assert (detail.ma_tthc, detail.ten_tthc) == ("1.001776", "Đăng ký khai sinh")
    assert [lv.ma for lv in detail.linh_vuc] == ["G03-HT01"]
    assert detail.trinh_tu[0].truong_hop == "Đăng ký khai sinh đúng hạn"
    assert len(detail.trinh_tu[0].buoc) == 3
    assert [c.kenh for c in detail.cach_thuc] == [KenhThucHien.truc_tiep, KenhThucHien.truc_tuyen]
    limit = detail.cach_thuc[0].thoi_gian[0]
    assert (limit.thoi_gian_giai_quyet, limit.don_vi_tinh) == (1, "Ngày làm việc")
    assert limit.phi_le_phi[0].so_tien == 0
    papers = detail.thanh_phan_ho_so[0].giay_to
    assert [(g.ma, g.ten_mau_don) for g in papers] == [
        ("GT01", "ToKhaiDangKyKhaiSinh.docx"),
        ("GT02", None),
    ]
    assert [v.so for v in detail.can_cu_phap_ly] == ["60/2014/QH13", "123/2015/NĐ-CP"]
    assert detail.co_quan_thuc_hien[0].ten == "Ủy ban nhân dân cấp xã"
    assert detail.ket_qua_thuc_hien[0].ten == "Giấy khai sinh"
    assert detail.doi_tuong_thuc_hien == ["Công dân Việt Nam"]
    assert detail.cong_khai is True


async def test_tra_cuu_ho_so_answer_is_read(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{BASE}/api").mock(
        return_value=httpx.Response(200, json=golden("portal/TraCuuHoSo.answer.json"))
    )

    found = await connector(http, "paseto").lookup_dossier("000.00.01.H22-240105-0009")

    assert found is not None
    dossier, steps = found
    assert dossier.ma_ho_so == "000.00.01.H22-240105-0009"
    assert dossier.trang_thai is None  # OpenCPS's unmapped status ""
    assert dossier.ngay_hen_tra is None  # no due date
    assert dossier.email is None
    assert dossier.ngay_tiep_nhan is not None
    assert dossier.ngay_tiep_nhan.isoformat() == "2024-01-05T10:00:00+07:00"
    assert len(steps) == 1
    assert (steps[0].thoi_diem_xu_ly, steps[0].trang_thai) == (None, None)


async def test_catalogue_and_code_lists_are_read(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    share = mock.post(f"{BASE}/share").mock(
        side_effect=[
            httpx.Response(200, json=golden("portal/LayDanhSachTTHC.answer.json")),
            httpx.Response(200, json=golden("portal/LayDanhMucCoQuan.answer.json")),
            httpx.Response(200, json=golden("portal/LayDanhMucLinhVuc.answer.json")),
        ]
    )
    dvcqg = connector(http, "opencps")

    await dvcqg.catalogue.refresh()
    entry = await dvcqg.catalogue.ensure_known("1.001612")
    agencies = await dvcqg.client.lay_danh_muc_co_quan()
    fields = await dvcqg.client.lay_danh_muc_linh_vuc()

    assert (entry.ten_tthc, entry.ma_linh_vuc) == ("Đăng ký thành lập hộ kinh doanh", None)
    assert [(a.MADONVI, a.CAPDONVI) for a in agencies] == [
        ("000.00.00.H22", 1),
        ("000.00.01.H22", 2),
    ]
    assert [f.MALINHVUC for f in fields] == ["G03-HT01", "G09-KH04"]
    assert share.call_count == 3


async def test_success_saying_exists_is_resent_as_update(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    api = mock.post(f"{BASE}/api").mock(
        side_effect=[
            httpx.Response(200, json=golden("portal/DongBoHoSoMC.exists.answer.json")),
            httpx.Response(200, json={"error_code": "0", "message": "Cập nhật thành công"}),
        ]
    )
    await connector(http, "paseto").deliver("sync_dossier", golden("gateway/dossier-paseto.json"))
    assert [b["isUpdating"] for b in sent(api)] == ["False", "True"]


# --- (c) the public senders' packets, accepted by our simulator and our wire model ---------


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[httpx.AsyncClient, DvcqgSimulator]]:
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as client:
        yield client, get_simulator(app)


async def login(client: httpx.AsyncClient) -> str:
    answer = await client.post(
        "/auth", json=golden("opencps/auth.request.json"), headers={"dstcode": MADONVI}
    )
    session: str = answer.json()["session"]
    return session


async def post(
    client: httpx.AsyncClient, packet: dict[str, Any], session: str, path: str = "/api"
) -> dict[str, Any]:
    answer = await client.post(
        path, json={**packet, "session": session}, headers={"dstcode": MADONVI}
    )
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


async def test_opencps_packets_are_accepted_by_the_simulator_as_built(
    sandbox: tuple[httpx.AsyncClient, DvcqgSimulator],
) -> None:
    client, sim = sandbox
    session = await login(client)
    opencps = golden("opencps/DongBoHoSoMC.request.json")

    assert (await post(client, opencps, session))["error_code"] == "0"
    steps = golden("opencps/CapNhatTienDoHoSoMC.request.json")
    assert (await post(client, steps, session))["error_code"] == "0"

    assert sorted(sim.dossiers) == [d["MaHoSo"] for d in opencps["data"]]
    unmapped = sim.dossiers["000.00.01.H22-240105-0009"]
    assert unmapped.history == [None]
    assert unmapped.current["NgayHenTra"] is None
    assert unmapped.received == opencps["data"][2]
    assert sim.dossiers["000.00.01.H22-240105-0007"].steps[0]["TrangThai"] == 2
    # the look-ups as OpenCPS sends them, answered as OpenCPS reads them
    found = await post(client, golden("opencps/TraCuuHoSo.request.json"), session)
    assert found["result"][0]["MaHoSo"] == "000.00.01.H22-240105-0007"
    procedure = await post(client, golden("opencps/LayThuTuc.request.json"), session)
    assert procedure["result"][0]["LINHVUCTHUCHIEN"][0]["MALINHVUC"] == "G03-HT01"


async def test_opencps_packets_are_accepted_by_our_wire_model_on_read() -> None:
    for packet in golden("opencps/DongBoHoSoMC.request.json")["data"]:
        read = wire.HoSoTraCuu.model_validate(packet)
        assert read.MaHoSo == packet["MaHoSo"]
        assert read.MaDoiTuong == packet["MaDoiTuong"]
    unmapped = wire.HoSoTraCuu.model_validate(
        golden("opencps/DongBoHoSoMC.request.json")["data"][2]
    )
    assert (unmapped.TrangThaiHoSo, unmapped.NgayHenTra, unmapped.NgayTra) == (None, None, None)
    for step in golden("opencps/CapNhatTienDoHoSoMC.request.json")["data"]:
        assert wire.QuaTrinhXuLyTraCuu.model_validate(step).TrangThai == 2


async def test_paseto_packets_are_accepted_by_the_simulator_and_our_wire_model(
    sandbox: tuple[httpx.AsyncClient, DvcqgSimulator],
) -> None:
    client, sim = sandbox
    session = await login(client)
    # PASETO posts the bare list to its own relay (URLThemMoi); the portal's envelope is
    # OpenCPS's, so the packets travel in it here
    dossiers = golden("paseto/HoSoDongBoDVC.json")
    envelope = {"madonvi": MADONVI, "isUpdating": "False", "service": "DongBoHoSoMC"}
    assert (await post(client, {**envelope, "data": dossiers}, session))["error_code"] == "0"
    steps = golden("paseto/QuaTrinhXuLyDongBoDVC.json")
    envelope = {"madonvi": MADONVI, "service": "CapNhatTienDoHoSoMC"}
    assert (await post(client, {**envelope, "data": steps}, session))["error_code"] == "0"

    record = sim.dossiers["000.00.01.H22-240105-10482"]
    assert record.current["DuocThanhToanTrucTuyen"] == 1
    assert record.current["NgayTra"] is None
    [packet] = dossiers
    read = wire.HoSoTraCuu.model_validate(packet)
    assert (read.KenhThucHien, read.HoSoCoThanhPhanSoHoa, read.NgayTra) == (2, True, None)
    assert read.TaiLieuNop[0].TepDinhKemId == ""
    assert read.DanhSachLePhi[0].Gia == 8000
    assert read.DSKetNoiCSDL[0].MaCSDL == "7"


async def test_the_simulator_and_our_reader_agree_on_an_opencps_dossier(
    sandbox: tuple[httpx.AsyncClient, DvcqgSimulator],
) -> None:
    client, _ = sandbox
    session = await login(client)
    await post(client, golden("opencps/DongBoHoSoMC.request.json"), session)
    transport = client._transport
    async with httpx.AsyncClient(transport=transport) as http:
        dvcqg = DvcqgConnector(DvcqgConfig(base_url=SANDBOX), http)
        found = await dvcqg.lookup_dossier("000.00.01.H22-240105-0008")
        assert found is not None
        dossier, _ = found
        # OpenCPS's dossier, stored by the simulator, read back by the gateway: it is the
        # canonical dossier the same packet comes from (the opencps profile's fields)
        ours = HoSo.model_validate(golden("gateway/dossier-0008.json"))
        assert dossier.trang_thai is TrangThaiHoSo.dang_xu_ly
        assert dossier.ngay_hen_tra is None
        # the canonical fields of OpenCPS's 26 (the newer ones are not in its packet)
        opencps_fields = set(HoSo.model_fields) - {
            "kenh_thuc_hien",
            "so_giay_to_chu_ho_so",
            "so_bien_nhan",
            "ghi_chu",
            "noi_nop_ho_so",
            "co_thanh_phan_so_hoa",
            "xac_thuc_vneid",
            "thanh_toan_truc_tuyen",
            "ngay_tu_choi",
            "ngay_nop_ho_so",
            "dinh_danh_chu_ho_so",
            "ket_noi_csdl",
        }
        assert {k: v for k, v in dossier.model_dump().items() if k in opencps_fields} == {
            k: v for k, v in ours.model_dump().items() if k in opencps_fields
        }
