"""The payment-platform simulator answers INIT, QUERY and statements per the profile, signs its
callbacks (and forges, alters and replays them on request), and injects its faults."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connectors.payment.sandbox import create_app, get_simulator

SECRET = "sandbox-payment-secret"
SEND = "sandbox-payment-send"
VERIFY = "sandbox-payment-verify"
PARTNER = "LGSP-SANDBOX"
INIT_ORDER = [
    "LoaiBanTin",
    "PhienBan",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "LoaiHinhThanhToan",
    "MaKenhThanhToan",
    "MaThietBi",
    "NgonNgu",
    "MaTienTe",
    "MaNganHang",
    "ThongTinGiaoDich",
    "ThoiGianGD",
    "Ip",
]
QUERY_ORDER = ["LoaiBanTin", "PhienBan", "MaDoiTac", "MaThamChieu", "ThoiGianGD"]
CALLBACK_ORDER = [
    "LoaiBanTin",
    "MaLoi",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "MaTienTe",
    "MaGiaoDich",
    "MaNganHang",
    "ThoiGianGD",
    "ThongTinGiaoDich",
]


def mac(values: list[Any], variant: str = "sha256", key: str = SEND) -> str:
    joined = "|".join(str(v) for v in values)
    if variant == "sha256":
        return hashlib.sha256(f"{joined}|{SECRET}".encode()).hexdigest()
    return hmac.new(key.encode(), joined.encode(), hashlib.sha256).hexdigest()


def signed(packet: dict[str, Any], order: list[str], variant: str = "sha256") -> dict[str, Any]:
    return {**packet, "MaXacThuc": mac([packet[name] for name in order], variant)}


def init_packet(ref: str = "HS-0001-FEE", amount: int = 150_000, **changes: Any) -> dict[str, Any]:
    """An INIT as PASETO builds it (InitDvcPaymentRequest.cs: every value a string)."""
    packet: dict[str, Any] = {
        "LoaiBanTin": "INIT",
        "PhienBan": "1.0.6",
        "MaDoiTac": PARTNER,
        "MaThamChieu": ref,
        "SoTien": str(amount),
        "LoaiHinhThanhToan": "PAY",
        "MaKenhThanhToan": "1",
        "MaThietBi": "1",
        "NgonNgu": "vi-VN",
        "MaTienTe": "VND",
        "MaNganHang": "PAYMENT",
        "ThongTinGiaoDich": f"Phí hồ sơ {ref}",
        "ThoiGianGD": "20250301093000",
        "Ip": "10.0.0.1",
        "ThongTinBienLai": {
            "MaDichVu": "2",
            "MaDVC": "1.001776.01",
            "TenDVC": "",
            "MaTTHC": "1.001776",
            "TenTTHC": "",
            "MaDonVi": "000.00.01.H22",
            "TenDonVi": "",
            "MaHoSo": ref,
            "TKThuHuong": "0123456789",
            "MaNHThuHuong": "970436",
            "TenTKThuHuong": "Sở Tư pháp",
            "NoiDungThanhToan": f"Phí hồ sơ {ref}",
            "HoTenNguoiNop": "Nguyễn Văn An",
            "SoCMNDNguoiNop": "",
            "DiaChiNguoiNop": "",
            "PhiLePhi": [
                {
                    "LoaiPhiLePhi": "2",
                    "MaPhiLePhi": "1.001776.01",
                    "TenPhiLePhi": "Lệ phí",
                    "SoTien": str(amount),
                }
            ],
            "DSKhoanNop": [{"NoiDung": "Lệ phí", "SoTien": str(amount)}],
        },
    }
    packet.update(changes)
    return packet


def query_packet(ref: str, variant: str = "sha256") -> dict[str, Any]:
    packet = {
        "LoaiBanTin": "QUERY",
        "PhienBan": "1.0.6",
        "MaDoiTac": PARTNER,
        "MaThamChieu": ref,
        "ThoiGianGD": "20250301093500",
    }
    return signed(packet, QUERY_ORDER, variant)


def callback_ok(body: dict[str, Any], variant: str = "sha256") -> bool:
    expected = mac([body[name] for name in CALLBACK_ORDER], variant, key=VERIFY)
    return hmac.compare_digest(body["MaXacThuc"], expected)


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


@pytest.fixture
def app() -> FastAPI:
    return create_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


async def init(client: httpx.AsyncClient, packet: dict[str, Any], variant: str = "sha256") -> Any:
    """INIT's answer, its ``message`` (a JSON text, as PASETO reads it) parsed when "0"."""
    response = await client.post("/init", json=signed(packet, INIT_ORDER, variant))
    assert response.status_code == 200
    answer = response.json()
    if answer.get("error_code") == "0":
        assert isinstance(answer["message"], str)
        answer["message"] = json.loads(answer["message"])
    return answer


