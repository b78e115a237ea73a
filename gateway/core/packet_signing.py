"""Signed packets across connectors (``LGSP_PACKET_SIGNING__*``, see
:class:`~gateway.core.settings.PacketSigningSettings`).

* Outbound: :class:`PacketSigningTransport` sits in front of a connector's recording transport
  and, for each request with a JSON body, has the signing connector (a
  :class:`~gateway.core.connector.PacketSigner`, found in the registry) sign the parsed packet
  and puts the detached signature in the configured header. Every attempt is signed anew. The
  signing service's own calls are recorded under the same exchange as the request they sign.
  When the signer cannot sign (its service is down), the request is not sent: the error goes
  to the caller (a delivery retries it).
* Inbound: :func:`check_inbound` refuses a packet of a ``verify_inbound`` connector whose
  signature header is missing or does not verify (401, logged).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from gateway.core.connector import PacketSigner
from gateway.core.errors import ConfigurationError, GatewayError
from gateway.core.http.recording import current_attempt

__all__ = ["PacketSignatureMissing", "PacketSigningTransport", "check_inbound", "find_signer"]

log = structlog.get_logger("gateway.packet_signing")


class PacketSignatureMissing(GatewayError):
    status = 401
    type_slug = "packet-signature-missing"
    title = "The packet carries no signature"


def find_signer(connectors: dict[str, Any]) -> PacketSigner | None:
    """The configured connector that signs packets, if any."""
    return next((c for c in connectors.values() if isinstance(c, PacketSigner)), None)


class PacketSigningTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        connector: str,
        header: str,
        signer: Callable[[], PacketSigner | None],
    ) -> None:
        self._inner = inner
        self._connector = connector
        self._header = header
        self._signer = signer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "json" in request.headers.get("content-type", "") and request.content:
            signer = self._signer()
            if signer is None:
                raise ConfigurationError(
                    f"packet signing is asked for {self._connector} but no signing connector "
                    "(one offering PacketSigner) is configured"
                )
            ctx = current_attempt()
            purpose = f"{self._connector}:{ctx.operation if ctx else request.url.path}"
            token = await signer.sign_packet(json.loads(request.content), purpose=purpose)
            request.headers[self._header] = token
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def check_inbound(
    *, connector: str, settings: Any, connectors: dict[str, Any], headers: Any, packet: Any
) -> None:
    """Refuse (raise) an inbound packet of ``connector`` that must be signed and is not, or
    whose signature does not verify; return when it need not be signed or verifies."""
    if connector not in settings.verify_inbound:
        return
    token = headers.get(settings.header)
    if not token:
        log.warning("packet_signature_missing", source=connector)
        raise PacketSignatureMissing(
            f"packets from {connector} must carry a signature in {settings.header}"
        )
    signer = find_signer(connectors)
    if signer is None:
        raise ConfigurationError(
            f"packets from {connector} must be verified but no signing connector is configured"
        )
    await signer.verify_packet(packet, token, source=connector)
