"""Identity: citizens and businesses log in with VNeID or DVCQG SSO (OpenID Connect).

The case system starts a login (``authorize``: the URL to send the user to, and the opaque
state), then hands back what the provider redirected with (``callback``: code and state) and
receives the verified identity. Provider tokens stay in the gateway, under an opaque session
id; only a client with ``identity:tokens`` can read them. Each callback is one exchange-log
entry with its attempts (token, JWKS, userinfo), through the connector's circuit breaker.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from connectors.vneid import login
from connectors.vneid.connector import VneidConnector
from connectors.vneid.models import DinhDanh
from gateway.core.clients import Principal
from gateway.core.delivery.intake import call_through
from gateway.core.errors import NotFound
from gateway.core.runtime import Gateway
from gateway.core.web.deps import GatewayDep, require_scope
from schemas.dvcqg import MA_TTHC_PATTERN

router = APIRouter(prefix="/v1/identity", tags=["identity"])

SLUG = "vneid"
Provider = Annotated[Literal["vneid", "dvcqg"], Path(description="vneid or dvcqg")]
LoginClient = Annotated[Principal, Depends(require_scope("identity:login"))]
TokenReader = Annotated[Principal, Depends(require_scope("identity:tokens"))]


class AuthorizeRequest(BaseModel):
    model_config = {"extra": "forbid"}

    redirect_uri: str = Field(
        max_length=2048,
        description="one of the redirect URIs registered for this provider",
        examples=["https://dichvucong.example.gov.vn/dang-nhap/vneid"],
    )
    ma_tthc: str | None = Field(
        None, pattern=MA_TTHC_PATTERN, description="the procedure the login is for"
    )
    muc_dam_bao_toi_thieu: Literal[1, 2] | None = Field(
        None, description="assurance level the caller requires (the procedure's may be higher)"
    )


class AuthorizeAnswer(BaseModel):
    authorization_url: str
    state: str
    expires_in: int
    muc_dam_bao_toi_thieu: int


class CallbackRequest(BaseModel):
    model_config = {"extra": "forbid"}

    code: str = Field(min_length=1, max_length=2048)
    state: str = Field(min_length=16, max_length=256)


class CallbackAnswer(BaseModel):
    exchange_id: str
    session_id: str = Field(description="opaque; names the provider tokens kept in the gateway")
    dinh_danh: DinhDanh


class LogoutRequest(BaseModel):
    model_config = {"extra": "forbid"}

    session_id: str = Field(min_length=16, max_length=128)
    post_logout_redirect_uri: str = Field(max_length=2048)


class LogoutAnswer(BaseModel):
    """The provider's end-session URL; the gateway has forgotten the session's tokens."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "logout_url": "https://sso.vneid.example.gov.vn/connect/endsession"
                    "?id_token_hint=eyJhbGciOiJSUzI1NiJ9...&post_logout_redirect_uri="
                    "https%3A%2F%2Fdichvucong.example.gov.vn%2F&state=q1w2e3r4t5y6u7i8"
                }
            ]
        }
    )

    logout_url: str | None = Field(
        description="where to send the user to end their session at the provider; null when "
        "the provider has no end-session endpoint"
    )


class SessionTokens(BaseModel):
    """The provider tokens kept for a session (for clients holding ``identity:tokens``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider": "vneid",
                    "access_token": "<access token>",
                    "id_token": "<ID token (JWT)>",
                    "refresh_token": None,
                    "expires_at": 1772414100.5,
                    "scope": "openid profile",
                }
            ]
        }
    )

    provider: Literal["vneid", "dvcqg"] = Field(description="the provider the user logged in with")
    access_token: str
    id_token: str = Field(description="the verified ID token (JWT)")
    refresh_token: str | None = Field(description="null when the provider gave none")
    expires_at: float = Field(description="when the access token expires (Unix time, seconds)")
    scope: str = Field(description="the granted scope (the requested one when not stated)")


def _connector(gw: Gateway) -> VneidConnector:
    connector = gw.connector(SLUG)
    assert isinstance(connector, VneidConnector)
    return connector


@router.post("/{provider}/authorize", operation_id="identity-authorize")
async def authorize(
    provider: Provider, body: AuthorizeRequest, gw: GatewayDep, _client: LoginClient
) -> AuthorizeAnswer:
    """Start a login: state, nonce and (where the provider advertises S256) a PKCE verifier
    drawn and kept for this login only; the URL carries what the public callers send."""
    connector = _connector(gw)
    config = connector.config
    started = await login.begin(
        gw.state,
        gw.cipher,
        connector.client(provider),
        redirect_uri=body.redirect_uri,
        min_level=config.required_level(body.ma_tthc, body.muc_dam_bao_toi_thieu),
        ttl_seconds=config.login_ttl_seconds,
    )
    return AuthorizeAnswer(
        authorization_url=started.authorization_url,
        state=started.state,
        expires_in=started.expires_in,
        muc_dam_bao_toi_thieu=started.muc_dam_bao_toi_thieu,
    )


@router.post(
    "/{provider}/callback",
    operation_id="identity-callback",
    responses={
        400: {
            "description": "no login in progress has this state, or the provider "
            "refused the code (expired, used, or not this login's): log in again"
        }
    },
)
async def callback(
    provider: Provider,
    body: CallbackRequest,
    request: Request,
    gw: GatewayDep,
    client: LoginClient,
) -> CallbackAnswer:
    """Finish a login: the code exchanged, the ID token and userinfo verified, the identity."""
    connector = _connector(gw)
    oidc = connector.client(provider)
    exchange_id, (identity, session_id) = await call_through(
        gw,
        connector=SLUG,
        operation=f"login_{provider}",
        client=client.name,
        call=lambda: login.complete(
            gw.state,
            gw.cipher,
            oidc,
            code=body.code,
            state=body.state,
            nonce_ttl_seconds=connector.config.login_ttl_seconds * 2,
        ),
        render=lambda result: result[0].model_dump_json().encode(),
        request_body=getattr(request.state, "raw_body", b""),
    )
    return CallbackAnswer(exchange_id=exchange_id, session_id=session_id, dinh_danh=identity)


@router.post(
    "/{provider}/logout",
    operation_id="identity-logout",
    responses={
        200: {"model": LogoutAnswer, "description": "the provider's end-session URL"},
        400: {
            "description": "the session is not one of this provider's, or the "
            "provider refused the logout"
        },
    },
    response_model=None,
)
async def logout(
    provider: Provider, body: LogoutRequest, gw: GatewayDep, _client: LoginClient
) -> dict[str, Any]:
    """The provider's end-session URL for the session; the gateway forgets its tokens."""
    connector = _connector(gw)
    url = await login.logout_url(
        gw.state,
        gw.cipher,
        connector.client(provider),
        session_id=body.session_id,
        post_logout_redirect_uri=body.post_logout_redirect_uri,
    )
    return {"logout_url": url}


@router.get(
    "/sessions/{session_id}/tokens",
    operation_id="identity-session-tokens",
    response_model=None,
    responses={200: {"model": SessionTokens, "description": "the session's provider tokens"}},
)
async def session_tokens(session_id: str, gw: GatewayDep, _client: TokenReader) -> dict[str, Any]:
    """The provider tokens of a session, for clients entrusted with them."""
    kept = await login.session_tokens(gw.state, gw.cipher, session_id)
    if kept is None:
        raise NotFound("no such session (expired or logged out)")
    return kept
