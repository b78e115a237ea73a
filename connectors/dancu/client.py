"""Async SOAP client of the National Population Database, driven by its WSDL (zeep over httpx).

Contracts:

* The WSDL is read once, when the client is built (a file, or a URL fetched with a bound).
  Operations are posted to ``config.endpoint_url`` whatever address the WSDL names.
* Every request is validated against :mod:`schemas.dancu` before anything is sent; a bad field
  is :class:`~gateway.core.errors.InvalidInput` naming it.
* Each call carries the credential the configured profile asks for
  (:mod:`connectors.dancu.profile`): the officer's ``AuthHash`` in the SOAP header
  (``authhash``, redacted from the exchange log's copy of the request), the province's HTTP
  Basic with a fresh ``timestamp`` per attempt (``basic``; headers are never recorded), or
  none (``lgsp``: the core's LGSP transport authenticates). The SOAP header is then empty,
  ``<soap-env:Header/>``, as public callers send it. No credential appears in an error or a
  log line.
* Answers are bounded (``max_answer_bytes``, enforced while reading); one that declares a DTD
  is refused unread, and the rest are parsed by lxml with entities, DTDs and the network off
  and read straight into :mod:`schemas.dancu`'s models (:mod:`connectors.dancu.soap_answers`).
  A hostile or off-schema answer is :class:`~gateway.core.errors.InvalidUpstreamAnswer`;
  nothing of it is trusted.
* ``MaKetQua`` is resolved through :mod:`connectors.dancu.errors`. Public answers carry none
  (only the ``CongDan`` tree): a look-up answer without it is a success when it holds a
  record and no match when it holds none.
* Look-ups change nothing on the platform, so transient failures are retried a bounded number
  of times with the same request id (``MaYeuCau``, the exchange id when there is one).
* zeep reads the WSDL and builds each envelope from it; the envelope is posted through the
  gateway's recording client. zeep's own loggers print whole envelopes at DEBUG; they are held
  at WARNING here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
import zeep
from lxml import etree
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, wait_exponential_jitter
from tenacity.wait import wait_base
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import SoapBinding

from connectors.dancu.config import DancuConfig
from connectors.dancu.envelope import EnvelopeTemplate, Unsupported
from connectors.dancu.errors import (
    NOT_FOUND,
    SUCCESS,
    CitizenNotFound,
    resolve,
    specific_error,
)
from connectors.dancu.mapping import from_wire, to_wire
from connectors.dancu.models import CongDan, KetQuaXacThuc, YeuCauCongDan
from connectors.dancu.profile import OfficerCredential, WireProfile
from connectors.dancu.soap_answers import (
    SoapFault,
    Unreadable,
    body_element,
    read_answer,
)
from gateway.core.connector import Resolution, raise_for_rule
from gateway.core.errors import (
    FieldError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.recording import ResponseTooLarge, current_attempt
from gateway.core.http.safe_xml import plain_utf8_problem
from gateway.core.validation import field_errors
from schemas import dancu as wire

__all__ = ["LOOKUP", "VERIFY", "DancuClient", "OfficerCredential"]

LOOKUP = "TraCuuThongTinCongDan"
VERIFY = "XacThucThongTinCongDan"
BINDING = "{http://dancuquocgia.bca}DanCuBinding"
_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MAX_WSDL_BYTES = 1024 * 1024

A = TypeVar("A", bound=BaseModel)

for _name in ("zeep", "zeep.transports", "zeep.wsdl", "zeep.xsd"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class HostileAnswer(InvalidUpstreamAnswer):
    """An answer refused unread: a DTD or entity declaration, or larger than the bound."""


class _WsdlLoader(Transport):
    """zeep's transport, used for one thing: reading the WSDL, a file or a URL fetched once
    with a bound. Operations are posted by :class:`DancuClient` through the recording client;
    zeep's own HTTP session is never built."""

    def __init__(self, *, timeout: float) -> None:
        self.cache = None
        self._close_session = False
        self.load_timeout = timeout
        self.operation_timeout = timeout
        self.logger = logging.getLogger(__name__)
        self._timeout = httpx.Timeout(timeout)

    def _load_remote_data(self, url: str) -> bytes:
        body = b""
        with (
            httpx.Client(timeout=self._timeout, follow_redirects=False) as wsdl_client,
            wsdl_client.stream("GET", url) as response,
        ):
            response.raise_for_status()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_WSDL_BYTES:
                    raise ValueError(f"the WSDL at {url} is larger than {MAX_WSDL_BYTES} bytes")
        return body

    def post(self, address: str, message: bytes, headers: Mapping[str, str]) -> Any:
        raise NotImplementedError("operations go through DancuClient, not zeep's transport")

    def get(self, address: str, params: Mapping[str, str], headers: Mapping[str, str]) -> Any:
        raise NotImplementedError("only the WSDL is read through zeep's transport")


