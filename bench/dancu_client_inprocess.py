"""In-process cost of one DancuClient look-up (no network: httpx.MockTransport answers).

Usage: PYTHONPATH=<tree> .venv/bin/python bench/dancu_client_inprocess.py [N]
Prints the CPU microseconds per look-up (median of 5 rounds of N); run it with PYTHONPATH on
two trees, alternated, to compare them. Prints its figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import date

import httpx
from pydantic import SecretStr
from tenacity import wait_none

from connectors.dancu.client import DancuClient
from connectors.dancu.config import DancuConfig
from connectors.dancu.models import YeuCauCongDan
from connectors.dancu.profile import OfficerCredential
from tests.connectors.dancu import answers


async def main(n: int) -> None:
    body = answers.lookup()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    async with httpx.AsyncClient(transport=transport) as http:
        client = DancuClient(
            DancuConfig(endpoint_url="http://sandbox/ws"), http, retry_wait=wait_none()
        )
        ask = YeuCauCongDan(
            so_dinh_danh=answers.SO_DINH_DANH,
            ho_va_ten=answers.HO_VA_TEN,
            ngay_sinh=date.fromisoformat(answers.NGAY_SINH),
            ma_tthc="1.001776",
            ma_ho_so="000.00.01.H22-240105-0007",
        )
        officer = OfficerCredential(
            ma_can_bo="CB0001", username="canbo0001", password=SecretStr("sandbox-canbo0001")
        )
        for _ in range(200):
            await client.lookup(ask, officer)
        rounds = []
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(n):
                await client.lookup(ask, officer)
            rounds.append((time.process_time() - t0) / n * 1e6)
    print(
        f"{statistics.median(rounds):.0f} us CPU per client look-up (rounds: "
        + ", ".join(f"{r:.0f}" for r in rounds)
        + ")"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
