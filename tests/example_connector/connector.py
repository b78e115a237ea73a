"""The example platform's connector: ``POST {base_url}/notes`` delivers a note."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import Field

from gateway.core.connector import CheckResult, ConnectorConfig, Delivered, ErrorRule
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError


class ExampleConfig(ConnectorConfig):
    base_url: str = Field("http://example.invalid", description="the platform's address")


class ExampleConnector:
    slug: ClassVar[str] = "example"
    operations: ClassVar[frozenset[str]] = frozenset({"send_note"})
    error_table: ClassVar[Mapping[str, ErrorRule]] = {}

    def __init__(self, config: ExampleConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http

    async def check(self) -> CheckResult:
        answer = await self.http.get(f"{self.config.base_url}/health")
        return CheckResult(answer.status_code == 200, f"HTTP {answer.status_code}")

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        if operation not in self.operations:
            raise PermanentUpstreamError(f"no operation {operation!r}")
        answer = await self.http.post(f"{self.config.base_url}/notes", json=dict(payload))
        if answer.status_code >= 500:
            raise TransientUpstreamError(f"the example platform answered {answer.status_code}")
        return Delivered(detail="note kept", upstream_ref=str(answer.json()["id"]))

    async def aclose(self) -> None:
        """Nothing to close: the HTTP client is the core's."""
