"""The identity connector: OpenID Connect logins at VNeID and DVCQG SSO.

Nothing is delivered through the outbox (``operations`` is empty); logins are synchronous and
go through :mod:`connectors.vneid.login`, one :class:`~connectors.vneid.client.OidcClient` per
provider behind one code path.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from connectors.vneid.client import OidcClient
from connectors.vneid.config import PROVIDERS, ProviderName, VneidConfig
from gateway.core.connector import Actor, CheckResult, Delivered, ErrorRule, Resolution
from gateway.core.errors import NotFound, PermanentUpstreamError, UpstreamError

__all__ = ["ERROR_TABLE", "VneidConnector"]

#: the OAuth 2.0 error codes a provider answers with (RFC 6749 §5.2) and what they mean here
ERROR_TABLE: Mapping[str, ErrorRule] = {
    "ok": ErrorRule(Resolution.SUCCESS, Actor.NONE, "the provider answered"),
    "invalid_grant": ErrorRule(
        Resolution.REJECT, Actor.CALLER, "the code is wrong, expired or already used"
    ),
    "invalid_client": ErrorRule(
        Resolution.REJECT, Actor.CONFIGURATION, "the provider refused the client credentials"
    ),
    "invalid_request": ErrorRule(
        Resolution.REJECT, Actor.CONFIGURATION, "the provider found the request malformed"
    ),
    "unauthorized_client": ErrorRule(
        Resolution.REJECT, Actor.CONFIGURATION, "the client may not use this grant"
    ),
    "temporarily_unavailable": ErrorRule(
        Resolution.RETRY, Actor.TRANSIENT, "the provider is temporarily unavailable"
    ),
    "server_error": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the provider failed"),
}


class VneidConnector:
    slug: ClassVar[str] = "vneid"
    operations: ClassVar[frozenset[str]] = frozenset()
    error_table: ClassVar[Mapping[str, ErrorRule]] = ERROR_TABLE

    def __init__(self, config: VneidConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.clients: dict[ProviderName, OidcClient] = {
            name: OidcClient(config.provider(name), http, jwks_ttl_seconds=config.jwks_ttl_seconds)
            for name in PROVIDERS
        }

    def client(self, provider: str) -> OidcClient:
        found: OidcClient | None = self.clients.get(provider)  # type: ignore[call-overload]
        if found is None:
            raise NotFound(f"no identity provider {provider!r}; known: {', '.join(PROVIDERS)}")
        return found

    async def check(self) -> CheckResult:
        """Both providers serve a valid discovery document."""
        started = time.perf_counter()
        failed: list[str] = []
        for name, client in self.clients.items():
            try:
                await client.metadata()
            except (UpstreamError, httpx.HTTPError) as exc:
                failed.append(f"{name}: {type(exc).__name__}")
        latency = (time.perf_counter() - started) * 1000
        if failed:
            return CheckResult(False, "discovery failed: " + "; ".join(failed), latency)
        return CheckResult(True, "discovery served by both providers", latency)

    async def deliver(self, operation: str, payload: Mapping[str, Any]) -> Delivered:
        raise PermanentUpstreamError(
            f"vneid delivers nothing through the outbox (asked for {operation!r})"
        )

    async def aclose(self) -> None:
        """The HTTP client is the gateway's."""
