"""The DVCQG connector end to end against the sandbox simulator (in process, ASGITransport),
plus its failure handling (respx) and the procedure catalogue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel, ValidationError

from connectors.dvcqg import SPEC, DvcqgConfig, DvcqgConnector, HoSo, TrangThaiHoSo
from connectors.dvcqg.catalogue import ProcedureCatalogue
from connectors.dvcqg.errors import ERROR_TABLE
from connectors.dvcqg.models import BuocXuLy, LePhi, TaiLieu
from connectors.dvcqg.sandbox import create_app
from gateway.core.connector import Connector, Resolution
from gateway.core.errors import InvalidInput, PermanentUpstreamError, TransientUpstreamError
from schemas.dvcqg import ThuTucTomTat

BASE = "http://sandbox.test"
MA_HO_SO = "000.00.01.H22-240105-0007"


def ho_so_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ma_ho_so": MA_HO_SO,
        "ma_tthc": "1.001776",
        "ten_tthc": "Đăng ký khai sinh",
        "ma_linh_vuc": "G03-GD09",
        "ten_linh_vuc": "Hộ tịch",
        "kenh_thuc_hien": "truc_tuyen",
        "so_giay_to_chu_ho_so": "001090000001",
        "loai_doi_tuong": "cong_dan",
        "so_dien_thoai": "0912345678",
        "trich_yeu": "Đăng ký khai sinh cho con",
        "ngay_tiep_nhan": "2024-01-05T01:30:00Z",
        "ngay_hen_tra": "2024-01-12T17:00:00+07:00",
        "trang_thai": "da_tiep_nhan",
        "don_vi_xu_ly": "UBND xã A",
        "le_phi": [{"ten": "Lệ phí", "hinh_thuc_thu": 1, "gia": 8000, "loai": 1}],
    }
    data.update(overrides)
    return data


def step_json(i: int) -> dict[str, Any]:
    return {
        "nguoi_xu_ly": "Cán bộ B",
        "thoi_diem_xu_ly": f"2024-01-05T09:{i:02d}:00+07:00",
        "phong_ban_xu_ly": "Tư pháp",
        "noi_dung_xu_ly": f"bước {i}",
        "trang_thai": "dang_xu_ly",
    }


@pytest.fixture
async def sandbox_http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


@pytest.fixture
def connector(sandbox_http: httpx.AsyncClient) -> DvcqgConnector:
    return DvcqgConnector(DvcqgConfig(base_url=BASE), sandbox_http)


def test_connector_meets_the_contract(connector: DvcqgConnector) -> None:
    assert isinstance(connector, Connector)
    assert connector.slug == SPEC.slug == "dvcqg"
    assert connector.operations == frozenset(
        {"sync_dossier", "update_steps", "answer_feedback", "answer_question", "store_result"}
    )
    assert ERROR_TABLE["-3"].resolution is Resolution.EXISTS
    assert SPEC.sandbox_config is not None
    assert SPEC.sandbox_config("http://x/dvcqg") == {"base_url": "http://x/dvcqg"}


async def test_check_against_the_sandbox(connector: DvcqgConnector) -> None:
    result = await connector.check()
    assert result.ok, result.detail
    assert result.latency_ms >= 0


async def test_check_reports_failure_without_raising() -> None:
    with respx.mock:
        respx.post("http://down.test/auth").mock(side_effect=httpx.ConnectError("refused"))
        async with httpx.AsyncClient() as http:
            config = DvcqgConfig(base_url="http://down.test", read_retry_attempts=1)
            result = await DvcqgConnector(config, http).check()
    assert not result.ok
    assert "TransientUpstreamError" in result.detail


async def test_sync_then_resync_then_steps_then_lookup(connector: DvcqgConnector) -> None:
    first = await connector.deliver("sync_dossier", ho_so_json())
    assert first.upstream_ref == MA_HO_SO
    # at-least-once: a repeat (the portal answers "-3") becomes an update
    await connector.deliver("sync_dossier", ho_so_json(trang_thai="dang_xu_ly"))

    steps = [step_json(i) for i in range(12)]
    delivered = await connector.deliver("update_steps", {"ma_ho_so": MA_HO_SO, "steps": steps})
    assert delivered.extra == {"steps": 12, "chunks": 2}

    found = await connector.lookup_dossier(MA_HO_SO)
    assert found is not None
    ho_so, found_steps = found
    # what the default profile sends comes back field for field (the instants equal)
    assert (
        ho_so.model_dump() == HoSo.model_validate(ho_so_json(trang_thai="dang_xu_ly")).model_dump()
    )
    assert ho_so.trang_thai is TrangThaiHoSo.dang_xu_ly
    assert [s.noi_dung_xu_ly for s in found_steps] == [f"bước {i}" for i in range(12)]


async def test_lookup_of_unknown_dossier_is_none(connector: DvcqgConnector) -> None:
    assert await connector.lookup_dossier("000.00.01.H22-240105-9999") is None


async def test_invalid_payload_is_dead_lettered_with_field_errors(
    connector: DvcqgConnector,
) -> None:
    with pytest.raises(PermanentUpstreamError) as info:
        await connector.deliver("sync_dossier", ho_so_json(ngay_tiep_nhan="2024-01-05T08:30:00"))
    assert "ngay_tiep_nhan" in {e.loc for e in info.value.errors}


async def test_unknown_operation_is_permanent(connector: DvcqgConnector) -> None:
    with pytest.raises(PermanentUpstreamError):
        await connector.deliver("delete_dossier", {})


async def test_procedure_detail(connector: DvcqgConnector) -> None:
    detail = await connector.procedure("1.001776")
    assert detail is not None
    assert detail.ma_tthc == "1.001776"
    assert detail.linh_vuc
    assert await connector.procedure("3.999999") is None


# --- catalogue ------------------------------------------------------------------------------


async def test_catalogue_knows_national_and_suffixed_codes(connector: DvcqgConnector) -> None:
    await connector.catalogue.refresh()
    entry = await connector.catalogue.ensure_known("1.001776")
    assert entry.ma_tthc == "1.001776"
    assert (await connector.catalogue.ensure_known("1.001776.000.00.00.H22")) == entry


async def test_catalogue_refuses_unknown_code_naming_the_field(
    connector: DvcqgConnector,
) -> None:
    await connector.catalogue.refresh()
    with pytest.raises(InvalidInput) as info:
        await connector.catalogue.ensure_known("3.999999")
    assert [e.loc for e in info.value.errors] == ["ma_tthc"]
    assert "not in the national catalogue" in info.value.errors[0].msg


LINE = {"MATTHC": "1.001776", "TENTTHC": "KS", "MALINHVUC": "G", "TENLINHVUC": "HT"}
NEW_LINE = {"MATTHC": "2.000477", "TENTTHC": "Mới", "MALINHVUC": "G", "TENLINHVUC": "HT"}


def portal_mock(lines: list[dict[str, str]]) -> respx.Route:
    respx.post("http://p.test/auth").mock(
        return_value=httpx.Response(200, json={"session": "s", "error_code": 0})
    )
    return respx.post("http://p.test/share").mock(
        side_effect=lambda _request: httpx.Response(
            200, json={"error_code": "0", "result": list(lines)}
        )
    )


async def test_catalogue_refreshes_at_most_once_a_minute_in_the_background() -> None:
    now = [1000.0]
    lines = [LINE]
    with respx.mock:
        api = portal_mock(lines)
        async with httpx.AsyncClient() as http:
            connector = DvcqgConnector(DvcqgConfig(base_url="http://p.test"), http)
            catalogue = ProcedureCatalogue(connector.client, ttl_seconds=3600, clock=lambda: now[0])
            await catalogue.refresh()
            assert api.call_count == 1
            # refreshed within the minute and nothing running: unknown is unknown, no download
            for _ in range(3):
                with pytest.raises(InvalidInput):
                    await catalogue.ensure_known("2.000477")
            await catalogue.settled()
            assert api.call_count == 1
            # a minute later an unknown code starts one refresh; meanwhile it may be new: 503
            lines.append(NEW_LINE)
            now[0] += 61
            with pytest.raises(TransientUpstreamError) as info:
                await catalogue.ensure_known("2.000477")
            assert info.value.retry_after is not None
            assert info.value.retry_after >= 1
            await catalogue.settled()
            assert api.call_count == 2
            assert (await catalogue.ensure_known("2.000477")).ten_tthc == "Mới"
            # stale: answered from the cache at once, refreshed behind the answer
            now[0] += 3601
            assert (await catalogue.ensure_known("1.001776")).ma_tthc == "1.001776"
            assert catalogue.refreshing
            await catalogue.settled()
            assert api.call_count == 3
            assert catalogue.refreshes_started == 3


async def test_catalogue_never_loaded_and_portal_down_is_transient() -> None:
    with respx.mock:
        respx.post("http://down.test/auth").mock(return_value=httpx.Response(503))
        async with httpx.AsyncClient() as http:
            config = DvcqgConfig(base_url="http://down.test", read_retry_attempts=1)
            connector = DvcqgConnector(config, http)
            with pytest.raises(TransientUpstreamError, match="procedure catalogue unavailable"):
                await connector.catalogue.ensure_known("1.001776")
            await connector.catalogue.settled()
            # the start-up hook swallows the outage
            assert SPEC.on_start is not None
            await SPEC.on_start(connector)
            assert not connector.catalogue.loaded


class HangingPortal:
    """A catalogue source that answers only when told to (or never): a hanging portal."""

    def __init__(self, lines: list[dict[str, str]]) -> None:
        self.lines = lines
        self.calls = 0
        self.release = asyncio.Event()

    async def lay_danh_sach_tthc(self) -> list[ThuTucTomTat]:
        self.calls += 1
        await self.release.wait()
        return [ThuTucTomTat.model_validate(line) for line in self.lines]


async def loaded_catalogue(portal: HangingPortal, **kwargs: Any) -> ProcedureCatalogue:
    catalogue = ProcedureCatalogue(portal, ttl_seconds=3600, **kwargs)  # type: ignore[arg-type]
    portal.release.set()
    await catalogue.refresh()
    portal.release.clear()
    return catalogue


async def test_writes_never_wait_on_a_hanging_portal() -> None:
    now = [1000.0]
    portal = HangingPortal([LINE])
    catalogue = await loaded_catalogue(portal, clock=lambda: now[0])
    now[0] += 61
    # 50 writes at once, one with a code the cache lacks: every answer is immediate (no await
    # reaches the portal), and exactly one refresh is started
    codes = ["1.001776"] * 49 + ["2.000477"]
    results = await asyncio.gather(
        *(catalogue.ensure_known(code) for code in codes), return_exceptions=True
    )
    assert all(getattr(r, "ma_tthc", None) == "1.001776" for r in results[:49])
    assert isinstance(results[49], TransientUpstreamError)
    assert catalogue.refreshing
    assert portal.calls == 2
    assert catalogue.refreshes_started == 2
    # while it hangs, known codes are still answered and no second refresh starts
    for _ in range(100):
        await catalogue.ensure_known("1.001776")
        with pytest.raises(TransientUpstreamError):
            await catalogue.ensure_known("2.000477")
    assert portal.calls == 2
    # the portal answers, the new procedure is known
    portal.lines.append(NEW_LINE)
    portal.release.set()
    await catalogue.settled()
    assert (await catalogue.ensure_known("2.000477")).ten_tthc == "Mới"
    await catalogue.aclose()


async def test_a_hung_refresh_ends_at_its_timeout_and_the_rule_decides() -> None:
    now = [1000.0]
    portal = HangingPortal([LINE])
    catalogue = await loaded_catalogue(
        portal, clock=lambda: now[0], refresh_timeout_seconds=0.01, unknown_procedure="refuse"
    )
    now[0] += 61
    # rule "refuse": an unknown code is refused at once, even while the portal hangs
    with pytest.raises(InvalidInput) as info:
        await catalogue.ensure_known("2.000477")
    assert [e.loc for e in info.value.errors] == ["ma_tthc"]
    await catalogue.settled()  # ended by the timeout, not by the portal
    assert not catalogue.refreshing
    with pytest.raises(TransientUpstreamError, match="did not answer"):
        await catalogue.refresh()
    # the previous catalogue is kept
    assert (await catalogue.ensure_known("1.001776")).ma_tthc == "1.001776"


async def test_aclose_cancels_a_hung_refresh() -> None:
    portal = HangingPortal([LINE])
    catalogue = ProcedureCatalogue(portal, ttl_seconds=3600)  # type: ignore[arg-type]
    with pytest.raises(TransientUpstreamError):
        await catalogue.ensure_known("1.001776")
    assert catalogue.refreshing
    await catalogue.aclose()
    assert not catalogue.refreshing


async def test_a_dossier_synced_before_is_updated_in_one_call(
    connector: DvcqgConnector, sandbox_http: httpx.AsyncClient
) -> None:
    calls: list[str] = []

    async def spy(request: httpx.Request) -> None:
        sent = json.loads(request.content) if request.url.path.endswith("/api") else {}
        if sent.get("service") == "DongBoHoSoMC":
            calls.append(sent["isUpdating"])

    sandbox_http.event_hooks["request"].append(spy)
    await connector.deliver("sync_dossier", ho_so_json())
    await connector.deliver("sync_dossier", ho_so_json(trang_thai="dang_xu_ly"))
    # first a creation; then the connector knows the portal holds it: one update, no "-3"
    assert calls == ["False", "True"]
    found = await connector.lookup_dossier(MA_HO_SO)
    assert found is not None
    assert found[0].trang_thai is TrangThaiHoSo.dang_xu_ly


# --- bounds: what the case system may send reads back from the portal ------------------------


def _maxed(model: type[BaseModel], base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with every free-text field at its longest: strings at the model's bound."""
    data = dict(base)
    config_bound = model.model_config.get("str_max_length")
    for name, info in model.model_fields.items():
        if info.annotation not in (str, str | None):
            continue
        bounds = [m.max_length for m in info.metadata if getattr(m, "max_length", None)]
        patterned = any(getattr(m, "pattern", None) for m in info.metadata)
        if patterned:
            continue
        data[name] = "đ" * min(bounds or [config_bound or 0])
    return data


