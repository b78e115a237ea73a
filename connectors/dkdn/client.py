"""Async client of the National Business Registration Database (JSON over HTTP, httpx).

Contracts:

* One operation, the look-up by enterprise code: ``GET`` the profile's path with the code as
  the query (``msdn``; ``MaSoDoanhNghiep`` on ``lgsp-hcm``), paths and names from the public
  callers (``docs/research/issue-23-sources.md`` section 2; :mod:`connectors.dkdn.config`).
  The code is checked against :data:`schemas.dkdn.MSDN_PATTERN` before anything is sent.
* ``ngsp``: a bearer token from NGSP's token endpoint (HTTP Basic consumer key:secret, form
  ``grant_type=client_credentials``, the OAuth 2 exchange OpenCPS's NGSP SDK makes), fetched
  once, cached until ``token_renewal_margin_seconds`` before it expires, renewed once when a
  call is refused with 401. Through the core's LGSP transport no token of ours is sent. The
  secret is redacted from the exchange log's copy of the token request, the token blanked in
  its copy of the answer; neither appears in an error or a log line.
* The look-up changes nothing, so transient failures (transport errors, 429, 5xx, malformed
  answers) are retried up to ``read_retry_attempts`` in all; every attempt is recorded under
  the one exchange entry by the gateway's recording client.
* Answers are bounded (``max_answer_bytes``), parsed as JSON and validated against
  :mod:`schemas.dkdn` before anything is read: an answer outside the schema, or naming another
  enterprise than the one asked for, is :class:`~connectors.dkdn.errors.MalformedAnswer` (502)
  naming the field. "Not found" is an answer (``None``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import wait_exponential_jitter
from tenacity.wait import wait_base

from connectors.dkdn.config import DkdnConfig
from connectors.dkdn.errors import (
    HCM_SUCCESS,
    EnterpriseCodeRefused,
    MalformedAnswer,
    resolve,
)
from connectors.dkdn.mapping import from_entcert, from_hcm, from_ngsp
from connectors.dkdn.models import DoanhNghiep
from gateway.core.connector import raise_for_rule
from gateway.core.delivery.resilience import retry_transient
from gateway.core.errors import FieldError, InvalidInput, UpstreamAuthError
from gateway.core.http.json_answers import JsonPlatform
from gateway.core.validation import field_errors
from schemas import dkdn as wire

__all__ = ["LOOKUP", "PATHS", "TOKEN", "DkdnClient"]

LOOKUP = "dkdn.lookup_enterprise"
TOKEN = "dkdn.token"  # noqa: S105 - an operation name, not a secret
#: the look-up path of each profile (OpenCPS ``CTDN_NGSP_URL``; PASETO
#: ``GetTraCuuThongTinDoanhNghiepQueryHandler``; the HCM LGSP script)
PATHS = {
    "ngsp": "/apiCSDLDKDN/1.0/chiTietDoanhNghiep",
    "lgsp-entcert": "/apiDKKD/DoanhNghiep/chiTietDoanhNghiep",
    "lgsp-hcm": "/TraCuuThongTinDoanhNghiep",
}
_QUERY = {"ngsp": "msdn", "lgsp-entcert": "msdn", "lgsp-hcm": "MaSoDoanhNghiep"}
_MSDN = re.compile(wire.MSDN_PATTERN, re.ASCII)
_BEARER = "Bearer"
#: what a token and its type may be to travel in a header (RFC 6750 b64token is narrower;
#: printable ASCII, no space, is what a header can carry without splitting or re-encoding)
_HEADER_TOKEN = re.compile(r"[!-~]+")
_TOKEN_TYPE = re.compile(r"[A-Za-z0-9_.-]{1,32}")

M = TypeVar("M", bound=BaseModel)


def _blank_token(content: bytes) -> bytes:
    """The token answer as recorded: the token itself blanked."""
    try:
        raw = json.loads(content)
    except ValueError:
        return b"(unreadable token answer)"
    if isinstance(raw, dict):
        for key in ("access_token", "refresh_token"):
            if key in raw:
                raw[key] = "***"
    return json.dumps(raw).encode()


class DkdnClient:
    """One integration with the register (one consumer key), many look-ups."""

    def __init__(
        self,
        config: DkdnConfig,
        http: httpx.AsyncClient,
        *,
        retry_wait: wait_base | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._timeout = httpx.Timeout(config.timeout_seconds)
        self._platform = JsonPlatform("the business register", "dkdn", config.max_answer_bytes)
        self._retry_wait = retry_wait or wait_exponential_jitter(multiplier=0.2, max=2)
        self._url = config.base_url + (config.path or PATHS[config.profile])
        self._token_url = config.token_url or f"{config.base_url}/token"
        self._token: str | None = None
        self._token_type = _BEARER
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()
        #: tokens fetched so far (health and tests)
        self.tokens_fetched = 0

    @property
    def _fetches_token(self) -> bool:
        return self._config.profile == "ngsp" and self._config.transport != "lgsp"

    async def lookup(self, msdn: str) -> DoanhNghiep | None:
        """The enterprise with code ``msdn``, or ``None`` when the register has none."""
        if not _MSDN.fullmatch(msdn):
            raise InvalidInput(
                "not an enterprise code",
                errors=[FieldError("ma_so_doanh_nghiep", "10 digits, or 10 digits-3 digits")],
            )
        return await retry_transient(
            lambda: self._lookup_once(msdn),
            attempts=self._config.read_retry_attempts,
            wait=self._retry_wait,
        )

    # --- one attempt ---------------------------------------------------------------------------

    async def _lookup_once(self, msdn: str) -> DoanhNghiep | None:
        raw = await self._get(msdn)
        table = self._config.status_codes
        try:
            match self._config.profile:
                case "ngsp":
                    found = from_ngsp(self._validated(wire.NgspAnswer, raw), table)
                    where = "Data.MainInformation.ENTERPRISE_GDT_CODE"
                case "lgsp-entcert":
                    found = from_entcert(self._validated(wire.EntCertAnswer, raw), table)
                    where = "GetEntCert[0].MaSoDoanhNghiep"
                case _:
                    answer = self._validated(wire.HcmAnswer, raw)
                    self._check_envelope(answer)
                    found = from_hcm(answer, table)
                    where = "ResultObject.ENTERPRISE_GDT_CODE"
        except ValueError as exc:  # a required field missing, a date unreadable
            loc, _, msg = str(exc).partition(": ")
            raise MalformedAnswer(
                f"the business register's answer breaks its schema: {exc}",
                errors=[FieldError(loc, msg or "invalid")],
            ) from None
        if found is None:
            return None
        if found.ma_so_doanh_nghiep.strip() != msdn:
            raise MalformedAnswer(
                "the business register answered with another enterprise than the one asked for",
                errors=[FieldError(where, "not the enterprise code asked for")],
            )
        return found.model_copy(update={"ma_so_doanh_nghiep": msdn})  # padding dropped

    def _check_envelope(self, answer: wire.HcmAnswer) -> None:
        status = (answer.Status or "").upper() or HCM_SUCCESS
        if answer.ThrowException or status != HCM_SUCCESS:
            rule = resolve(status if status in ("FAIL", "ERROR") else "ERROR")
            raise_for_rule(rule, code=status[:16], message=(answer.Description or "")[:200])

    async def _get(self, msdn: str) -> dict[str, Any]:
        token = await self._ensure_token() if self._fetches_token else None
        for renewed in (False, True):
            response = await self._send(
                "GET",
                self._url,
                LOOKUP,
                params={_QUERY[self._config.profile]: msdn},
                headers=self._auth_headers(token),
            )
            if response.status_code == 401 and self._fetches_token and not renewed:
                token = await self._ensure_token(stale=token)
                continue
            if response.status_code in (401, 403):
                raise UpstreamAuthError(
                    f"the business register refused the gateway: HTTP {response.status_code}"
                )
            if response.status_code == 400:
                raise EnterpriseCodeRefused(
                    resolve("400").description,
                    code="400",
                    errors=[FieldError("ma_so_doanh_nghiep", "refused by the register")],
                )
            if response.status_code == 404:
                raise_for_rule(resolve("404"), code="404", message="")
            return self._json(response, LOOKUP)
        raise UpstreamAuthError("the business register refused a freshly renewed token")

    def _auth_headers(self, token: str | None) -> dict[str, str]:
        if self._config.transport == "lgsp":
            return {}  # the core's LGSP transport adds the LGSP's token
        if token is not None:
            return {"Authorization": f"{self._token_type} {token}"}
        access_key = self._config.access_key.get_secret_value()
        if self._config.profile == "lgsp-hcm" and access_key:
            return {"Authorization": access_key}
        return {}

    # --- the token (ngsp) ---------------------------------------------------------------------

    async def _ensure_token(self, *, stale: str | None = None) -> str:
        """The cached token, fetched when there is none, it is about to expire, or it is the
        ``stale`` one a call was just refused with (then renewed once for all waiters)."""
        async with self._token_lock:
            now = self._clock()
            if self._token is not None and self._token != stale and now < self._token_until:
                return self._token
            self._token = None
            answer = await retry_transient(
                self._fetch_token, attempts=self._config.read_retry_attempts, wait=self._retry_wait
            )
            lifetime = float(answer.expires_in or 3600)
            margin = min(self._config.token_renewal_margin_seconds, lifetime / 2)
            self._token = answer.access_token
            kind = (answer.token_type or "").strip()
            self._token_type = _BEARER if kind.lower() in ("", "bearer") else kind
            self._token_until = self._clock() + lifetime - margin
            self.tokens_fetched += 1
            return self._token

    async def _fetch_token(self) -> wire.NgspTokenAnswer:
        secret = self._config.consumer_secret.get_secret_value()
        pair = f"{self._config.consumer_key}:{secret}".encode()
        basic = base64.b64encode(pair).decode("ascii")
        response = await self._send(
            "POST",
            self._token_url,
            TOKEN,
            form={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
            redact=(secret.encode(), basic.encode()),
            scrub=_blank_token,
        )
        if response.status_code in (400, 401, 403):
            raise UpstreamAuthError(
                f"NGSP refused the gateway's consumer key: HTTP {response.status_code}"
            )
        answer = self._validated(wire.NgspTokenAnswer, self._json(response, TOKEN))
        # a token that cannot travel in a header (CR/LF, controls, non-ASCII) would split the
        # look-up's headers or fail to encode (a 500): refused here, never quoted
        if not _HEADER_TOKEN.fullmatch(answer.access_token):
            raise MalformedAnswer(
                "NGSP's token answer holds a token that cannot be sent in a header",
                errors=[FieldError("access_token", "printable ASCII without spaces")],
            )
        kind = (answer.token_type or "").strip()
        if kind and not _TOKEN_TYPE.fullmatch(kind):
            raise MalformedAnswer(
                "NGSP's token answer holds a token type that cannot be sent in a header",
                errors=[FieldError("token_type", "a word of ASCII letters and digits")],
            )
        return answer

    # --- internals ------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        operation: str,
        *,
        params: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        redact: tuple[bytes, ...] = (),
        scrub: Callable[[bytes], bytes] | None = None,
    ) -> httpx.Response:
        extensions: dict[str, Any] = {
            "lgsp_operation": operation,
            "lgsp_max_response_bytes": self._config.max_answer_bytes,
        }
        if redact:
            extensions["lgsp_redact"] = redact
        if scrub is not None:
            extensions["lgsp_scrub_answer"] = scrub
        try:
            response = await self._http.request(
                method,
                url,
                params=params,
                data=form,
                headers=headers or None,
                timeout=self._timeout,
                extensions=extensions,
            )
        except httpx.TransportError as exc:
            # the message names the failure and the URL without its query, never a secret
            raise self._platform.failure(exc, operation, url) from None
        # 401/403 and 400/404 are read by the caller
        if response.status_code not in (400, 404):
            self._platform.check_status(response, operation, auth_is_refusal=False)
        return response

    def _json(self, response: httpx.Response, operation: str) -> dict[str, Any]:
        if len(response.content) > self._config.max_answer_bytes:
            return self._platform.json_object(response, operation)  # raises: too large
        try:
            raw = json.loads(response.content)
        except ValueError:
            raise MalformedAnswer(
                f"the business register's {operation} answer is not JSON",
                errors=[FieldError("(body)", "not JSON")],
            ) from None
        if not isinstance(raw, dict):
            raise MalformedAnswer(
                f"the business register's {operation} answer is not a JSON object",
                errors=[FieldError("(body)", "not a JSON object")],
            )
        return raw

    @staticmethod
    def _validated(model: type[M], raw: dict[str, Any]) -> M:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise MalformedAnswer(
                "the business register's answer breaks its schema: "
                f"{errors[0].loc}: {errors[0].msg}",
                errors=errors,
            ) from None
