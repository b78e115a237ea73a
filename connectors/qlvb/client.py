"""Async client of the document exchange axis, over the gateway's recording client.

**The wire is this project's profile.** The VXP SDK (``PVN-Organization/API-Gateway-iOffice``,
``JDK 1.8/SDKVXP_Example/src/main/java/com/vpcp/example/ServiceTest.java`` and
``resources/collaboration.properties``) hides its HTTP transport in a jar; what is public is its
operations, their header JSON and their answers. This client speaks one HTTP call per SDK
operation, with the SDK's names:

* ``POST {base_url}/sendEdoc``: the edXML package as the body (``application/xml``), the SDK's
  header JSON ``{"from", "servicetype": "eDoc", "messagetype": "edoc"}`` in the ``header``
  HTTP header; answer ``{status: "OK", ErrorDesc, DocID}``;
* ``POST {base_url}/getReceivedEdocList``: body the header JSON with ``servicetype``
  ``status`` (status packages waiting for us); answer ``{status, ErrorDesc, data: [{id, from,
  servicetype}]}``;
* ``POST {base_url}/getEdoc``: body ``{"docId": id}``; answer the edXML package
  (``application/xml``), or a JSON refusal;
* ``POST {base_url}/updateStatus``: body ``{"docid", "status": "done"|"fail"}`` (acknowledge a
  pulled package); answer ``{status, ErrorDesc}``.

Every call carries the SDK's credentials as HTTP headers ``systemid`` and ``secret`` (headers
are never recorded in the exchange log; the secret is never in an error or a log line).
Through the LGSP (``transport="lgsp"``) the secret is not sent: the LGSP holds it.

Contracts: answers are bounded while read (``max_answer_bytes`` for JSON,
``max_package_bytes`` for packages); an answer's ``status`` other than "OK" is resolved by
``ErrorCode`` (:mod:`connectors.qlvb.errors`; "DUPLICATE" is success; no code, as the SDK
itself answers, is a refusal naming ``ErrorDesc``); transport errors, HTTP
429 and 5xx are transient; read calls are retried up to three times, ``sendEdoc`` is not (the
outbox owns its retries). Wire operations are recorded as ``qlvb.sendEdoc``, ...
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import httpx
from pydantic import BaseModel
from tenacity import wait_exponential_jitter
from tenacity.wait import wait_base

from connectors.qlvb.config import QlvbConfig
from connectors.qlvb.errors import CODES, DUPLICATE, OK
from gateway.core.connector import raise_for_rule
from gateway.core.delivery.resilience import retry_transient
from gateway.core.errors import InvalidUpstreamAnswer
from gateway.core.http.json_answers import JsonPlatform
from schemas import qlvb as wire

__all__ = ["QlvbClient"]

#: what an id the axis hands out may be to be kept and shown (printable ASCII, no space)
_AXIS_ID = re.compile(r"[!-~]{1,100}")

Operation = Literal["sendEdoc", "getReceivedEdocList", "getEdoc", "updateStatus"]


class QlvbClient:
    """One system (``systemid``) on the exchange axis."""

    def __init__(
        self, config: QlvbConfig, http: httpx.AsyncClient, *, retry_wait: wait_base | None = None
    ) -> None:
        self._config = config
        self._wait = retry_wait or wait_exponential_jitter(multiplier=0.2, max=2.0)
        self._http = http
        self._platform = JsonPlatform(
            name="the document exchange axis",
            short="qlvb",
            max_answer_bytes=config.max_answer_bytes,
        )
        self._timeout = httpx.Timeout(config.timeout_seconds)

    def _header(self, servicetype: Literal["eDoc", "status"]) -> str:
        header = wire.ServiceHeader.model_validate(
            {
                "from": self._config.sender.organ_id,
                "servicetype": servicetype,
                "messagetype": "edoc" if servicetype == "eDoc" else "status",
            }
        )
        return json.dumps(header.model_dump(by_alias=True), separators=(",", ":"))

    def _credentials(self) -> dict[str, str]:
        headers = {"systemid": self._config.system_id}
        if self._config.transport == "direct":
            headers["secret"] = self._config.secret.get_secret_value()
        return headers

    async def _post(
        self,
        operation: Operation,
        *,
        content: bytes | None = None,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> httpx.Response:
        url = f"{self._config.base_url}/{operation}"
        try:
            response = await self._http.post(
                url,
                content=content,
                json=json_body,
                headers={**self._credentials(), **(headers or {})},
                timeout=self._timeout,
                extensions={
                    "lgsp_operation": f"qlvb.{operation}",
                    "lgsp_max_response_bytes": max_bytes or self._config.max_answer_bytes,
                },
            )
        except httpx.TransportError as exc:
            raise self._platform.failure(exc, operation, url) from None
        self._platform.check_status(response, operation)
        return response

    def _answer(self, model: type[Any], response: httpx.Response, operation: str) -> Any:
        answer = self._platform.validated(
            model, self._platform.json_object(response, operation), operation
        )
        self._resolve(answer, operation)
        return answer

    @staticmethod
    def _resolve(answer: BaseModel, operation: str) -> None:
        status = str(getattr(answer, "status", ""))
        code = str(getattr(answer, "ErrorCode", "") or "")
        if status.upper() == OK and code in ("", OK):
            return
        # the SDK itself says only "not OK" (ErrorDesc in prose): without our profile's code
        # it is a refusal someone must read, never retried blindly for days
        rule = CODES.resolve(code)
        message = str(getattr(answer, "ErrorDesc", ""))[:200]
        raise_for_rule(rule, code=code or status[:16], message=f"{operation}: {message}")

    # --- operations -----------------------------------------------------------------------------

    async def send_edoc(self, package: bytes) -> wire.SendAnswer:
        """Send one package; a repeat of a DocumentId the axis holds answers its DocID."""
        response = await self._post(
            "sendEdoc",
            content=package,
            headers={"Content-Type": "application/xml", "header": self._header("eDoc")},
        )
        raw = self._platform.json_object(response, "sendEdoc")
        answer = self._platform.validated(wire.SendAnswer, raw, "sendEdoc")
        if answer.DocID and not _AXIS_ID.fullmatch(answer.DocID):
            # stored as the document's axis id and shown: a NUL cannot go in a PostgreSQL text
            # column, a line break or a control would forge log lines and views
            raise InvalidUpstreamAnswer(
                "the document exchange axis's sendEdoc answer has a DocID that is not "
                "printable ASCII"
            )
        if answer.ErrorCode == DUPLICATE:
            return answer
        self._resolve(answer, "sendEdoc")
        if not answer.DocID:
            raise InvalidUpstreamAnswer("the document exchange axis's sendEdoc answer has no DocID")
        return answer

    async def received_list(self) -> list[wire.KnobstickItem]:
        """The status packages waiting for us (``servicetype`` status)."""

        async def once() -> list[wire.KnobstickItem]:
            response = await self._post(
                "getReceivedEdocList", json_body=json.loads(self._header("status"))
            )
            answer: wire.KnobstickList = self._answer(
                wire.KnobstickList, response, "getReceivedEdocList"
            )
            return answer.data

        return await retry_transient(once, attempts=3, wait=self._wait)

    async def get_edoc(self, doc_id: str) -> bytes:
        """The package's bytes (bounded by ``max_package_bytes``), not yet parsed."""

        async def once() -> bytes:
            response = await self._post(
                "getEdoc",
                json_body={"docId": doc_id},
                max_bytes=self._config.max_package_bytes,
            )
            if response.headers.get("content-type", "").startswith("application/json"):
                self._answer(wire.SendAnswer, response, "getEdoc")
                raise InvalidUpstreamAnswer("the axis answered getEdoc without a package")
            return response.content

        return await retry_transient(once, attempts=3, wait=self._wait)

    async def update_status(self, doc_id: str, status: Literal["done", "fail"]) -> None:
        """Acknowledge a pulled package (``done``: taken, ``fail``: unusable)."""
        body = wire.UpdateStatus(docid=doc_id, status=status).model_dump()

        async def once() -> None:
            response = await self._post("updateStatus", json_body=body)
            self._answer(wire.SendAnswer, response, "updateStatus")

        await retry_transient(once, attempts=3, wait=self._wait)