async def query(client: httpx.AsyncClient, ref: str, variant: str = "sha256") -> Any:
    response = await client.post("/query", json=query_packet(ref, variant))
    assert response.status_code == 200
    return response.json()


async def statement(client: httpx.AsyncClient, day: str, variant: str = "sha256") -> Any:
    params = {"Ngay": day, "MaDoiTac": PARTNER, "MaXacThuc": mac([day, PARTNER], variant)}
    response = await client.get("/statement", params=params)
    assert response.status_code == 200
    return response.json()


# --- INIT -------------------------------------------------------------------------------------


async def test_init_answers_a_payment_url_and_the_page_shows_it(client: httpx.AsyncClient) -> None:
    answer = await init(client, init_packet())
    assert answer["error_code"] == "0"
    assert answer["message"]["MaThamChieu"] == "HS-0001-FEE"
    url = answer["message"]["UrlThanhToan"]
    assert url.startswith("http://sandbox/pay/")
    page = await client.get(url)
    assert page.status_code == 200
    assert "HS-0001-FEE" in page.text
    assert "150,000 VND" in page.text
    assert (await client.get("/pay/nope")).status_code == 404


async def test_init_url_keeps_the_mount_prefix(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, root_path="/payment")
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        answer = await init(client, init_packet())
    assert answer["message"]["UrlThanhToan"].startswith("http://gw/payment/pay/")


async def test_init_is_idempotent_for_the_same_content(client: httpx.AsyncClient) -> None:
    first = await init(client, init_packet())
    again = await init(client, init_packet(ThoiGianGD="20250301094500", Ip="10.0.0.2"))
    assert again == first
    different = await init(client, init_packet(amount=200_000))
    assert different["error_code"] == "03"
    assert len((await client.get("/_sandbox/payments")).json()) == 1


@pytest.mark.parametrize(
    ("packet", "code"),
    [
        (init_packet(MaDoiTac="SOMEONE-ELSE"), "02"),
        (init_packet(amount=0), "04"),
        (init_packet(amount=-5), "04"),
        (init_packet(SoTien=150_000.0), "04"),
        (init_packet(SoTien="150000.0"), "04"),
        (init_packet(SoTien="0150000"), "04"),
        (init_packet(SoTien=True), "04"),
        (init_packet(MaTienTe="USD"), "04"),
        (init_packet(LoaiBanTin="QUERY"), "04"),
        (init_packet(ThoiGianGD="2025-03-01"), "04"),
        (init_packet(ThongTinBienLai={"MaDVC": "x"}), "04"),
    ],
)
async def test_init_refusals(client: httpx.AsyncClient, packet: dict[str, Any], code: str) -> None:
    body = {**packet, "MaXacThuc": mac([packet[name] for name in INIT_ORDER])}
    answer = (await client.post("/init", json=body)).json()
    assert answer["error_code"] == code
    assert isinstance(answer["message"], str)


async def test_init_refuses_a_wrong_checksum_and_broken_bodies(client: httpx.AsyncClient) -> None:
    body = signed(init_packet(), INIT_ORDER)
    body["MaXacThuc"] = "0" * 64
    assert (await client.post("/init", json=body)).json()["error_code"] == "01"
    tampered = {**signed(init_packet(), INIT_ORDER), "ThongTinGiaoDich": "changed"}
    assert (await client.post("/init", json=tampered)).json()["error_code"] == "01"
    lines = init_packet()
    lines["ThongTinBienLai"]["DSKhoanNop"] = [{"NoiDung": "a", "SoTien": "100000"}]
    assert (await init(client, lines))["error_code"] == "04"
    no_service = init_packet()
    del no_service["ThongTinBienLai"]["MaDichVu"]
    assert (await init(client, no_service))["error_code"] == "04"
    assert (await client.post("/init", content=b"not json")).json()["error_code"] == "04"
    assert (await client.post("/init", json=[1, 2])).json()["error_code"] == "04"
    huge = await client.post("/init", content=b"x" * (64 * 1024 + 1))
    assert huge.status_code == 413


