"""What the document management tests share: a client of the simulated exchange axis, and the
axis itself (its simulator, its status pusher and that client)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.connectors.qlvb.support import Axis, axis_of


@pytest.fixture
async def platform(sandbox_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as client:
        yield client


@pytest.fixture
def axis(sandbox_app: Any, platform: httpx.AsyncClient) -> Axis:
    return axis_of(sandbox_app, platform)