async def test_every_field_at_its_bound_is_accepted_and_reads_back(
    connector: DvcqgConnector,
) -> None:
    """The canonical bounds are the portal's: a dossier and its steps with every string at its
    longest pass the wire schema, are stored by the portal and read back without a refusal."""
    fee = _maxed(LePhi, {"ten": "x", "hinh_thuc_thu": 1, "gia": 8000, "loai": 1})
    doc = _maxed(TaiLieu, {"id": "t", "ten": "t.pdf"})
    body = _maxed(HoSo, ho_so_json(le_phi=[fee], tai_lieu_nop=[doc]))
    assert (len(body["chu_ho_so"]), len(body["trich_yeu"]), len(fee["ma"])) == (500, 4000, 255)
    ho_so = HoSo.model_validate(body)
    connector.check_dossier(ho_so)
    await connector.deliver("sync_dossier", ho_so.model_dump(mode="json"))
    step = _maxed(BuocXuLy, step_json(1))
    await connector.deliver("update_steps", {"ma_ho_so": MA_HO_SO, "steps": [step]})
    found = await connector.lookup_dossier(MA_HO_SO)
    assert found is not None
    record, steps = found
    assert record.chu_ho_so == body["chu_ho_so"]
    assert [s.phong_ban_xu_ly for s in steps] == [step["phong_ban_xu_ly"]]
    # one character more is refused on arrival, naming the field
    with pytest.raises(ValidationError) as info:
        HoSo.model_validate({**body, "chu_ho_so": body["chu_ho_so"] + "x"})
    assert [e["loc"] for e in info.value.errors()] == [("chu_ho_so",)]