# --- callbacks and QUERY ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [("pay", "paid", "00"), ("fail", "failed", "02"), ("cancel", "cancelled", "03")],
)
async def test_actions_produce_signed_callbacks_and_query_follows(
    client: httpx.AsyncClient, action: str, status: str, code: str
) -> None:
    await init(client, init_packet())
    pending = await query(client, "HS-0001-FEE")
    assert pending["MaLoi"] == "00"
    assert pending["TrangThaiGD"] == "3"
    assert pending["MaGiaoDich"] == ""

    response = await client.post(f"/_sandbox/payments/HS-0001-FEE/{action}")
    assert response.status_code == 200
    callback = response.json()
    assert callback["LoaiBanTin"] == "PAYMENT"
    assert callback["MaLoi"] == code
    assert callback["SoTien"] == 150_000
    assert type(callback["SoTien"]) is int
    assert callback["MaDoiTac"] == PARTNER
    assert callback["MaTienTe"] == "VND"
    assert callback["ThongTinGiaoDich"] == "Phí hồ sơ HS-0001-FEE"
    assert callback_ok(callback)

    answer = await query(client, "HS-0001-FEE")
    assert answer["TrangThaiGD"] == ("1" if code == "00" else "4")
    assert answer["MaGiaoDich"] == callback["MaGiaoDich"]
    assert answer["SoTien"] == 150_000
    assert answer["ThoiGianGD"] == callback["ThoiGianGD"]
    listed = (await client.get("/_sandbox/payments")).json()
    assert listed[0]["status"] == status
    # only a pending payment moves
    assert (await client.post("/_sandbox/payments/HS-0001-FEE/pay")).status_code == 409
    logged = (await client.get("/_sandbox/callbacks")).json()
    assert logged == [{"seq": 0, "kind": "signed", "callback": callback}]


async def test_query_refusals_and_expiry(client: httpx.AsyncClient) -> None:
    assert (await query(client, "UNKNOWN"))["MaLoi"] == "14"
    bad = {**query_packet("UNKNOWN"), "MaXacThuc": "f" * 64}
    assert (await client.post("/query", json=bad)).json()["MaLoi"] == "01"
    other = {**query_packet("UNKNOWN"), "MaDoiTac": "X"}
    assert (await client.post("/query", json=other)).json()["MaLoi"] == "02"
    await init(client, init_packet())
    assert (await client.post("/_sandbox/payments/HS-0001-FEE/expire")).status_code == 200
    assert (await query(client, "HS-0001-FEE"))["TrangThaiGD"] == "4"
    assert (await client.post("/_sandbox/payments/NOPE/pay")).status_code == 404


async def test_forged_altered_and_replayed_callbacks(client: httpx.AsyncClient) -> None:
    await init(client, init_packet())
    forged = (
        await client.post("/_sandbox/payments/HS-0001-FEE/pay", json={"wrong_signature": True})
    ).json()
    assert forged["MaLoi"] == "00"
    assert not callback_ok(forged)
    altered = (
        await client.post("/_sandbox/payments/HS-0001-FEE/pay", json={"altered_amount": 1_000})
    ).json()
    assert altered["SoTien"] == 1_000
    assert callback_ok(altered)
    # forged callbacks change nothing on the platform
    assert (await query(client, "HS-0001-FEE"))["TrangThaiGD"] == "3"

    genuine = (await client.post("/_sandbox/payments/HS-0001-FEE/pay")).json()
    assert callback_ok(genuine)
    assert genuine["SoTien"] == 150_000
    replay = (await client.post("/_sandbox/payments/HS-0001-FEE/pay", json={"replay_of": 2})).json()
    assert replay == genuine
    logged = (await client.get("/_sandbox/callbacks")).json()
    assert [entry["kind"] for entry in logged] == [
        "wrong_signature",
        "altered_amount",
        "signed",
        "replay",
    ]
    missing = await client.post("/_sandbox/payments/HS-0001-FEE/pay", json={"replay_of": 99})
    assert missing.status_code == 404
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["callbacks"] == {
        "wrong_signature": 1,
        "altered_amount": 1,
        "signed": 1,
        "replay": 1,
    }