class DancuClient:
    """One population-database integration (one ``MaTichHop``), many officers."""

    def __init__(
        self,
        config: DancuConfig,
        http: httpx.AsyncClient,
        *,
        retry_wait: wait_base | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._profile = WireProfile(config, clock=clock)
        self._http = http
        # parsed once: httpx parses a URL given as a string on every request
        self._endpoint = httpx.URL(config.endpoint_url)
        self._timeout = httpx.Timeout(config.timeout_seconds)
        settings = zeep.Settings(
            strict=True,
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
            xml_huge_tree=False,
        )
        # zeep is typed only in part: its constructors carry no annotations
        self._zeep = zeep.Client(  # type: ignore[no-untyped-call]
            config.wsdl,
            transport=_WsdlLoader(timeout=config.timeout_seconds),
            settings=settings,
        )
        binding = self._zeep.wsdl.bindings[BINDING]
        assert isinstance(binding, SoapBinding), f"{BINDING} is no SOAP binding"
        self._binding = binding
        # the envelopes written from the WSDL's layout, byte for byte what zeep writes (zeep
        # still builds any envelope the layout does not cover)
        self._templates: dict[str, EnvelopeTemplate] = {}
        for operation in (LOOKUP, VERIFY):
            if operation in binding._operations:
                with contextlib.suppress(Unsupported):
                    self._templates[operation] = EnvelopeTemplate(binding, operation)
        self._retry_wait = retry_wait or wait_exponential_jitter(multiplier=0.2, max=2)

    @property
    def operations(self) -> frozenset[str]:
        """The operations the loaded WSDL declares."""
        return frozenset(self._binding._operations)

    async def lookup(self, request: YeuCauCongDan, officer: OfficerCredential) -> CongDan:
        """TraCuuThongTinCongDan: the citizen, or :class:`CitizenNotFound`."""
        answer = await self._call(LOOKUP, request, officer, wire.CongdanCollection)
        # public answers carry no MaKetQua: the record, or its absence, is the answer
        code = answer.MaKetQua or (SUCCESS if answer.CongDan else NOT_FOUND)
        self._raise_for_code(code, answer.MoTaKetQua, officer)
        if not answer.CongDan:
            raise InvalidUpstreamAnswer(
                "the platform answered success without a citizen",
                errors=[FieldError("CongdanCollection.CongDan", "missing")],
            )
        record = answer.CongDan[0]
        old_card = len(request.so_dinh_danh) == 9
        number, field = (record.SoCMND, "SoCMND") if old_card else (record.SoDinhDanh, "SoDinhDanh")
        if number != request.so_dinh_danh:
            raise InvalidUpstreamAnswer(
                "the platform answered with another citizen than the one asked for",
                errors=[FieldError(f"CongdanCollection.CongDan[0].{field}", "not the number")],
            )
        try:
            return from_wire(record)
        except ValueError as exc:
            raise InvalidUpstreamAnswer(
                "the citizen record breaks its schema",
                errors=[FieldError("CongdanCollection.CongDan[0]", str(exc))],
            ) from None

    async def verify(self, request: YeuCauCongDan, officer: OfficerCredential) -> KetQuaXacThuc:
        """XacThucThongTinCongDan: do the stated number, name and birth date match?"""
        answer = await self._call(VERIFY, request, officer, wire.KetQuaXacThuc)
        if answer.MaKetQua == NOT_FOUND:
            return KetQuaXacThuc(khop=False)
        self._raise_for_code(answer.MaKetQua, answer.MoTaKetQua, officer)
        if answer.TonTai is None:
            raise InvalidUpstreamAnswer(
                "the platform answered success without TonTai",
                errors=[FieldError("KetQuaXacThuc.TonTai", "missing")],
            )
        return KetQuaXacThuc(khop=answer.TonTai)

    async def fetch_wsdl(self) -> bytes:
        """``GET {endpoint}?wsdl`` through the recording client (health checks)."""
        response = await self._http.get(
            self._endpoint,
            params={"wsdl": ""},
            timeout=httpx.Timeout(self._config.timeout_seconds),
            extensions={"lgsp_operation": "wsdl", "lgsp_max_response_bytes": MAX_WSDL_BYTES},
        )
        response.raise_for_status()
        return bytes(response.content)

    # --- internals --------------------------------------------------------------------------

    async def _call(
        self,
        operation: str,
        request: YeuCauCongDan,
        officer: OfficerCredential,
        answer_model: type[A],
    ) -> A:
        ctx = current_attempt()
        request_id = ctx.parent_id if ctx and ctx.parent_id else uuid.uuid4().hex
        try:
            packet = to_wire(
                request,
                ma_yeu_cau=request_id,
                ma_tich_hop=self._config.ma_tich_hop,
                officer=officer,
                profile=self._profile,
            )
        except ValidationError as exc:
            raise InvalidInput(
                "the request cannot be sent to the population database",
                errors=field_errors(exc),
            ) from None
        fields: dict[str, Any] = packet.model_dump(exclude_none=True)
        soap_headers = self._profile.soap_headers(officer)
        message, headers = self._envelope(operation, fields, soap_headers)

        async def attempt() -> A:
            # signed per attempt: the basic profile's timestamp must be fresh on every one
            signed = self._profile.sign(headers, officer)
            try:
                response = await self._http.post(
                    self._endpoint,
                    content=message,
                    headers=signed.headers,
                    timeout=self._timeout,
                    extensions={
                        "lgsp_operation": operation,
                        "lgsp_redact": signed.redact,
                        "lgsp_max_response_bytes": self._config.max_answer_bytes,
                    },
                )
            except httpx.HTTPError as exc:
                raise _transport_error(exc) from None
            answer = self._answer(response, answer_model, self._secrets(officer))
            # codes asking for a retry are raised here, inside the retry loop
            code: str = getattr(answer, "MaKetQua", None) or ""
            if resolve(code).resolution is Resolution.RETRY:
                self._raise_for_code(code, getattr(answer, "MoTaKetQua", None), officer)
            return answer

        # at most read_retry_attempts, waiting self._retry_wait (a tenacity wait) between
        # them; a plain loop rather than tenacity's AsyncRetrying, whose machinery costs more
        # than the one attempt most calls make
        attempts = max(1, self._config.read_retry_attempts)
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        while True:
            try:
                return await attempt()
            except HostileAnswer:
                raise  # a hostile or oversize answer is not asked for again: no accident
            except TransientUpstreamError:
                if state.attempt_number >= attempts:
                    raise
            await asyncio.sleep(self._retry_wait(state))
            state.attempt_number += 1

    def _envelope(
        self, operation: str, fields: dict[str, Any], soap_headers: dict[str, str]
    ) -> tuple[bytes, dict[str, str]]:
        """The request's envelope and zeep's HTTP headers for it (SOAPAction, Content-Type)."""
        template = self._templates.get(operation)
        if template is not None:
            message = template.render(fields, soap_headers)
            if message is not None:
                return message, dict(template.http_headers)
        if soap_headers:
            fields = {**fields, "_soapheaders": soap_headers}
        # zeep builds the envelope from the WSDL (field order, namespaces, the AuthHash header)
        envelope, headers = self._binding._create(  # type: ignore[no-untyped-call]
            operation, (), fields, client=self._zeep
        )
        if envelope.find(f"{{{_SOAP_ENV}}}Header") is None:
            # public callers send <soapenv:Header/> even empty (OpenCPS createRequestSoap L119)
            envelope.insert(0, etree.Element(f"{{{_SOAP_ENV}}}Header"))
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), headers

    def _secrets(self, officer: OfficerCredential) -> tuple[str, ...]:
        return self._profile.secrets(officer)

    @staticmethod
    def _answer(response: httpx.Response, model: type[A], secrets: tuple[str, ...]) -> A:
        """The answer read into ``model``, or the error its status, fault or content tells."""
        status = response.status_code
        content = response.content
        problem = plain_utf8_problem(content)
        if problem is not None:
            # refused before any parser sees it: nothing of a DTD is needed to read an answer,
            # and an answer in UTF-16 would hide its DOCTYPE from the check (issue 15)
            kind = "DTDForbidden" if "DTD" in problem else "NotUTF8"
            raise HostileAnswer(f"the platform's answer was refused unread: {kind} ({problem})")
        try:
            element = body_element(content)
        except SoapFault as fault:
            raise _fault_error(fault, status, secrets) from None
        except Unreadable as exc:
            if status >= 400:
                raise _status_error(status) from None
            raise _unread(exc) from None
        if status >= 400:
            # an error status without a soap:Fault
            raise _status_error(status)
        try:
            return read_answer(element, model)
        except Unreadable as exc:
            raise _unread(exc) from None

    def _raise_for_code(self, code: str, message: str | None, officer: OfficerCredential) -> None:
        # the platform's text is kept for the operator, without the credential if echoed
        text = _scrubbed(message or "", self._secrets(officer))[:300]
        rule = resolve(code)
        if code == NOT_FOUND:
            raise CitizenNotFound(rule.description)
        specific = specific_error(code)
        if specific is not None:
            detail = f"{rule.description} (code {code})" + (f": {text}" if text else "")
            raise specific(detail, code=code)
        raise_for_rule(rule, code=code, message=text)


