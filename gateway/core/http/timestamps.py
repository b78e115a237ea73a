"""RFC 3161 timestamps from a timestamp authority, over one of the gateway's HTTP clients.

pyHanko builds the request and checks the answer (nonce, message imprint, status); this class
only carries the bytes. pyHanko's own HTTP timestamper uses aiohttp with a session of its own,
which would bypass the exchange log and the injected transport, hence this small subclass.
Used by the signing connector (signature timestamps) and by the exchange log (anchoring its
checkpoints, :mod:`gateway.core.log.anchoring`).
"""

from __future__ import annotations

import httpx
from asn1crypto import tsp
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from gateway.core.http.recording import ResponseTooLarge

__all__ = ["MAX_TSA_ANSWER_BYTES", "HttpxTimeStamper"]

#: a timestamp reply with its certificates is a few KiB
MAX_TSA_ANSWER_BYTES = 256 * 1024


class HttpxTimeStamper(TimeStamper):
    def __init__(
        self, http: httpx.AsyncClient, url: str, *, timeout: float, operation: str = "tsa"
    ) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._http = http
        self._url = url
        self._timeout = httpx.Timeout(timeout)
        self._operation = operation

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            response = await self._http.post(
                self._url,
                content=req.dump(),
                headers={"Content-Type": "application/timestamp-query"},
                timeout=self._timeout,
                extensions={
                    "lgsp_operation": self._operation,
                    "lgsp_max_response_bytes": MAX_TSA_ANSWER_BYTES,
                },
            )
        except (httpx.TransportError, ResponseTooLarge) as exc:
            raise TimestampRequestError(
                f"timestamp authority unreachable: {type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise TimestampRequestError(f"timestamp authority answered HTTP {response.status_code}")
        if response.headers.get("content-type", "").split(";")[0] != "application/timestamp-reply":
            raise TimestampRequestError("timestamp authority answered no timestamp-reply")
        try:
            return tsp.TimeStampResp.load(response.content)
        except ValueError:
            raise TimestampRequestError("timestamp authority answered malformed DER") from None
