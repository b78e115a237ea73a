"""The DVCQG client against a mocked adapter (respx): sessions, codes, retries, redaction."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from tenacity import wait_none

from connectors.dvcqg.client import DvcqgClient
from connectors.dvcqg.config import DvcqgConfig
from gateway.core.errors import (
    GatewayError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from schemas import dvcqg as wire

BASE = "http://dvcqg.test/dvcqg"
AUTH_URL = f"{BASE}/auth"
API_URL = f"{BASE}/api"
SHARE_URL = f"{BASE}/share"
PASSWORD = "p@ss-Wörd-7731"
SESSION = "sess-4c1d9e0b"
MADONVI = "000.00.01.H22"
MA_HO_SO = "000.00.01.H22-240105-0007"

OK = {"error_code": "0", "message": "Thành công"}


def ho_so_packet(**overrides: Any) -> wire.HoSoMC:
    """A dossier packet as the opencps profile sends it: every scalar a string."""
    data: dict[str, Any] = {
        "MaHoSo": MA_HO_SO,
        "MaTTHC": "1.001776",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "G03-GD09",
        "TenLinhVuc": "Hộ tịch",
        "ChuHoSo": "Nguyễn Văn An",
        "LoaiDoiTuong": "1",
        "MaDoiTuong": "",
        "ThongTinKhac": "",
        "Email": "",
        "Fax": "",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Đăng ký khai sinh",
        "NgayTiepNhan": "20240105083000",
        "NgayHenTra": "20240112170000",
        "TrangThaiHoSo": "2",
        "NgayTra": "",
        "ThongTinTra": "",
        "HinhThuc": "0",
        "NgayKetThucXuLy": "",
        "DonViXuLy": "UBND xã A",
        "DanhSachLePhi": [],
        "DanhSachTepDinhKemKhac": [],
        "DanhSachHoSoBoSung": [],
        "DanhSachGiayToKetQua": [],
        "TaiLieuNop": [],
    }
    data.update(overrides)
    return wire.HoSoMC.model_validate(data)


def step_packet(i: int) -> wire.QuaTrinhXuLy:
    return wire.QuaTrinhXuLy(
        MaHoSo=MA_HO_SO,
        NguoiXuLy="Cán bộ B",
        ChucDanh="",
        ThoiDiemXuLy=f"2024010509{i % 60:02d}00",
        PhongBanXuLy="Tư pháp",
        NoiDungXuLy=f"bước {i}",
        TrangThai="4",
        NgayBatDau="",
        NgayKetThucTheoQuyDinh="",
    )


def body(request: httpx.Request) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(request.content)
    return parsed


def auth_ok(session: str = SESSION) -> httpx.Response:
    return httpx.Response(200, json={"session": session, "error_code": 0, "message": "OK"})


@pytest.fixture
def config() -> DvcqgConfig:
    return DvcqgConfig(base_url=BASE, password=SecretStr(PASSWORD), madonvi=MADONVI)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def client(config: DvcqgConfig, http: httpx.AsyncClient) -> DvcqgClient:
    return DvcqgClient(config, http, read_retry_wait=wait_none())


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


# --- sessions -------------------------------------------------------------------------------


async def test_session_is_opened_once_and_reused(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    auth = mock.post(AUTH_URL).mock(return_value=auth_ok())
    share = mock.post(SHARE_URL).mock(return_value=httpx.Response(200, json={**OK, "result": []}))

    await client.lay_danh_sach_tthc()
    await client.lay_danh_sach_tthc()

    assert auth.call_count == 1
    # OpenCPS rc-3.0 DVCQGIntegrationActionImpl.java 1272-1274: the unit's code as dstcode
    assert auth.calls[0].request.headers["dstcode"] == MADONVI
    assert body(auth.calls[0].request) == {"username": "lgsp-sandbox", "password": PASSWORD}
    assert share.call_count == 2
    for call in share.calls:
        sent = body(call.request)
        assert call.request.headers["dstcode"] == MADONVI
        assert sent["session"] == SESSION
        assert sent["madonvi"] == MADONVI
        assert sent["service"] == "LayDanhSachTTHC"


async def test_concurrent_callers_authenticate_once(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    async def slow_auth(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return auth_ok()

    auth = mock.post(AUTH_URL).mock(side_effect=slow_auth)
    mock.post(SHARE_URL).mock(return_value=httpx.Response(200, json={**OK, "result": []}))

    await asyncio.gather(*(client.lay_danh_sach_tthc() for _ in range(5)))

    assert auth.call_count == 1


async def test_code_100_reauthenticates_once_then_succeeds(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    auth = mock.post(AUTH_URL).mock(side_effect=[auth_ok("old-session"), auth_ok("new-session")])
    api = mock.post(API_URL).mock(
        side_effect=[
            httpx.Response(200, json={"error_code": "100", "message": "Phiên hết hạn"}),
            httpx.Response(200, json=OK),
        ]
    )

    answer = await client.dong_bo_ho_so([ho_so_packet()])

    assert answer.error_code == "0"
    assert auth.call_count == 2
    assert [body(c.request)["session"] for c in api.calls] == ["old-session", "new-session"]


async def test_code_100_twice_is_an_auth_error(client: DvcqgClient, mock: respx.MockRouter) -> None:
    auth = mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(
        return_value=httpx.Response(200, json={"error_code": "100", "message": "Phiên hết hạn"})
    )

    with pytest.raises(UpstreamAuthError) as info:
        await client.dong_bo_ho_so([ho_so_packet()])

    assert info.value.code == "100"
    assert auth.call_count == 2
    assert api.call_count == 2


async def test_wrong_credentials_raise_auth_error(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    auth = mock.post(AUTH_URL).mock(
        return_value=httpx.Response(200, json={"error_code": 100, "message": "Sai thông tin"})
    )
    api = mock.post(API_URL)

    with pytest.raises(UpstreamAuthError) as info:
        await client.lay_danh_sach_tthc()

    assert auth.call_count == 1  # refused credentials are not retried
    assert not api.called
    assert PASSWORD not in str(info.value)


async def test_auth_answer_without_session_is_invalid(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    mock.post(AUTH_URL).mock(return_value=httpx.Response(200, json={"error_code": "0"}))

    with pytest.raises(InvalidUpstreamAnswer) as info:
        await client.authenticate()

    assert [e.loc for e in info.value.errors] == ["session"]


# --- business codes -------------------------------------------------------------------------


@pytest.mark.parametrize("exists_code", ["-3", "3"])
async def test_existing_dossier_is_resent_as_update(
    client: DvcqgClient, mock: respx.MockRouter, exists_code: str
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(
        side_effect=[
            httpx.Response(200, json={"error_code": exists_code, "message": "Hồ sơ đã tồn tại"}),
            httpx.Response(200, json=OK),
        ]
    )

    answer = await client.dong_bo_ho_so([ho_so_packet()])

    assert answer.error_code == "0"
    first, second = (body(c.request) for c in api.calls)
    assert first["service"] == second["service"] == "DongBoHoSoMC"
    # OpenCPS rc-3.0 lines 2361-2365: isUpdating is the string "True" / "False"
    assert first["isUpdating"] == "False"
    assert second["isUpdating"] == "True"
    assert second["data"] == first["data"]
    assert second["data"][0]["MaHoSo"] == MA_HO_SO


@pytest.mark.parametrize(
    "message", ["Hồ sơ 000.00.01.H22-240105-0007 đã tồn tại", "HỒ SƠ ĐÃ TỒN TẠI"]
)
async def test_success_code_saying_exists_is_resent_as_update(
    client: DvcqgClient, mock: respx.MockRouter, message: str
) -> None:
    # PASETO SyncLocalDataToDVCQGService.cs lines 498-503: "0" + "đã tồn tại" is "exists"
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(
        side_effect=[
            httpx.Response(200, json={"error_code": "0", "message": message}),
            httpx.Response(200, json=OK),
        ]
    )

    await client.dong_bo_ho_so([ho_so_packet()])

    assert [body(c.request)["isUpdating"] for c in api.calls] == ["False", "True"]


async def test_an_update_answered_exists_with_success_is_a_success(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(
        return_value=httpx.Response(200, json={"error_code": "0", "message": "Hồ sơ đã tồn tại"})
    )

    await client.dong_bo_ho_so([ho_so_packet()], updating=True)

    assert api.call_count == 1


async def test_a_known_dossier_goes_out_as_an_update_in_one_call(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(return_value=httpx.Response(200, json=OK))

    await client.dong_bo_ho_so([ho_so_packet()], updating=True)

    assert api.call_count == 1
    assert body(api.calls[0].request)["isUpdating"] == "True"


async def test_an_update_the_portal_cannot_match_is_resent_as_a_creation(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(
        side_effect=[
            httpx.Response(200, json={"error_code": "201", "message": "Không tìm thấy hồ sơ"}),
            httpx.Response(200, json=OK),
        ]
    )

    answer = await client.dong_bo_ho_so([ho_so_packet()], updating=True)

    assert answer.error_code == "0"
    first, second = (body(c.request) for c in api.calls)
    assert (first["isUpdating"], second["isUpdating"]) == ("True", "False")
    assert second["data"] == first["data"]


async def test_code_500_is_permanent(client: DvcqgClient, mock: respx.MockRouter) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(
        return_value=httpx.Response(200, json={"error_code": "500", "message": "Sai dữ liệu"})
    )

    with pytest.raises(PermanentUpstreamError) as info:
        await client.dong_bo_ho_so([ho_so_packet()])

    assert info.value.code == "500"
    assert "Sai dữ liệu" in info.value.detail
    assert api.call_count == 1


@pytest.mark.parametrize("code", ["101", "106", "108", "200", "999"])
async def test_other_refusals_are_permanent(
    client: DvcqgClient, mock: respx.MockRouter, code: str
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    mock.post(API_URL).mock(return_value=httpx.Response(200, json={"error_code": code}))

    with pytest.raises(PermanentUpstreamError) as info:
        await client.dong_bo_ho_so([ho_so_packet()])

    assert info.value.code == code
    if code == "999":
        assert "999" in info.value.detail


@pytest.mark.parametrize(
    "answer", [{"error_code": "201"}, {**OK, "result": []}, {**OK, "result": None}, OK]
)
async def test_not_found_lookups_return_none(
    client: DvcqgClient, mock: respx.MockRouter, answer: dict[str, Any]
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    mock.post(API_URL).mock(return_value=httpx.Response(200, json=answer))

    assert await client.tra_cuu_ho_so(MA_HO_SO) is None
    assert await client.lay_thu_tuc("1.001776") is None


@pytest.mark.parametrize("as_list", [True, False])
async def test_tra_cuu_ho_so_returns_the_record(
    client: DvcqgClient, mock: respx.MockRouter, as_list: bool
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    record = {**ho_so_packet().model_dump(mode="json", exclude_none=True), "QuaTrinhXuLy": []}
    result = [record] if as_list else record  # a list, as OpenCPS reads it; one object tolerated
    api = mock.post(API_URL).mock(return_value=httpx.Response(200, json={**OK, "result": result}))

    found = await client.tra_cuu_ho_so(MA_HO_SO)

    assert found is not None
    assert found.MaHoSo == MA_HO_SO
    assert found.TrangThaiHoSo == 2
    sent = body(api.calls[0].request)
    # OpenCPS rc-3.0 line 2195: the parameter is lower case mahoso
    assert sent["mahoso"] == MA_HO_SO
    assert "MaHoSo" not in sent


async def test_lay_thu_tuc_sends_lower_camel_matthc_and_reads_result_0(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    detail = {"MATTHC": "1.001776", "TENTTHC": "Đăng ký khai sinh", "MOI": {"x": 1}}
    api = mock.post(API_URL).mock(
        return_value=httpx.Response(200, json={**OK, "result": [detail, {"MATTHC": "x"}]})
    )

    found = await client.lay_thu_tuc("1.001776")

    assert found is not None
    assert (found.MATTHC, found.TENTTHC) == ("1.001776", "Đăng ký khai sinh")
    sent = body(api.calls[0].request)
    # OpenCPS rc-3.0 line 1445: maTTHC, and to the integration endpoint (getSharingData)
    assert sent == {
        "session": SESSION,
        "madonvi": MADONVI,
        "service": "LayThuTuc",
        "maTTHC": "1.001776",
    }


async def test_code_lists_go_to_the_share_endpoint(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL)
    share = mock.post(SHARE_URL).mock(
        side_effect=[
            httpx.Response(200, json={**OK, "result": [{"MATTHC": "1.001776", "TENTTHC": "KS"}]}),
            httpx.Response(
                200,
                json={
                    **OK,
                    "result": [{"MADONVI": "000.00.01.H22", "TENDONVI": "Sở", "CAPDONVI": "2"}],
                },
            ),
            httpx.Response(200, json={**OK, "result": {"MALINHVUC": "G03", "TENLINHVUC": "HT"}}),
        ]
    )

    procedures = await client.lay_danh_sach_tthc()
    agencies = await client.lay_danh_muc_co_quan()
    fields = await client.lay_danh_muc_linh_vuc()

    assert [(p.MATTHC, p.TENTTHC, p.MALINHVUC) for p in procedures] == [("1.001776", "KS", None)]
    assert [(a.MADONVI, a.CAPDONVI) for a in agencies] == [("000.00.01.H22", 2)]
    assert [f.MALINHVUC for f in fields] == ["G03"]
    assert [body(c.request)["service"] for c in share.calls] == [
        "LayDanhSachTTHC",
        "LayDanhMucCoQuan",
        "LayDanhMucLinhVuc",
    ]
    assert not api.called


async def test_endpoints_and_dstcode_are_configurable(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    config = DvcqgConfig(
        base_url="http://adapter.test/",
        auth_endpoint="/dvcqg/auth",
        integration_endpoint="/dvcqg/integration",
        share_endpoint="/dvcqg/share",
        password=SecretStr(PASSWORD),
        madonvi=MADONVI,
        dstcode="H22-LGSP",
    )
    client = DvcqgClient(config, http, read_retry_wait=wait_none())
    auth = mock.post("http://adapter.test/dvcqg/auth").mock(return_value=auth_ok())
    integration = mock.post("http://adapter.test/dvcqg/integration").mock(
        return_value=httpx.Response(200, json=OK)
    )
    share = mock.post("http://adapter.test/dvcqg/share").mock(
        return_value=httpx.Response(200, json={**OK, "result": []})
    )

    await client.dong_bo_ho_so([ho_so_packet()])
    await client.lay_danh_sach_tthc()

    for route in (auth, integration, share):
        assert route.call_count == 1
        assert route.calls[0].request.headers["dstcode"] == "H22-LGSP"
    assert body(integration.calls[0].request)["madonvi"] == MADONVI


# --- transport and answer failures ----------------------------------------------------------


async def test_503_with_retry_after_is_transient(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(
        return_value=httpx.Response(503, headers={"Retry-After": "7"}, json={"error_code": "503"})
    )

    with pytest.raises(TransientUpstreamError) as info:
        await client.dong_bo_ho_so([ho_so_packet()])

    assert info.value.retry_after == 7
    assert api.call_count == 1  # writes are not retried inside the client


@pytest.mark.parametrize("status", [429, 500, 502])
async def test_429_and_5xx_are_transient(
    client: DvcqgClient, mock: respx.MockRouter, status: int
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    mock.post(API_URL).mock(return_value=httpx.Response(status, text="busy"))

    with pytest.raises(TransientUpstreamError) as info:
        await client.cap_nhat_tien_do([step_packet(0)])

    assert info.value.retry_after is None
    assert not isinstance(info.value, InvalidUpstreamAnswer)


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectTimeout("timed out"), httpx.RemoteProtocolError("peer closed")],
)
async def test_transport_errors_are_transient(
    client: DvcqgClient, mock: respx.MockRouter, failure: Exception
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    mock.post(API_URL).mock(side_effect=failure)

    with pytest.raises(TransientUpstreamError):
        await client.dong_bo_ho_so([ho_so_packet()])


@pytest.mark.parametrize(
    "content", [b'{"error_code": "0", "message": "Th', b"<html>Bad gateway</html>"]
)
async def test_malformed_json_is_an_invalid_answer(
    client: DvcqgClient, mock: respx.MockRouter, content: bytes
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    mock.post(API_URL).mock(return_value=httpx.Response(200, content=content))

    with pytest.raises(InvalidUpstreamAnswer, match="not valid JSON"):
        await client.dong_bo_ho_so([ho_so_packet()])


async def test_answer_off_schema_names_the_field(
    client: DvcqgClient, http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    mock.post(API_URL).mock(
        side_effect=[
            httpx.Response(200, json={"message": "no code"}),
            httpx.Response(200, json={**OK, "result": [{"MATTHC": "1.001776"}]}),
        ]
    )

    with pytest.raises(InvalidUpstreamAnswer) as info:
        await client.dong_bo_ho_so([ho_so_packet()])
    assert [e.loc for e in info.value.errors] == ["error_code"]

    client_no_retry = DvcqgClient(
        DvcqgConfig(base_url=BASE, password=SecretStr(PASSWORD), read_retry_attempts=1), http
    )
    # an entry with only MATTHC is read (OpenCPS reads MATTHC and TENTTHC); one without is not
    mock.post(SHARE_URL).mock(
        return_value=httpx.Response(
            200, json={**OK, "result": [{"MATTHC": "1.001776"}, {"TENTTHC": "?"}]}
        )
    )
    with pytest.raises(InvalidUpstreamAnswer) as info:
        await client_no_retry.lay_danh_sach_tthc()
    assert {e.loc for e in info.value.errors} == {"result[1].MATTHC"}


# --- outbound validation and chunking -------------------------------------------------------


async def test_invalid_packet_is_refused_before_anything_is_sent(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    auth = mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(return_value=httpx.Response(200, json=OK))
    # a packet built without validation (as a buggy mapping could)
    bad = ho_so_packet().model_copy(update={"NgayTiepNhan": "2024-01-05 08:30"})

    with pytest.raises(InvalidInput) as info:
        await client.dong_bo_ho_so([bad])

    assert "data[0].NgayTiepNhan" in {e.loc for e in info.value.errors}
    assert not auth.called
    assert not api.called


async def test_steps_are_sent_in_chunks_of_ten(client: DvcqgClient, mock: respx.MockRouter) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(return_value=httpx.Response(200, json=OK))

    chunks = await client.cap_nhat_tien_do([step_packet(i) for i in range(23)])

    assert chunks == 3
    sent = [body(c.request) for c in api.calls]
    assert [len(b["data"]) for b in sent] == [10, 10, 3]
    assert {b["service"] for b in sent} == {"CapNhatTienDoHoSoMC"}
    # OpenCPS rc-3.0 lines 606-694: nine string fields, NgayBatDau ""
    assert sent[0]["data"][0] == {
        "MaHoSo": MA_HO_SO,
        "NguoiXuLy": "Cán bộ B",
        "ChucDanh": "",
        "ThoiDiemXuLy": "20240105090000",
        "PhongBanXuLy": "Tư pháp",
        "NoiDungXuLy": "bước 0",
        "TrangThai": "4",
        "NgayBatDau": "",
        "NgayKetThucTheoQuyDinh": "",
    }
    assert [s["NoiDungXuLy"] for b in sent for s in b["data"]] == [f"bước {i}" for i in range(23)]


async def test_no_steps_sends_nothing(client: DvcqgClient, mock: respx.MockRouter) -> None:
    api = mock.post(API_URL)
    assert await client.cap_nhat_tien_do([]) == 0
    assert not api.called


# --- read retries ---------------------------------------------------------------------------


async def test_reads_retry_transient_failures(client: DvcqgClient, mock: respx.MockRouter) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    line = {"MATTHC": "1.001776", "TENTTHC": "Khai sinh", "MALINHVUC": "G", "TENLINHVUC": "HT"}
    api = mock.post(SHARE_URL).mock(
        side_effect=[
            httpx.Response(503),
            httpx.ConnectTimeout("timed out"),
            httpx.Response(200, json={**OK, "result": [line]}),
        ]
    )

    result = await client.lay_danh_sach_tthc()

    assert [t.MATTHC for t in result] == ["1.001776"]
    assert api.call_count == 3


async def test_reads_give_up_after_the_configured_attempts(
    client: DvcqgClient, mock: respx.MockRouter
) -> None:
    mock.post(AUTH_URL).mock(return_value=auth_ok())
    api = mock.post(API_URL).mock(return_value=httpx.Response(503))

    with pytest.raises(TransientUpstreamError):
        await client.lay_thu_tuc("1.001776")

    assert api.call_count == 3


async def test_auth_retries_transient_failures(client: DvcqgClient, mock: respx.MockRouter) -> None:
    auth = mock.post(AUTH_URL).mock(side_effect=[httpx.Response(502), auth_ok()])
    mock.post(API_URL).mock(return_value=httpx.Response(200, json=OK))

    await client.dong_bo_ho_so([ho_so_packet()])

    assert auth.call_count == 2


# --- secrets --------------------------------------------------------------------------------


async def test_password_and_session_never_appear_in_errors(
    http: httpx.AsyncClient, mock: respx.MockRouter
) -> None:
    echo = f"bad login {PASSWORD} with session {SESSION}"
    scenarios: list[list[Any]] = [
        [auth_ok(), httpx.Response(200, json={"error_code": "500", "message": echo})],
        [auth_ok(), httpx.Response(200, json={"error_code": "999", "message": echo})],
        [auth_ok(), httpx.Response(200, json={"error_code": 7, "session": 1, "message": [echo]})],
        [auth_ok(), httpx.Response(200, content=echo.encode())],
        [auth_ok(), httpx.Response(503, text=echo)],
        # at /auth there is no session yet: only the password could be echoed
        [httpx.Response(200, json={"error_code": "100", "message": f"bad {PASSWORD}"})],
        [httpx.Response(200, json={"error_code": "101", "message": f"bad {PASSWORD}"})],
        [httpx.Response(200, json={"error_code": "0", "session": {"x": PASSWORD}})],
        [httpx.Response(403, text=echo)],
    ]
    errors: list[GatewayError] = []
    for answers in scenarios:
        fresh = DvcqgClient(
            DvcqgConfig(base_url=BASE, password=SecretStr(PASSWORD), read_retry_attempts=1), http
        )
        responses = iter(answers)
        mock.post(AUTH_URL).mock(side_effect=lambda _req, it=responses: next(it))
        mock.post(API_URL).mock(side_effect=lambda _req, it=responses: next(it))
        with pytest.raises(GatewayError) as info:
            await fresh.dong_bo_ho_so([ho_so_packet()])
        errors.append(info.value)

    assert len(errors) == len(scenarios)
    for error in errors:
        texts = [str(error), error.detail, repr(error.errors), str(error.__cause__ or "")]
        for text in texts:
            assert PASSWORD not in text
            assert SESSION not in text