def _unread(exc: Unreadable) -> InvalidUpstreamAnswer:
    return InvalidUpstreamAnswer(f"the platform's answer was refused unread: {exc}")


def _scrubbed(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` without the credentials (the officer's password or AuthHash, the province's
    secret), should the platform echo them."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _transport_error(exc: httpx.HTTPError) -> Exception:
    if isinstance(exc, ResponseTooLarge):
        return HostileAnswer(f"the platform's answer was refused: {exc}")
    return TransientUpstreamError(f"the population database is unreachable: {type(exc).__name__}")


def _status_error(status: int | None) -> Exception:
    """An error status (or, ``None``, a fault that names no code) as the gateway's error."""
    if status in (401, 403):
        return UpstreamAuthError(f"the integration platform refused the gateway (HTTP {status})")
    if status is None or status == 429 or status >= 500:
        return TransientUpstreamError(f"the population database failed (HTTP {status})")
    return PermanentUpstreamError(f"the population database refused the request (HTTP {status})")


def _fault_error(fault: SoapFault, status: int, secrets: tuple[str, ...]) -> Exception:
    if status in (401, 403):
        # refused before the call was read: the HTTP credential (Basic, its timestamp) or the
        # LGSP's; the fault's text says which check failed
        reason = _scrubbed(fault.message, secrets)[:200]
        return UpstreamAuthError(
            f"the platform refused the gateway's credential (HTTP {status}): {reason}"
        )
    if not fault.code:
        # no faultcode to tell whose fault it is: the status tells, else it counts as theirs
        return _status_error(status if status >= 400 else None)
    # SOAP 1.1 fault codes: Client (our request) or Server (theirs); the message is the
    # platform's own text, without the credential should it echo it
    reason = _scrubbed(fault.message, secrets)[:200]
    if fault.code.endswith("Client"):
        return PermanentUpstreamError(f"the platform refused the request (SOAP Fault): {reason}")
    return TransientUpstreamError(f"the platform failed (SOAP Fault {fault.code}): {reason}")
