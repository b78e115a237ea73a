"""The postal connector's wire profiles: the one module that reads ``profile``, ``credential``
and, for authentication, ``transport`` (see :mod:`connectors.postal.config`).

Order profiles (what an order carries), each from a public sender:

=========  ==================================================================================
opencps    the 17 fields of OpenCPS rc-3.0 ``VNPostManagementImpl.createMOrderDatas`` (L801-826)
           and ``createMOrderDatasCollect`` (L828-855), the SDK's ``MOrder``: the default
paseto     the same, plus ``ItemCode`` (``null``: the gateway holds no stock of waybill numbers,
           PASETO's ``CreateWithoutItemCode``) and ``FlagConfig`` 2 (PASETO ``VNPostRequest.cs``
           L9-30)
=========  ==================================================================================

Credentials (how the gateway authenticates when it calls VNPost itself):

=======================  ==========================================================================
vnpost_token             POST ``{Username, Password, CustomerCode}`` to the token path, answer
                         ``{Status, Token, ExpiresIn}`` (this project's profile: PASETO's
                         VNPostSettings.cs holds a token URL, user name and password but no public
                         code shows the exchange); then the header ``access_token`` (PASETO
                         VNPostServices.cs L37-41)
ngsp_client_credentials  POST ``grant_type=client_credentials`` with HTTP Basic
                         ``username:password`` to the token path, answer ``{access_token,
                         token_type, expires_in}``; then ``Authorization: <token_type> <token>``
                         (OpenCPS's NGSP SDK ``IToken.getToken`` / ``IOrder.postOrder``, in
                         ``modules/backend-postal-api-rest/lib/VNPostNGSPSDK.jar``)
static_token             no token request: the configured token as ``access_token`` (PASETO
                         VNPostSettings.access_Token)
=======================  ==========================================================================

Through the LGSP (``transport="lgsp"``) the gateway neither asks VNPost for a token nor sends
one: OpenCPS rc-3.0 ``getToken`` (L561-626) fetches the LGSP's token (HTTP Basic consumer
key:secret, ``grant_type=client_credentials``) and every call carries only
``Authorization: Bearer <LGSP token>`` (L754), which the core's LGSP transport adds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from pydantic import BaseModel

from connectors.postal.config import PostalConfig, Profile
from gateway.core.validation import validate_model
from schemas import postal as wire

__all__ = [
    "ORDER_PROFILES",
    "Auth",
    "OrderProfile",
    "TokenCall",
    "TokenRead",
    "auth_for",
    "order_profile",
]


@dataclass(frozen=True, slots=True)
class OrderProfile:
    """What an order carries under one profile: its wire model and the fields added."""

    name: Profile
    model: type[wire.CreateOrder]
    extras: Mapping[str, Any]
    source: str


ORDER_PROFILES: Mapping[Profile, OrderProfile] = MappingProxyType(
    {
        "opencps": OrderProfile(
            "opencps",
            wire.CreateOrder,
            MappingProxyType({}),
            "OpenCPS rc-3.0 VNPostManagementImpl.java L801-855",
        ),
        "paseto": OrderProfile(
            "paseto",
            wire.PasetoOrder,
            # PASETO VNPostRequest.cs L12 (ItemCode) and L29 (FlagConfig = 2)
            MappingProxyType({"ItemCode": None, "FlagConfig": 2}),
            "PASETO DichVuCongApi/src/Core/Application/Common/VnPost/VNPostRequest.cs L9-30",
        ),
    }
)


def order_profile(config: PostalConfig) -> OrderProfile:
    return ORDER_PROFILES[config.profile]


# --- authentication -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenCall:
    """One token request: a JSON or a form body, its headers, and what the exchange log must
    not keep (``redact``: bytes of the request; ``scrub``: applied to the answer)."""

    json_body: Mapping[str, Any] | None = None
    form_body: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    redact: tuple[bytes, ...] = ()
    scrub: Callable[[bytes], bytes] | None = None


@dataclass(frozen=True, slots=True)
class TokenRead:
    """What a token answer says: its code (when it has one), the token, its type and life."""

    code: str | None
    message: str
    token: str | None
    token_type: str
    lifetime: float | None


class Auth(Protocol):
    @property
    def fetches_token(self) -> bool:
        """False: no token is asked for (a static token, or the LGSP holds the credential)."""
        ...

    @property
    def answer_model(self) -> type[BaseModel]: ...

    def token_call(self) -> TokenCall: ...
    def read(self, answer: BaseModel) -> TokenRead: ...
    def headers(self, token: str | None, token_type: str) -> dict[str, str]: ...


def _blank_fields(*names: str) -> Callable[[bytes], bytes]:
    """A scrubber of the logged token answer: the named fields blanked."""

    def scrub(content: bytes) -> bytes:
        try:
            raw = json.loads(content)
        except ValueError:
            return content
        if isinstance(raw, dict) and any(raw.get(n) for n in names):
            for name in names:
                if raw.get(name):
                    raw[name] = "***"
            return json.dumps(raw, ensure_ascii=False).encode()
        return content

    return scrub


def _escaped(secret: str) -> bytes:
    # the way json.dumps writes it inside a string (quotes and backslashes escaped)
    return json.dumps(secret)[1:-1].encode()


@dataclass(frozen=True, slots=True)
class _VnpostToken:
    config: PostalConfig
    fetches_token: bool = True
    answer_model: type[BaseModel] = wire.TokenAnswer

    def token_call(self) -> TokenCall:
        password = self.config.password.get_secret_value()
        body = validate_model(
            wire.TokenRequest,
            {
                "Username": self.config.username,
                "Password": password,
                "CustomerCode": self.config.customer_code,
            },
            what="the postal TokenRequest packet",
        ).model_dump(mode="json")
        return TokenCall(
            json_body=body,
            redact=(password.encode(), _escaped(password)),
            scrub=_blank_fields("Token"),
        )

    def read(self, answer: BaseModel) -> TokenRead:
        assert isinstance(answer, wire.TokenAnswer)
        lifetime = float(answer.ExpiresIn) if answer.ExpiresIn else None
        return TokenRead(answer.Status, answer.Message, answer.Token, "", lifetime)

    def headers(self, token: str | None, token_type: str) -> dict[str, str]:
        # PASETO VNPostServices.cs L40: request.Headers.Add("access_token", ...)
        return {"access_token": token} if token else {}


@dataclass(frozen=True, slots=True)
class _NgspClientCredentials:
    config: PostalConfig
    fetches_token: bool = True
    answer_model: type[BaseModel] = wire.NgspTokenAnswer

    def token_call(self) -> TokenCall:
        # the SDK's IToken.getToken: Basic base64(key:secret), body grant_type=client_credentials
        password = self.config.password.get_secret_value()
        pair = f"{self.config.username}:{password}".encode()
        return TokenCall(
            form_body={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")},
            redact=(password.encode(),),
            scrub=_blank_fields("access_token", "refresh_token"),
        )

    def read(self, answer: BaseModel) -> TokenRead:
        assert isinstance(answer, wire.NgspTokenAnswer)
        lifetime = float(answer.expires_in) if answer.expires_in else None
        return TokenRead(None, "", answer.access_token, answer.token_type or "Bearer", lifetime)

    def headers(self, token: str | None, token_type: str) -> dict[str, str]:
        # the SDK's IOrder: Authorization = tokenType + " " + accessToken
        return {"Authorization": f"{token_type or 'Bearer'} {token}"} if token else {}


@dataclass(frozen=True, slots=True)
class _StaticToken:
    config: PostalConfig
    fetches_token: bool = False
    answer_model: type[BaseModel] = wire.TokenAnswer

    def token_call(self) -> TokenCall:  # pragma: no cover - never asked: fetches_token False
        raise NotImplementedError

    def read(self, answer: BaseModel) -> TokenRead:  # pragma: no cover - idem
        raise NotImplementedError

    def headers(self, token: str | None, token_type: str) -> dict[str, str]:
        return {"access_token": self.config.static_token.get_secret_value()}


@dataclass(frozen=True, slots=True)
class _ThroughLgsp:
    """The LGSP holds VNPost's credential: nothing of ours on the request (the core's LGSP
    transport adds the LGSP's bearer token)."""

    config: PostalConfig
    fetches_token: bool = False
    answer_model: type[BaseModel] = wire.TokenAnswer

    def token_call(self) -> TokenCall:  # pragma: no cover - never asked: fetches_token False
        raise NotImplementedError

    def read(self, answer: BaseModel) -> TokenRead:  # pragma: no cover - idem
        raise NotImplementedError

    def headers(self, token: str | None, token_type: str) -> dict[str, str]:
        return {}


def auth_for(config: PostalConfig) -> Auth:
    """How the connector authenticates, from ``transport`` and ``credential``."""
    if config.transport == "lgsp":
        return _ThroughLgsp(config)
    match config.credential:
        case "ngsp_client_credentials":
            return _NgspClientCredentials(config)
        case "static_token":
            return _StaticToken(config)
        case _:
            return _VnpostToken(config)
