"""The two simulated identity providers: their names, paths, and the relying parties they know.

The simulator's own definitions, kept apart from the connector's configuration on purpose (a
simulator that read the gateway's settings would agree with the gateway by construction). The
default registrations are the ones the gateway's sandbox defaults expect; a test checks that
the two still agree.

Paths (relative to each issuer) follow the public record: VNeID authorizes at ``/auth``
(``https://sso.dancuquocgia.gov.vn/auth``, PASETO ``quantri_client/src/features/portaldvc/
HoSoCaNhan/components/DichVuCongComponent.tsx`` line 59); the DVCQG single sign-on, a WSO2
Identity Server, at ``/oauth2/authorize``, ``/oauth2/token`` and ``/oauth2/userinfo``
(``https://xacthuc.dichvucong.gov.vn/oauth2/authorize``, PASETO ``quantri_client/src/features/
dvcQuocGia/index.tsx`` line 34; fat2fast/yii2-auth ``components/auth/VNConnect.php``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

__all__ = [
    "ACR_VALUES",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_REDIRECT_URIS",
    "DEFAULT_SECRETS",
    "ENDPOINTS",
    "PATHS",
    "PROVIDERS",
    "Client",
    "Endpoint",
    "ProviderName",
    "default_clients",
]

ProviderName = Literal["vneid", "dvcqg"]
PROVIDERS: tuple[ProviderName, ...] = ("vneid", "dvcqg")

Endpoint = Literal["discovery", "jwks", "authorization", "token", "userinfo", "end_session"]
ENDPOINTS: tuple[Endpoint, ...] = (
    "discovery",
    "jwks",
    "authorization",
    "token",
    "userinfo",
    "end_session",
)
#: each provider's paths, relative to its issuer
PATHS: dict[ProviderName, dict[Endpoint, str]] = {
    "vneid": {
        "discovery": "/.well-known/openid-configuration",
        "authorization": "/auth",
        "token": "/token",
        "userinfo": "/userinfo",
        "jwks": "/jwks",
        "end_session": "/logout",
    },
    "dvcqg": {
        "discovery": "/.well-known/openid-configuration",
        "authorization": "/oauth2/authorize",
        "token": "/oauth2/token",
        "userinfo": "/oauth2/userinfo",
        "jwks": "/oauth2/jwks",
        "end_session": "/oidc/logout",
    },
}
#: the assurance levels DVCQG SSO knows as ``acr_values`` (OpenCPS and PASETO send ``LoA1``)
ACR_VALUES = ("LoA1", "LoA2")

DEFAULT_CLIENT_ID = "lgsp-sandbox"
#: the well-known secrets of the default registrations (sandbox only)
DEFAULT_SECRETS: dict[ProviderName, str] = {
    "vneid": "sandbox-vneid-secret",
    "dvcqg": "sandbox-dvcqg-sso-secret",
}
DEFAULT_REDIRECT_URIS: dict[ProviderName, tuple[str, ...]] = {
    "vneid": ("http://127.0.0.1:8080/dang-nhap/vneid",),
    "dvcqg": ("http://127.0.0.1:8080/dang-nhap/dvcqg",),
}


@dataclass(frozen=True, slots=True)
class Client:
    """A relying party registered with a provider."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]

    @classmethod
    def registered(
        cls, provider: ProviderName, client_id: str, secret: str, redirect_uris: Iterable[str]
    ) -> Client:
        """A registration whose logout may return to a redirect URI, its origin's ``/`` or
        ``/dang-xuat/{provider}``."""
        uris = tuple(redirect_uris)
        return cls(client_id, secret, uris, _post_logout_uris(uris, provider))


def _post_logout_uris(redirect_uris: tuple[str, ...], provider: ProviderName) -> tuple[str, ...]:
    uris = list(redirect_uris)
    for uri in redirect_uris:
        parts = urlsplit(uri)
        origin = f"{parts.scheme}://{parts.netloc}"
        uris += [f"{origin}/", f"{origin}/dang-xuat/{provider}"]
    return tuple(dict.fromkeys(uris))


def default_clients() -> dict[ProviderName, dict[str, Client]]:
    """Each provider's default registration (the gateway's sandbox defaults)."""
    return {
        name: {
            DEFAULT_CLIENT_ID: Client.registered(
                name, DEFAULT_CLIENT_ID, DEFAULT_SECRETS[name], DEFAULT_REDIRECT_URIS[name]
            )
        }
        for name in PROVIDERS
    }
