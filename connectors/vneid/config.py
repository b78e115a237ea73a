"""Configuration of the identity connector (section ``LGSP_CONNECTORS__VNEID__*``).

Two OpenID providers behind one code path: VNeID (the Ministry of Public Security's electronic
identity) and the single sign-on of the National Public Service Portal (DVCQG SSO, a WSO2
Identity Server asked for ``acr_values=LoA1``). Each is configured by its own prefixed fields,
so that every secret is a top-level ``SecretStr`` (masked in logs, refused as a placeholder in
production). The defaults point at the sandbox simulator, and ask each provider what the
public callers ask (:mod:`connectors.vneid.mapping`): ``scope=openid``, and ``acr_values``
``LoA1`` at DVCQG, none at VNeID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from gateway.core.connector import ConnectorConfig

#: the simulator's well-known client secrets; refused outside development
PLACEHOLDER_SECRETS = frozenset({"sandbox-vneid-secret", "sandbox-dvcqg-sso-secret"})

ProviderName = Literal["vneid", "dvcqg"]
PROVIDERS: tuple[ProviderName, ...] = ("vneid", "dvcqg")
#: algorithms an ID token may be signed with: asymmetric only (never ``none``, never HMAC,
#: whose "key" would be the provider's public key)
ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256")


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One provider, as the client uses it."""

    name: ProviderName
    title: str
    issuer: str
    client_id: str
    client_secret: SecretStr
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    acr_values: str | None
    algorithms: tuple[str, ...]
    leeway_seconds: int
    timeout_seconds: float


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


class VneidConfig(ConnectorConfig):
    """Both identity providers; ``<provider>_issuer`` is where discovery is read."""

    model_config = ConfigDict(extra="forbid")

    vneid_issuer: str = Field(
        "http://127.0.0.1:9000/vneid/vneid",
        description="VNeID issuer; discovery at {issuer}/.well-known/openid-configuration",
    )
    vneid_client_id: str = Field("lgsp-sandbox", min_length=1, description="VNeID client id")
    vneid_client_secret: SecretStr = Field(
        SecretStr("sandbox-vneid-secret"), description="VNeID client secret (never logged)"
    )
    vneid_redirect_uris: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8080/dang-nhap/vneid"],
        min_length=1,
        description="redirect URIs registered with VNeID; a login must name one of them",
    )
    vneid_scopes: list[str] = Field(
        # PASETO DichVuCongComponent.tsx line 59: scope=openid
        default_factory=lambda: ["openid"],
        description="scopes asked of VNeID (openid is always asked)",
    )
    vneid_acr_values: str | None = Field(
        # PASETO sends none to VNeID (DichVuCongComponent.tsx line 59)
        None,
        description="acr_values sent to VNeID (unset or empty: none)",
    )
    dvcqg_issuer: str = Field(
        "http://127.0.0.1:9000/vneid/dvcqg",
        description="DVCQG SSO issuer; discovery at {issuer}/.well-known/openid-configuration",
    )
    dvcqg_client_id: str = Field("lgsp-sandbox", min_length=1, description="DVCQG SSO client id")
    dvcqg_client_secret: SecretStr = Field(
        SecretStr("sandbox-dvcqg-sso-secret"),
        description="DVCQG SSO client secret (never logged)",
    )
    dvcqg_redirect_uris: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8080/dang-nhap/dvcqg"],
        min_length=1,
        description="redirect URIs registered with DVCQG SSO",
    )
    dvcqg_scopes: list[str] = Field(
        default_factory=lambda: ["openid"],
        description="scopes asked of DVCQG SSO (openid is always asked)",
    )
    dvcqg_acr_values: str | None = Field(
        # OpenCPS rc-3.0 DVCQGSSOActionImpl.java line 121 (configured), PASETO
        # dvcQuocGia/index.tsx line 34 (LoA1)
        "LoA1",
        description="acr_values sent to DVCQG SSO (e.g. LoA1; empty: none)",
    )
    min_level_by_procedure: dict[str, int] = Field(
        default_factory=dict,
        description="assurance level a procedure requires (MaTTHC -> 1 or 2); others need 1",
        examples=[{"2.000477": 2}],
    )
    leeway_seconds: int = Field(
        60, ge=0, le=300, description="clock skew allowed on exp / iat / nbf (bounded)"
    )
    login_ttl_seconds: int = Field(
        600, ge=60, le=3600, description="how long a login's state, nonce and verifier live"
    )
    jwks_ttl_seconds: int = Field(
        3600, ge=60, description="age after which discovery and JWKS are read again"
    )
    timeout_seconds: float = Field(10.0, gt=0, description="per-request timeout")

    @field_validator("vneid_issuer", "dvcqg_issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        return _url(value)

    @field_validator("vneid_acr_values", "dvcqg_acr_values")
    @classmethod
    def _acr(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value) > 128 or not value.isprintable():
            raise ValueError("at most 128 printable characters")
        return " ".join(value.split())

    @field_validator("vneid_redirect_uris", "dvcqg_redirect_uris")
    @classmethod
    def _redirects(cls, value: list[str]) -> list[str]:
        return [_url(v) for v in value]

    @field_validator("min_level_by_procedure")
    @classmethod
    def _levels(cls, value: dict[str, int]) -> dict[str, int]:
        bad = [code for code, level in value.items() if level not in (1, 2)]
        if bad:
            raise ValueError(f"levels are 1 or 2 (not for {', '.join(bad)})")
        return value

    def required_level(self, ma_tthc: str | None, requested: int | None) -> int:
        """The level a login must reach: the higher of the procedure's and the caller's."""
        procedure = self.min_level_by_procedure.get(ma_tthc or "", 1)
        return max(procedure, requested or 1)

    def provider(self, name: ProviderName) -> ProviderConfig:
        if name == "vneid":
            return ProviderConfig(
                name="vneid",
                title="VNeID",
                issuer=self.vneid_issuer,
                client_id=self.vneid_client_id,
                client_secret=self.vneid_client_secret,
                redirect_uris=tuple(self.vneid_redirect_uris),
                scopes=tuple(self.vneid_scopes),
                acr_values=self.vneid_acr_values,
                algorithms=ALLOWED_ALGORITHMS,
                leeway_seconds=self.leeway_seconds,
                timeout_seconds=self.timeout_seconds,
            )
        return ProviderConfig(
            name="dvcqg",
            title="DVCQG SSO",
            issuer=self.dvcqg_issuer,
            client_id=self.dvcqg_client_id,
            client_secret=self.dvcqg_client_secret,
            redirect_uris=tuple(self.dvcqg_redirect_uris),
            scopes=tuple(self.dvcqg_scopes),
            acr_values=self.dvcqg_acr_values,
            algorithms=ALLOWED_ALGORITHMS,
            leeway_seconds=self.leeway_seconds,
            timeout_seconds=self.timeout_seconds,
        )