async def test_the_payment_page_buttons(client: httpx.AsyncClient) -> None:
    url = (await init(client, init_packet()))["message"]["UrlThanhToan"]
    assert "Thanh toán" in (await client.get(url)).text
    done = await client.post(url, data={"action": "pay"})
    assert done.status_code == 200
    assert "paid" in done.text
    assert (await query(client, "HS-0001-FEE"))["TrangThaiGD"] == "1"
    assert callback_ok((await client.get("/_sandbox/callbacks")).json()[0]["callback"])
    assert (await client.post(url, data={"action": "steal"})).status_code == 422


# --- statement --------------------------------------------------------------------------------


async def _three_paid(client: httpx.AsyncClient) -> None:
    """REF-1 paid and REF-2 failed on 2025-03-01, REF-3 paid on 2025-03-03."""
    for ref, amount, action, at in (
        ("REF-1", 100_000, "pay", "20250301100000"),
        ("REF-2", 200_000, "fail", "20250301110000"),
        ("REF-3", 300_000, "pay", "20250303100000"),
    ):
        await init(client, init_packet(ref, amount))
        response = await client.post(f"/_sandbox/payments/{ref}/{action}", json={"at": at})
        assert response.status_code == 200


async def test_statement_lists_the_days_transactions(client: httpx.AsyncClient) -> None:
    await _three_paid(client)
    await init(client, init_packet("REF-PENDING", 5_000))
    day = await statement(client, "20250301")
    assert day["Ngay"] == "20250301"
    rows = {row["MaThamChieu"]: row for row in day["GiaoDich"]}
    assert set(rows) == {"REF-1", "REF-2"}
    assert rows["REF-1"]["MaLoi"] == "00"
    assert rows["REF-1"]["SoTien"] == 100_000
    assert rows["REF-2"]["MaLoi"] == "02"
    assert rows["REF-2"]["MaTienTe"] == "VND"
    assert [r["MaThamChieu"] for r in (await statement(client, "20250303"))["GiaoDich"]] == [
        "REF-3"
    ]
    assert (await statement(client, "20250302"))["GiaoDich"] == []


async def test_statement_refusals(client: httpx.AsyncClient) -> None:
    bad = {"Ngay": "20250301", "MaDoiTac": PARTNER, "MaXacThuc": "0" * 64}
    assert (await client.get("/statement", params=bad)).json()["error_code"] == "01"
    other = {"Ngay": "20250301", "MaDoiTac": "X", "MaXacThuc": mac(["20250301", "X"])}
    assert (await client.get("/statement", params=other)).json()["error_code"] == "02"
    assert (await client.get("/statement")).json()["error_code"] == "04"
    wrong_day = {"Ngay": "2025-3-1", "MaDoiTac": PARTNER, "MaXacThuc": mac(["2025-3-1", PARTNER])}
    assert (await client.get("/statement", params=wrong_day)).json()["error_code"] == "04"


@pytest.mark.parametrize(
    ("planted", "check"),
    [
        ({"omit": ["REF-1"]}, lambda rows: [r["MaThamChieu"] for r in rows] == ["REF-2"]),
        (
            {"extra": 1},
            lambda rows: len(rows) == 3 and rows[2]["MaThamChieu"] == "SBX-EXTRA-20250301-1",
        ),
        ({"amount_delta": {"REF-1": -1}}, lambda rows: rows[0]["SoTien"] == 99_999),
        ({"duplicate": ["REF-2"]}, lambda rows: len(rows) == 3 and rows[1] == rows[2]),
        ({"status": {"REF-2": "00"}}, lambda rows: rows[1]["MaLoi"] == "00"),
    ],
)
async def test_statement_discrepancies(
    client: httpx.AsyncClient, planted: dict[str, Any], check: Any
) -> None:
    await _three_paid(client)
    clean = (await statement(client, "20250301"))["GiaoDich"]
    assert [r["MaThamChieu"] for r in clean] == ["REF-1", "REF-2"]
    response = await client.put("/_sandbox/faults", json={"statement": planted})
    assert response.status_code == 200
    rows = (await statement(client, "20250301"))["GiaoDich"]
    assert check(rows)
    assert all(type(row["SoTien"]) is int for row in rows)
    # only the planted difference: everything else is as in the clean statement
    changed = [row for row in rows if row not in clean]
    assert len(changed) <= 1


