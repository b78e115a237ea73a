"""How the simulated platform authenticates a caller, before it reads the SOAP call.

Three ways are in public use; the platform accepts each:

``basic``
    HTTP ``Authorization: Basic base64(user:sha256hex(url + user + timestamp + secret))``
    with a ``timestamp`` header, the SOAP header empty. The user and secret are the
    province's integration account (configuration of the caller, not an officer's): a PHP
    caller (``traCuuThongTinCongDanC06``: ``C06_API_TRA_CUU_CONG_DAN_USER``/``PASSWORD``
    system parameters, ``hash('sha256', $sv_url . $username . $timestamp . $password)``,
    ``CURLOPT_USERPWD``, header ``timestamp: <seconds>``) and a C# caller (class
    ``CallApi037``: ``C06_userName``/``C06_secretKey`` app settings, the same string hashed,
    lower-case hex, header ``Timestamp: <milliseconds>``). Both hash a configured URL (the
    PHP ``BCA_C06_API_CONFIG_url``, the C# ``C06_url_xacthuc``), not necessarily the one they
    post to; an account here may name that URL, else the URL the request was posted to is
    the one expected. The timestamp is read in seconds or, when it has 13 digits or more,
    milliseconds, and must lie within :data:`TIMESTAMP_WINDOW_SECONDS` of the simulator's
    clock (a controllable one in tests).
``lgsp``
    Relayed by the province's LGSP, which holds the platform's credential: the LGSP simulator
    removes its own ``Authorization`` and ``lgspaccesstoken`` and adds ``X-LGSP-Relay:
    sandbox-lgsp-relay``; OpenCPS's envelope through the LGSP carries no platform credential
    (``QLCDIntegrationActionImpl.java`` L118-119: ``<soapenv:Header/>``).
``authhash``
    No HTTP credential; the officer's ``AuthHash = base64(name:pass)`` in the SOAP header,
    checked with the call (code 002). This is the gateway project's own profile: no public
    sender shows it.

A failed HTTP-level check is :class:`Refused`: the simulator answers HTTP 401 with a
``soap:Client`` fault naming the check (never a secret). No public source shows the
platform's refusal; the C# caller treats any non-2xx status as a failure
(``EnsureSuccessStatusCode``), which 401 is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_ACCOUNTS",
    "RELAY_HEADER",
    "RELAY_VALUE",
    "SANDBOX_ACCOUNT",
    "SANDBOX_SECRET",
    "TIMESTAMP_WINDOW_SECONDS",
    "Credential",
    "IntegrationAccount",
    "Refused",
    "basic_hash",
    "http_credential",
]

RELAY_HEADER = "X-LGSP-Relay"
RELAY_VALUE = "sandbox-lgsp-relay"
TIMESTAMP_WINDOW_SECONDS = 300
"""How far a ``timestamp`` may lie from the platform's clock, either way."""

SANDBOX_ACCOUNT = "SANDBOX-037"
SANDBOX_SECRET = "sandbox-dancu-secret"  # noqa: S105 - the sandbox's documented account

Credential = Literal["basic", "lgsp", "none"]


@dataclass(frozen=True, slots=True)
class IntegrationAccount:
    """A province's account for HTTP Basic: its user name, secret, and the URL its hash
    names (None: the URL the request was posted to)."""

    username: str
    secret: str
    auth_url: str | None = None


DEFAULT_ACCOUNTS = {SANDBOX_ACCOUNT: IntegrationAccount(SANDBOX_ACCOUNT, SANDBOX_SECRET)}


class Refused(Exception):
    """The caller is not authenticated (HTTP 401); ``reason`` names the failed check."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def basic_hash(url: str, username: str, timestamp: str, secret: str) -> str:
    """``sha256hex(url + username + timestamp + secret)``, lower case."""
    return hashlib.sha256(f"{url}{username}{timestamp}{secret}".encode()).hexdigest()


def _seconds(timestamp: str) -> float:
    value = int(timestamp)
    # 13 digits: milliseconds since the epoch (the C# caller); 10: seconds (the PHP caller)
    return value / 1000 if len(timestamp.lstrip("-")) >= 13 else float(value)


def http_credential(
    headers: Mapping[str, str],
    *,
    url: str,
    accounts: Mapping[str, IntegrationAccount],
    now: float,
    window: float = TIMESTAMP_WINDOW_SECONDS,
) -> Credential:
    """Which HTTP-level credential the request carries, checked; :class:`Refused` when it
    carries one that fails. ``none``: no HTTP credential (the SOAP header must then carry
    an officer's AuthHash). ``headers`` must match names case-insensitively."""
    relay = headers.get(RELAY_HEADER)
    if relay is not None:
        if not hmac.compare_digest(relay.encode(), RELAY_VALUE.encode()):
            raise Refused("the relay header does not name the province's LGSP")
        return "lgsp"
    authorization = headers.get("authorization")
    if authorization is None:
        return "none"
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise Refused("only HTTP Basic is accepted from a direct caller")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Refused("the Basic credential is not base64 of user:hash") from None
    username, colon, given = decoded.partition(":")
    account = accounts.get(username)
    if not colon or account is None:
        raise Refused("unknown integration account")
    timestamp = (headers.get("timestamp") or "").strip()
    if not timestamp.isdigit() or len(timestamp) > 16:
        raise Refused("the timestamp header is missing or not a number")
    if abs(now - _seconds(timestamp)) > window:
        raise Refused("the timestamp is outside the accepted window")
    expected = basic_hash(account.auth_url or url, username, timestamp, account.secret)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise Refused("the Basic hash does not match")
    return "basic"
