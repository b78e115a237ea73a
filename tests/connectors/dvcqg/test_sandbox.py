"""The DVCQG simulator behaves like the platform as public senders see it (OpenCPS rc-3.0
``DVCQGIntegrationActionImpl.java``, PASETO ``SyncLocalDataToDVCQGService.cs``), and its faults
happen as configured."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from connectors.dvcqg.sandbox import (
    MAX_BODY_BYTES,
    DvcqgSimulator,
    SimulatedConnectionDrop,
    create_app,
    get_simulator,
)
from schemas.dvcqg import HoSoTraCuu, LayThuTucAnswer, TraCuuHoSoAnswer

AGENCY = "000.00.01.H22"
MA_HO_SO = "000.00.01.H22-240105-0007"


def packet(**overrides: Any) -> dict[str, Any]:
    """A dossier packet the way OpenCPS's builder makes it: every scalar a string."""
    value: dict[str, Any] = {
        "MaHoSo": MA_HO_SO,
        "MaTTHC": "1.001776",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "G03-HT01",
        "TenLinhVuc": "Hộ tịch",
        "ChuHoSo": "Nguyễn Văn An",
        "LoaiDoiTuong": "1",
        "MaDoiTuong": "",
        "ThongTinKhac": "",
        "Email": "",
        "Fax": "0912345678",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Đăng ký khai sinh cho con",
        "NgayTiepNhan": "20240105083000",
        "NgayHenTra": "20240105163000",
        "TrangThaiHoSo": "2",
        "NgayTra": "",
        "ThongTinTra": "",
        "HinhThuc": "0",
        "NgayKetThucXuLy": "",
        "DonViXuLy": "UBND phường Phú Hội",
        "DanhSachLePhi": [],
        "DanhSachTepDinhKemKhac": [],
        "DanhSachHoSoBoSung": [],
        "DanhSachGiayToKetQua": [],
        "TaiLieuNop": [],
    }
    value.update(overrides)
    return value


def step(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "MaHoSo": MA_HO_SO,
        "NguoiXuLy": "Trần Thị Bình",
        "ChucDanh": "",
        "ThoiDiemXuLy": "20240105090000",
        "PhongBanXuLy": "Bộ phận Một cửa",
        "NoiDungXuLy": "Tiếp nhận hồ sơ",
        "TrangThai": "2",
        "NgayBatDau": "",
        "NgayKetThucTheoQuyDinh": "",
    }
    value.update(overrides)
    return value


SHARED = {"LayDanhSachTTHC", "LayDanhMucCoQuan", "LayDanhMucLinhVuc"}


