"""``lgsp demo``: the main job end to end on the embedded default.

Starts the simulators and the gateway (SQLite, in-process state store, workers in the server) on
loopback ports, then plays a case system. Applicants log in with VNeID or DVCQG SSO (see
:mod:`gateway.demo_identity`). Officers are registered for the population database and one
checks each applicant there before their dossier is received (see :mod:`gateway.demo_dancu`).
The first dossier's fee is paid through the payment platform, with a forged callback refused
(see :mod:`gateway.demo_payment`). A dossier submitted on the national portal goes to the
citizen's data store, with a rating and a feedback round trip (see :mod:`gateway.demo_portal`).
A result is signed remotely, verified and a tampered copy caught (see
:mod:`gateway.demo_esign`); a result is delivered by post with its fees collected on delivery
(see :mod:`gateway.demo_postal`). Then the batch of dossiers goes through its whole life
(received, processing, supplement requested, processing again, processed, result returned) with
processing steps, while the simulated portal misbehaves (503s, 500s, late and dropped answers,
malformed answers, an expired session). Finally it checks that the portal holds exactly the
right final state and history for every dossier, that every exchange was delivered, and that the
exchange log's hash chain verifies. Exit status 0 only if all of that held.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from connectors.dvcqg.sandbox import CATALOGUE
from gateway.api.main import create_app
from gateway.core.clients import create_client
from gateway.core.logging import configure_logging
from gateway.core.runtime import Gateway
from gateway.core.settings import DeliverySettings, Settings
from gateway.demo_dancu import UNLICENSED, PopulationChecks
from gateway.demo_esign import ResultSigning
from gateway.demo_identity import CitizenLogins
from gateway.demo_payment import FeePayments
from gateway.demo_portal import PortalCitizens
from gateway.demo_postal import PostalShipments
from gateway.sandbox import create_sandbox_app, quiet_simulated_drops

VN = timezone(timedelta(hours=7))
#: each stage: the status sent to the portal and the step recorded with it
LIFE: tuple[tuple[str, int, str], ...] = (
    ("da_tiep_nhan", 2, "Tiếp nhận hồ sơ tại bộ phận một cửa"),
    ("dang_xu_ly", 4, "Chuyển phòng chuyên môn thẩm định"),
    ("yeu_cau_bo_sung", 5, "Yêu cầu bổ sung giấy tờ"),
    ("dang_xu_ly", 4, "Công dân đã bổ sung; tiếp tục xử lý"),
    ("da_xu_ly", 9, "Lãnh đạo ký duyệt kết quả"),
    ("da_tra_ket_qua", 10, "Trả kết quả cho công dân"),
)
FAULTS: dict[str, Any] = {
    "latency_ms": 3,
    "error_rate": 0.08,
    "http_500_rate": 0.04,
    "timeout_rate": 0.02,
    "timeout_seconds": 2.5,
    "drop_rate": 0.04,
    "malformed_rate": 0.03,
    "seed": 7,
}
UNITS = ("UBND xã Tân Lập", "UBND phường Hùng Vương", "Sở Tư pháp", "UBND huyện Thanh Ba")


class Demo:
    def __init__(self, *, dossiers: int, seed: int, say: Callable[[str], None]) -> None:
        self.n = dossiers
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.say = say
        self.failures: list[str] = []
        self.exchanges: list[str] = []

    def check(self, ok: bool, what: str) -> bool:
        self.say(f"  {'✔' if ok else '✘'} {what}")
        if not ok:
            self.failures.append(what)
        return ok

    # --- the case system's data ------------------------------------------------------------

    def make_dossiers(self, applicants: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One dossier per applicant (citizens of the simulated population database)."""
        out = []
        day = datetime(2024, 1, 5, 7, 30, tzinfo=VN)
        licensed = [p for p in CATALOGUE if p.MATTHC != UNLICENSED]
        for i, applicant in enumerate(applicants, start=1):
            proc = licensed[self.rng.randrange(len(licensed))]
            received = day + timedelta(minutes=7 * i)
            out.append(
                {
                    "ma_ho_so": f"000.00.01.H22-240105-{i:04d}",
                    "ma_tthc": proc.MATTHC,
                    "ten_tthc": proc.TENTTHC,
                    "ma_linh_vuc": proc.LINHVUCTHUCHIEN[0].MALINHVUC,
                    "ten_linh_vuc": proc.LINHVUCTHUCHIEN[0].TENLINHVUC,
                    "kenh_thuc_hien": self.rng.choice(("truc_tiep", "truc_tuyen", "buu_chinh")),
                    "chu_ho_so": applicant["ho_va_ten"],
                    "so_giay_to_chu_ho_so": applicant["so_dinh_danh"],
                    "loai_doi_tuong": "cong_dan",
                    "so_dien_thoai": f"09{self.rng.randint(10_000_000, 99_999_999)}",
                    "trich_yeu": f"{proc.TENTTHC} cho công dân",
                    "ngay_tiep_nhan": received.isoformat(),
                    "ngay_hen_tra": (received + timedelta(days=5)).isoformat(),
                    "trang_thai": "da_tiep_nhan",
                    "don_vi_xu_ly": self.rng.choice(UNITS),
                }
            )
        return out

    @staticmethod
    def at_stage(base: dict[str, Any], stage: int) -> dict[str, Any]:
        status = LIFE[stage][0]
        received = datetime.fromisoformat(base["ngay_tiep_nhan"])
        packet = dict(base, trang_thai=status)
        if stage >= 2:
            packet["ho_so_bo_sung"] = [
                {
                    "id": f"BS-{base['ma_ho_so'][-4:]}",
                    "nguoi_yeu_cau": "Trần Văn Bình",
                    "noi_dung": "Bổ sung bản sao giấy chứng nhận kết hôn",
                    "ngay_bo_sung": (received + timedelta(days=1)).isoformat(),
                }
            ]
        if stage >= 4:
            packet["ngay_ket_thuc_xu_ly"] = (received + timedelta(days=3)).isoformat()
        if stage == 5:
            packet["ngay_tra"] = (received + timedelta(days=4)).isoformat()
        return packet

    @staticmethod
    def step_of(base: dict[str, Any], stage: int) -> dict[str, Any]:
        at = datetime.fromisoformat(base["ngay_tiep_nhan"]) + timedelta(hours=6 * stage + 1)
        return {
            "nguoi_xu_ly": "Trần Văn Bình",
            "chuc_danh": "Công chức một cửa",
            "thoi_diem_xu_ly": at.isoformat(),
            "phong_ban_xu_ly": "Bộ phận tiếp nhận và trả kết quả",
            "noi_dung_xu_ly": LIFE[stage][2],
            "trang_thai": LIFE[stage][0],
        }

    # --- the run ---------------------------------------------------------------------------

    async def submit(self, api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
        key = f"demo-{len(self.exchanges)}-{self.rng.random():.12f}"
        for attempt in range(5):
            r = await api.post(path, json=body, headers={"Idempotency-Key": key})
            if r.status_code == 202:
                self.exchanges.append(r.json()["exchange_id"])
                if self.rng.random() < 0.1:  # the case system retries a request it already sent
                    again = await api.post(path, json=body, headers={"Idempotency-Key": key})
                    if again.json().get("exchange_id") != r.json()["exchange_id"]:
                        self.failures.append(f"idempotent retry of {path} made a new exchange")
                return
            if r.status_code in (409, 429, 503):
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            raise RuntimeError(f"{path} refused: {r.status_code} {r.text}")
        raise RuntimeError(f"{path} kept failing")

    async def run(self, api: httpx.AsyncClient, sim: httpx.AsyncClient) -> None:
        say = self.say
        population = PopulationChecks(api, sim, self.check)
        applicants = await population.applicants(self.n)
        dossiers = self.make_dossiers(applicants)
        await CitizenLogins(api, sim, self.check).run(applicants, say)
        await population.run(dossiers, applicants, say)
        await FeePayments(api, sim, self.check).run(dossiers[0], say)
        await PortalCitizens(api, sim, self.check).run(say)
        await ResultSigning(api, sim, self.check).run(dossiers[0], say)
        await PostalShipments(api, sim, self.check).run(dossiers, say)
        say(
            f"▶ the simulated portal misbehaves: {', '.join(f'{k}={v}' for k, v in FAULTS.items())}"
        )
        (await sim.put("/dvcqg/_sandbox/faults", json=FAULTS)).raise_for_status()

        bad = dict(dossiers[0], ma_ho_so="000.00.01.H22-240231-0001", ngay_hen_tra="2024-01-01")
        r = await api.post("/v1/dvcqg/dossiers", json=bad)
        errors = [e["loc"] for e in r.json().get("errors", [])]
        self.check(
            r.status_code == 422 and "ma_ho_so" in errors and "ngay_hen_tra" in errors,
            f"a malformed dossier is refused with problem+json naming {', '.join(errors)}",
        )

        for stage, (status, code, _what) in enumerate(LIFE):
            for base in dossiers:
                await self.submit(api, "/v1/dvcqg/dossiers", self.at_stage(base, stage))
                await self.submit(
                    api,
                    f"/v1/dvcqg/dossiers/{base['ma_ho_so']}/steps",
                    {"steps": [self.step_of(base, stage)]},
                )
            if stage == 3:
                await sim.put("/dvcqg/_sandbox/faults", json={**FAULTS, "expire_sessions": True})
                say("  … the portal expired every session")
            depth = await self.depth(api)
            say(
                f"[{stage + 1}/{len(LIFE)}] {len(dossiers)} dossiers → {status} ({code}); "
                f"{len(self.exchanges)} exchanges accepted, {depth} waiting"
            )

        say("▶ waiting for every exchange to reach the portal …")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            health = await self.portal_health(api)
            waiting = sum(health["outbox"].values())
            say(
                f"  outbox: {waiting} waiting, {health['dead_letters']} dead, "
                f"circuit {health['circuit']}, upstream error rate {health['error_rate']:.0%}"
            )
            if waiting == 0:
                break
            await asyncio.sleep(1.0)
        (await sim.put("/dvcqg/_sandbox/faults", json={})).raise_for_status()
        await self.verify(api, sim, dossiers)

    async def depth(self, api: httpx.AsyncClient) -> int:
        return int(sum((await self.portal_health(api))["outbox"].values()))

    @staticmethod
    async def portal_health(api: httpx.AsyncClient) -> dict[str, Any]:
        connectors = (await api.get("/v1/connectors")).json()["connectors"]
        return next(c for c in connectors if c["slug"] == "dvcqg")

    async def verify(
        self, api: httpx.AsyncClient, sim: httpx.AsyncClient, dossiers: list[dict[str, Any]]
    ) -> None:
        say = self.say
        say("▶ checking what the portal holds")
        states = [(await api.get(f"/v1/exchanges/{x}")).json()["state"] for x in self.exchanges]
        delivered = sum(1 for s in states if s == "delivered")
        self.check(delivered == len(states), f"{delivered}/{len(states)} exchanges delivered")
        held = (await sim.get("/dvcqg/_sandbox/dossiers")).json()
        expected_history = [code for _s, code, _w in LIFE]
        right = 0
        for base in dossiers:
            record = held.get(base["ma_ho_so"])
            if (
                record is not None
                and record["history"] == expected_history
                and record["current"]["TrangThaiHoSo"] == 10
                and [s["NoiDungXuLy"] for s in record["steps"]] == [w for *_x, w in LIFE]
            ):
                right += 1
            else:
                say(f"    {base['ma_ho_so']}: {record and record['history']}")
        self.check(
            right == len(dossiers),
            f"{right}/{len(dossiers)} dossiers hold exactly the history "
            f"{expected_history} and their {len(LIFE)} steps, in order, once each",
        )
        stats = (await sim.get("/dvcqg/_sandbox/stats")).json()
        say(
            f"  portal saw {stats['received']} calls, applied {stats['applied']} packets, "
            f"ignored {stats['duplicates']} duplicates, injected {stats['faults_injected']} faults"
        )
        portal = await api.get(f"/v1/dvcqg/dossiers/{dossiers[-1]['ma_ho_so']}")
        self.check(
            portal.status_code == 200
            and portal.json()["dossier"]["trang_thai"] == "da_tra_ket_qua",
            f"TraCuuHoSo through the gateway: {dossiers[-1]['ma_ho_so']} is da_tra_ket_qua",
        )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.02)
    return server, task