# --- the hmac2 variant ------------------------------------------------------------------------


async def test_hmac2_variant_end_to_end() -> None:
    app = create_app(variant="hmac2")
    async with client_for(app) as client:
        assert (await init(client, init_packet()))["error_code"] == "01"  # sha256 refused
        answer = await init(client, init_packet(), "hmac2")
        assert answer["error_code"] == "0"
        assert (await query(client, "HS-0001-FEE", "hmac2"))["TrangThaiGD"] == "3"
        callback = (await client.post("/_sandbox/payments/HS-0001-FEE/pay")).json()
        assert callback_ok(callback, "hmac2")
        # signed with verify_key, not send_key, and not the sha256 way
        values = [callback[name] for name in CALLBACK_ORDER]
        assert callback["MaXacThuc"] != mac(values, "hmac2", key=SEND)
        assert not callback_ok(callback)
        day = callback["ThoiGianGD"][:8]
        rows = (await statement(client, day, "hmac2"))["GiaoDich"]
        assert [row["MaGiaoDich"] for row in rows] == [callback["MaGiaoDich"]]
        params = {"Ngay": day, "MaDoiTac": PARTNER, "MaXacThuc": mac([day, PARTNER])}
        assert (await client.get("/statement", params=params)).json()["error_code"] == "01"


# --- faults, stats, reset ---------------------------------------------------------------------


async def test_faults_503_and_system_error(app: FastAPI, client: httpx.AsyncClient) -> None:
    await client.put("/_sandbox/faults", json={"error_rate": 1.0})
    response = await client.post("/init", json=signed(init_packet(), INIT_ORDER))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert (await client.post("/query", json=query_packet("X"))).status_code == 503
    await client.put("/_sandbox/faults", json={"system_error_rate": 1.0})
    assert (await init(client, init_packet()))["error_code"] == "99"
    assert get_simulator(app).payments == {}  # nothing stored on a 99
    await client.put("/_sandbox/faults", json={"latency_ms": 1})
    assert (await init(client, init_packet()))["error_code"] == "0"
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["faults_injected"] == 3
    assert stats["received"] == {"init": 3, "query": 1}
    assert stats["by_code"] == {"99": 1, "0": 1}
    assert (await client.get("/_sandbox/faults")).json()["latency_ms"] == 1


async def test_fault_draws_are_seeded(client: httpx.AsyncClient) -> None:
    async def run() -> list[int]:
        await client.put("/_sandbox/faults", json={"error_rate": 0.5, "seed": 7})
        return [
            (await client.post("/query", json=query_packet("X"))).status_code for _ in range(20)
        ]

    first = await run()
    assert 503 in first
    assert 200 in first
    assert await run() == first


async def test_reset_and_bad_fault_config(app: FastAPI, client: httpx.AsyncClient) -> None:
    await init(client, init_packet())
    await client.post("/_sandbox/payments/HS-0001-FEE/pay")
    assert (await client.put("/_sandbox/faults", json={"error_rate": 2})).status_code == 422
    assert (await client.put("/_sandbox/faults", json={"nope": 1})).status_code == 422
    assert (await client.post("/_sandbox/reset")).json() == {"status": "reset"}
    sim = get_simulator(app)
    assert sim.payments == {}
    assert sim.callbacks == []
    assert sim.stats.received == {}
    assert (await query(client, "HS-0001-FEE"))["MaLoi"] == "14"


def test_get_simulator_refuses_other_apps() -> None:
    with pytest.raises(TypeError):
        get_simulator(FastAPI())
    with pytest.raises(ValueError, match="variant"):
        create_app(variant="md5")  # type: ignore[arg-type]