class Platform:
    """A small client of the simulator, the way a connector would call it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.session = ""

    async def login(self) -> str:
        answer = await self.client.post(
            "/auth",
            json={"username": "lgsp-sandbox", "password": "sandbox-secret"},
            headers={"dstcode": AGENCY},
        )
        self.session = answer.json()["session"]
        return self.session

    def body(self, service: str, **fields: Any) -> dict[str, Any]:
        return {"session": self.session, "madonvi": AGENCY, "service": service, **fields}

    async def call(self, service: str, **fields: Any) -> httpx.Response:
        # as OpenCPS: the lists to the share endpoint, the rest to the integration endpoint
        path = "/share" if service in SHARED else "/api"
        return await self.client.post(
            path, json=self.body(service, **fields), headers={"dstcode": AGENCY}
        )

    async def sync(self, *packets: dict[str, Any], updating: bool = False) -> dict[str, Any]:
        flag = "True" if updating else "False"
        answer = await self.call("DongBoHoSoMC", isUpdating=flag, data=list(packets))
        assert answer.status_code == 200
        result: dict[str, Any] = answer.json()
        return result


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(seed=7)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield http


@pytest.fixture
async def platform(client: httpx.AsyncClient) -> Platform:
    platform = Platform(client)
    await platform.login()
    return platform


def sim_of(client: httpx.AsyncClient) -> DvcqgSimulator:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    return transport.app.state.sim  # type: ignore[attr-defined, no-any-return]


async def set_faults(client: httpx.AsyncClient, **faults: Any) -> dict[str, Any]:
    answer = await client.put("/_sandbox/faults", json=faults)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_auth_ok_and_bad(client: httpx.AsyncClient) -> None:
    good = await client.post(
        "/auth", json={"username": "lgsp-sandbox", "password": "sandbox-secret"}
    )
    assert good.status_code == 200
    assert good.json()["error_code"] == 0
    assert good.json()["session"] in sim_of(client).sessions
    bad = await client.post("/auth", json={"username": "lgsp-sandbox", "password": "wrong"})
    assert bad.status_code == 200
    assert bad.json() == {"error_code": 100, "message": "Sai thông tin xác thực"}


async def test_unknown_session_is_refused(platform: Platform) -> None:
    platform.session = "not-a-session"
    answer = await platform.call("LayDanhSachTTHC")
    assert answer.json()["error_code"] == "100"


async def test_expire_sessions_fault_invalidates_sessions(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    assert (await platform.call("LayDanhSachTTHC")).json()["error_code"] == "0"
    stored = await set_faults(client, expire_sessions=True)
    assert stored["expire_sessions"] is False
    assert (await platform.call("LayDanhSachTTHC")).json()["error_code"] == "100"
    await platform.login()
    assert (await platform.call("LayDanhSachTTHC")).json()["error_code"] == "0"


async def test_session_expires_after_ttl(client: httpx.AsyncClient) -> None:
    sim = sim_of(client)
    now = [1000.0]
    sim.clock = lambda: now[0]
    platform = Platform(client)
    await platform.login()
    now[0] += sim.session_ttl_seconds - 1
    assert (await platform.call("LayDanhSachTTHC")).json()["error_code"] == "0"
    now[0] += 2
    assert (await platform.call("LayDanhSachTTHC")).json()["error_code"] == "100"


async def test_create_twice_answers_exists_and_applies_nothing(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    assert await platform.sync(packet()) == {"error_code": "0", "message": "Thành công"}
    other = packet(MaHoSo="000.00.01.H22-240105-0008")
    again = await platform.sync(other, packet(TrangThaiHoSo="4"))
    assert again["error_code"] == "-3"
    assert MA_HO_SO in again["message"]
    dossiers = (await client.get("/_sandbox/dossiers")).json()
    assert list(dossiers) == [MA_HO_SO]  # all-or-nothing: the new one was not created
    assert dossiers[MA_HO_SO]["history"] == [2]


async def test_update_applies_and_identical_update_is_a_duplicate(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    await platform.sync(packet())
    assert (await platform.sync(packet(TrangThaiHoSo="4"), updating=True))["error_code"] == "0"
    # the same version with numbers instead of strings reads the same: a duplicate
    assert (await platform.sync(packet(TrangThaiHoSo=4), updating=True))["error_code"] == "0"
    record = (await client.get(f"/_sandbox/dossiers/{MA_HO_SO}")).json()
    assert record["history"] == [2, 4]
    assert record["versions"] == 2
    assert record["current"]["TrangThaiHoSo"] == 4
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["applied"] == 2
    assert stats["duplicates"] == 1
    assert stats["by_service"] == {"DongBoHoSoMC": 3}


async def test_steps_are_deduplicated(platform: Platform, client: httpx.AsyncClient) -> None:
    await platform.sync(packet())
    second = step(ThoiDiemXuLy="20240105100000", NoiDungXuLy="Chuyển xử lý", TrangThai="4")
    first_answer = await platform.call("CapNhatTienDoHoSoMC", data=[step(), second])
    assert first_answer.json()["error_code"] == "0"
    again = await platform.call("CapNhatTienDoHoSoMC", data=[step()])
    assert again.json()["error_code"] == "0"
    record = (await client.get(f"/_sandbox/dossiers/{MA_HO_SO}")).json()
    assert [s["NoiDungXuLy"] for s in record["steps"]] == ["Tiếp nhận hồ sơ", "Chuyển xử lý"]
    assert (await client.get("/_sandbox/stats")).json()["duplicates"] == 1
    unknown = await platform.call(
        "CapNhatTienDoHoSoMC", data=[step(MaHoSo="000.00.01.H22-240105-0099")]
    )
    assert unknown.json()["error_code"] == "201"


async def test_lookup(platform: Platform) -> None:
    # OpenCPS rc-3.0 lines 2134-2139: "unknown" is an empty result list
    missing = await platform.call("TraCuuHoSo", mahoso=MA_HO_SO)
    assert missing.json() == {"error_code": "0", "message": "Thành công", "result": []}
    await platform.sync(packet())
    await platform.call("CapNhatTienDoHoSoMC", data=[step()])
    raw = (await platform.call("TraCuuHoSo", mahoso=MA_HO_SO)).json()
    assert isinstance(raw["result"], list)
    assert raw["result"][0]["TrangThaiHoSo"] == "2"  # what was received, as it came
    found = TraCuuHoSoAnswer.model_validate(raw)
    assert found.error_code == "0"
    assert found.result[0].TrichYeuHoSo == "Đăng ký khai sinh cho con"
    assert [s.NoiDungXuLy for s in found.result[0].QuaTrinhXuLy] == ["Tiếp nhận hồ sơ"]
    # the upper-case parameter is not the portal's: refused naming the one it wants
    wrong = (await platform.call("TraCuuHoSo", MaHoSo=MA_HO_SO)).json()
    assert wrong["error_code"] == "500"
    assert wrong["message"].startswith("mahoso: ")


async def test_catalogue(platform: Platform) -> None:
    listing = (await platform.call("LayDanhSachTTHC")).json()
    assert listing["error_code"] == "0"
    codes = {entry["MATTHC"] for entry in listing["result"]}
    assert "1.001776" in codes
    assert len(codes) >= 15
    raw = (await platform.call("LayThuTuc", maTTHC="1.001776")).json()
    assert isinstance(raw["result"], list)  # OpenCPS reads result[0], lines 172-176
    procedure = LayThuTucAnswer.model_validate(raw)
    detail = procedure.result[0]
    assert detail.TENTTHC == "Đăng ký khai sinh"
    assert detail.LINHVUCTHUCHIEN[0].TENLINHVUC == "Hộ tịch"
    # the nested answer OpenCPS's syncServiceInfo reads (lines 2713-3011)
    assert detail.TRINHTUTHUCHIEN[0].TRINHTU[0].TENTRINHTU
    assert detail.CACHTHUCTHUCHIEN[0].THOIGIAN[0].THOIGIANGIAIQUYET is not None
    assert detail.THANHPHANHOSO[0].GIAYTO[0].MAGIAYTO
    assert detail.CANCUPHAPLY[0].TENVANBAN
    assert detail.KETQUATHUCHIEN[0].TENKETQUA == "Giấy khai sinh"
    unknown = (await platform.call("LayThuTuc", maTTHC="1.999999")).json()
    assert unknown["result"] == []
    # LayThuTuc is served on the share endpoint too; the lists only there
    shared = await platform.client.post(
        "/share",
        json=platform.body("LayThuTuc", maTTHC="1.001776"),
        headers={"dstcode": AGENCY},
    )
    assert shared.json()["result"][0]["MATTHC"] == "1.001776"
    on_api = await platform.client.post(
        "/api", json=platform.body("LayDanhSachTTHC"), headers={"dstcode": AGENCY}
    )
    assert on_api.json()["error_code"] == "500"


async def test_code_lists(platform: Platform) -> None:
    agencies = (await platform.call("LayDanhMucCoQuan")).json()["result"]
    assert {"MADONVI", "TENDONVI", "CAPDONVI"} <= set(agencies[0])
    fields = (await platform.call("LayDanhMucLinhVuc")).json()["result"]
    assert {"MALINHVUC": "G03-HT01", "TENLINHVUC": "Hộ tịch"} in fields


async def test_every_call_needs_the_dstcode_header(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    for path, service in (("/api", "DongBoHoSoMC"), ("/share", "LayDanhSachTTHC")):
        answer = await client.post(path, json=platform.body(service))
        assert answer.status_code == 400
        assert "dstcode" in answer.json()["message"]
    await platform.sync(packet())
    assert (await client.get("/_sandbox/stats")).json()["dstcodes"][AGENCY] >= 2
    assert sim_of(client).dossiers[MA_HO_SO].history == [2]


async def test_an_opencps_packet_is_accepted_as_it_is_built(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    # OpenCPS rc-3.0 lines 350-503: strings, "" for no due date and an unmapped status
    raw = packet(NgayHenTra="", TrangThaiHoSo="", Email=None)
    assert (await platform.sync(raw))["error_code"] == "0"
    record = (await client.get(f"/_sandbox/dossiers/{MA_HO_SO}")).json()
    assert record["received"] == raw
    assert record["current"]["NgayHenTra"] is None
    assert record["history"] == [None]
    # and what the portal gives back is read by the gateway's own reader
    back = (await platform.call("TraCuuHoSo", mahoso=MA_HO_SO)).json()["result"][0]
    assert HoSoTraCuu.model_validate(back).NgayHenTra is None


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"MaHoSo": None}, "data[0].MaHoSo"),
        ({"MaHoSo": "H22-240105-0007"}, "data[0].MaHoSo"),
        ({"NgayTiepNhan": "2024-01-05"}, "data[0].NgayTiepNhan"),
        ({"TrangThaiHoSo": "mới"}, "data[0].TrangThaiHoSo"),
    ],
)
async def test_what_the_portal_refuses(
    platform: Platform, overrides: dict[str, Any], path: str
) -> None:
    answer = await platform.sync(packet(**overrides))
    assert answer["error_code"] == "500"
    assert answer["message"].startswith(f"{path}: ")


async def test_five_digit_counters_and_paseto_fields_are_accepted(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    code = "000.00.01.H22-240105-12345"  # PASETO SyncLocalDataToDVCQGService.cs line 219
    raw = packet(
        MaHoSo=code,
        MaTTHC="2.000477.H56",
        KenhThucHien="2",
        DuocThanhToanTrucTuyen="3",
        DinhDanhCHS=[{"LoaiDinhDanh": "1", "SoDinhDanh": "001090012345"}],
        DSKetNoiCSDL=[{"MaCSDL": "7"}],
    )
    assert (await platform.sync(raw))["error_code"] == "0"
    current = sim_of(client).dossiers[code].current
    assert (current["KenhThucHien"], current["DuocThanhToanTrucTuyen"]) == (2, 3)


@pytest.mark.parametrize("code", ["3", "0"])
async def test_the_exists_answer_is_configurable(
    platform: Platform, client: httpx.AsyncClient, code: str
) -> None:
    await set_faults(client, exists_code=code)
    await platform.sync(packet())
    again = await platform.sync(packet())
    assert again["error_code"] == code
    assert "đã tồn tại" in again["message"]


async def test_invalid_packet_names_the_field(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    answer = await platform.sync(packet(NgayTiepNhan="20240230120000"))
    assert answer["error_code"] == "500"
    assert answer["message"].startswith("data[0].NgayTiepNhan: ")
    unknown_procedure = await platform.sync(packet(MaTTHC="1.999999"))
    assert unknown_procedure["error_code"] == "500"
    assert "MaTTHC" in unknown_procedure["message"]
    unknown_service = await platform.call("XoaHoSo")
    assert unknown_service.json()["error_code"] == "500"
    assert (await client.get("/_sandbox/dossiers")).json() == {}
    assert (await client.get("/_sandbox/stats")).json()["rejected"] == 3


async def test_body_is_bounded(platform: Platform, client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api",
        content=b"x" * (MAX_BODY_BYTES + 1),
        headers={"content-type": "application/json", "dstcode": AGENCY},
    )
    assert answer.status_code == 413


async def test_503_fault_comes_before_processing(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    await set_faults(client, error_rate=1.0)
    answer = await platform.call("DongBoHoSoMC", isUpdating="False", data=[packet()])
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert sim_of(client).dossiers == {}
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["faults_injected"] == 1
    assert stats["received"] == 1


async def test_500_fault_comes_before_processing(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    await set_faults(client, http_500_rate=1.0)
    answer = await platform.call("DongBoHoSoMC", isUpdating="False", data=[packet()])
    assert answer.status_code == 500
    assert sim_of(client).dossiers == {}
    # faults apply to the integration and share endpoints only
    assert (await client.get("/_sandbox/stats")).status_code == 200
    assert await platform.login()


async def test_malformed_fault_applies_then_garbles(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    await set_faults(client, malformed_rate=1.0, seed=3)
    for index in range(6):
        code = f"000.00.01.H22-240105-{index:04d}"
        answer = await platform.call("DongBoHoSoMC", isUpdating="False", data=[packet(MaHoSo=code)])
        assert answer.status_code == 200
        try:
            parsed = json.loads(answer.content)
        except ValueError:
            continue
        assert not (isinstance(parsed, dict) and "error_code" in parsed)
    assert len(sim_of(client).dossiers) == 6
    assert (await client.get("/_sandbox/stats")).json()["faults_injected"] == 6


async def test_timeout_fault_answers_late_after_applying(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    await set_faults(client, timeout_rate=1.0, timeout_seconds=0.2)
    started = time.monotonic()
    answer = await platform.sync(packet())
    assert time.monotonic() - started >= 0.2
    assert answer["error_code"] == "0"
    assert MA_HO_SO in sim_of(client).dossiers


async def test_drop_under_asgi_transport_raises_the_app_exception(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    await set_faults(client, drop_rate=1.0)
    with pytest.raises(SimulatedConnectionDrop):
        await platform.sync(packet())
    assert MA_HO_SO in sim_of(client).dossiers


async def test_fault_rates_are_validated(client: httpx.AsyncClient) -> None:
    assert (await client.put("/_sandbox/faults", json={"error_rate": 1.5})).status_code == 422
    assert (await client.put("/_sandbox/faults", json={"bogus": 1})).status_code == 422
    assert (await client.get("/_sandbox/faults")).json()["error_rate"] == 0


async def test_fault_draws_are_reproducible() -> None:
    def draws(seed: int) -> list[bool]:
        sim = DvcqgSimulator(username="u", password="p", seed=seed)
        return [sim.roll(0.5) for _ in range(40)]

    assert draws(11) == draws(11)
    assert any(draws(11))
    assert not all(draws(11))


async def test_reset_clears_everything(platform: Platform, client: httpx.AsyncClient) -> None:
    await platform.sync(packet())
    await set_faults(client, error_rate=0.5)
    assert (await client.post("/_sandbox/reset")).status_code == 200
    assert (await client.get("/_sandbox/dossiers")).json() == {}
    assert (await client.get(f"/_sandbox/dossiers/{MA_HO_SO}")).status_code == 404
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats == {
        "received": 0,
        "applied": 0,
        "duplicates": 0,
        "rejected": 0,
        "faults_injected": 0,
        "by_service": {},
        "by_endpoint": {},
        "dstcodes": {},
    }
    assert (await client.get("/_sandbox/faults")).json()["error_rate"] == 0
    assert (await platform.call("LayDanhSachTTHC")).json()["error_code"] == "100"


# --- under a real server: the dropped connection ---------------------------------------------


@pytest.fixture
async def live_server() -> AsyncIterator[tuple[str, DvcqgSimulator]]:
    app = create_app(seed=1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,  # leave the process's logging set-up alone (other tests rely on it)
        log_level="critical",
        lifespan="off",
        ws="none",
        http="h11",
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}", get_simulator(app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()


async def test_drop_loses_the_answer_but_applies_the_packet(
    live_server: tuple[str, DvcqgSimulator],
) -> None:
    base_url, sim = live_server
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        platform = Platform(http)
        await platform.login()
        await set_faults(http, drop_rate=1.0)
        with pytest.raises(httpx.RemoteProtocolError):
            await platform.sync(packet())
        assert MA_HO_SO in sim.dossiers
        assert sim.dossiers[MA_HO_SO].history == [2]
        # the resend, with the fault off, is a duplicate: exactly once in effect
        await set_faults(http)
        assert (await platform.sync(packet(), updating=True))["error_code"] == "0"
        assert sim.dossiers[MA_HO_SO].history == [2]
        assert sim.stats.duplicates == 1
        assert sim.stats.faults_injected == 1