async def _main(dossiers: int, seed: int, workdir: Path) -> int:
    say = print
    db_path = workdir / "lgsp-demo.db"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{db_path}",
        log_level="WARNING",
        delivery=DeliverySettings(
            workers=4,
            backoff_base_seconds=0.1,
            backoff_max_seconds=2.0,
            max_attempts=40,
            breaker_failure_threshold=8,
            breaker_reset_seconds=1.0,
        ),
        # the portal is pulled every second, so the demo need not wait a minute
        connectors={"dvcqg": {"timeout_seconds": 1.0, "pull_interval_seconds": 1.0}},
    )
    sandbox_port, gateway_port = _free_port(), _free_port()
    say(f"LGSP Gateway demo: {dossiers} dossiers, database {db_path}")
    sandbox, sandbox_task = await _serve(create_sandbox_app(), sandbox_port)
    say(f"▶ simulators on http://127.0.0.1:{sandbox_port}")
    gw = Gateway(settings, sandbox_base=f"http://127.0.0.1:{sandbox_port}")
    await gw.start()
    _, key = await create_client(
        gw.db,
        name="case-system",
        scopes=[
            "dvcqg:sync",
            "dvcqg:read",
            "ops:read",
            "dancu:lookup",
            "officers:admin",
            "governance:read",
            "identity:login",
            "payment:create",
            "payment:read",
            "events:read",
            "esign:sign",
            "esign:verify",
            "postal:ship",
            "postal:read",
        ],
    )
    server, task = await _serve(create_app(gw, start=False), gateway_port)
    say(f"▶ gateway on http://127.0.0.1:{gateway_port} (client 'case-system' created)")
    demo = Demo(dossiers=dossiers, seed=seed, say=say)
    try:
        async with (
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{gateway_port}",
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            ) as api,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{sandbox_port}", timeout=30) as sim,
        ):
            await demo.run(api, sim)
    except Exception as exc:
        demo.check(False, f"the run itself failed: {type(exc).__name__}: {exc}")
    finally:
        server.should_exit = True
        await task  # stops the workers and seals what is left of the log
        sandbox.should_exit = True
        await sandbox_task
    await gw.aclose()
    say("▶ lgsp audit verify")
    # the operators' command itself, in a process of its own, on the demo's database
    verify = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from gateway.cli import main; main()", "audit", "verify"],
        env={**_clean_env(), "LGSP_DATABASE_URL": settings.database_url, "LGSP_LOG_LEVEL": "ERROR"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    for line in (verify.stdout + verify.stderr).strip().splitlines():
        say(f"  {line}")
    demo.check(
        verify.returncode == 0
        and "chain intact" in verify.stdout
        and "not yet sealed" not in verify.stdout,
        "lgsp audit verify: the exchange log's hash chain is intact and fully sealed",
    )
    if demo.failures:
        say(f"DEMO FAILED: {len(demo.failures)} check(s) did not hold")
        return 1
    say("DEMO PASSED: every check held")
    return 0


def run_demo(*, dossiers: int = 12, seed: int = 2024, keep: Path | None = None) -> int:
    configure_logging("WARNING", json_lines=False)
    quiet_simulated_drops()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(_main(dossiers, seed, keep))
    with tempfile.TemporaryDirectory(prefix="lgsp-demo-") as tmp:
        return asyncio.run(_main(dossiers, seed, Path(tmp)))
