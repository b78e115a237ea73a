"""The identity connector's wire profile: what the gateway sends to VNeID and DVCQG SSO, and how
it reads what they answer. Every choice here rests on the public record.

One profile serves both providers, because the public callers agree:

==========================  ===================================================================
authorization request       ``response_type=code``, ``client_id``, ``redirect_uri``,
                            ``scope=openid``, ``acr_values`` (DVCQG: ``LoA1``; VNeID: none),
                            ``state``. OpenCPS rc-3.0 ``DVCQGSSOActionImpl.java`` lines 116-124
                            and 148-156, ``DVCQGSSOTerm.java`` line 19,
                            ``SSOIntegrationImpl.java`` lines 61-71; PASETO
                            ``quantri_client/src/features/dvcQuocGia/index.tsx`` line 34 (DVCQG)
                            and ``.../portaldvc/HoSoCaNhan/components/DichVuCongComponent.tsx``
                            line 59 (VNeID, without ``acr_values``).
token request               form ``grant_type=authorization_code``, ``code``, ``redirect_uri``,
                            ``client_id``, ``client_secret`` (client_secret_post). OpenCPS
                            ``DVCQGSSOTerm.java`` line 28, ``DVCQGSSOActionImpl.java`` lines
                            511-516; PASETO ``UsersController.cs`` lines 469-476.
token answer                ``access_token``, ``id_token``, ``token_type``, ``expires_in`` (a
                            string is read as a number: PASETO ``OutPutOauthToken.cs`` types
                            it ``string``), ``refresh_token``, ``scope``.
userinfo                    GET with the Bearer access token (fat2fast/yii2-auth
                            ``components/auth/VNConnect.php``; OpenCPS POSTs, which both
                            providers also answer). Claims: :func:`map_claims`.
==========================  ===================================================================

What this gateway adds, which none of the public callers does (each is allowed by OpenID
Connect Core 1.0 and RFC 7636, and none stops a provider that ignores it from working):

* ``state`` is random and single-use (the public callers put the return URL, base64-encoded,
  in ``state``), kept server-side, bound to its provider;
* ``nonce`` is always sent, and checked where the provider returns it in the ID token: a
  provider that leaves it out still works (the code flow makes it optional, section 3.1.2.1),
  one that returns another nonce is refused (:func:`nonce_problem`);
* PKCE (S256) is sent only where the discovery document advertises it
  (``code_challenge_methods_supported`` contains ``S256``, :func:`supports_pkce`): a provider
  that does not know PKCE may refuse or ignore the parameters, and one that ignores them would
  make the verifier a false assurance;
* the ID token is verified (signature with the provider's published keys, algorithm, issuer,
  audience, times, nonce) and userinfo must name the ID token's subject; the public callers
  read neither.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from connectors.vneid.config import ProviderConfig
from connectors.vneid.models import DinhDanh, LoaiTaiKhoan
from gateway.core.errors import FieldError, InvalidUpstreamAnswer
from schemas import cccd

__all__ = [
    "ADDED_AUTHORIZATION_PARAMETERS",
    "PUBLIC_AUTHORIZATION_PARAMETERS",
    "PUBLIC_TOKEN_FIELDS",
    "assurance_level",
    "authorization_params",
    "map_claims",
    "nonce_problem",
    "supports_pkce",
    "token_form",
]

#: the authorization request's parameters as the public callers send them, in their order
#: (``acr_values`` only where the provider's configuration names some)
PUBLIC_AUTHORIZATION_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "acr_values",
    "state",
)
#: what the gateway adds (PKCE only where advertised)
ADDED_AUTHORIZATION_PARAMETERS = ("nonce", "code_challenge", "code_challenge_method")
#: the token request's fields as OpenCPS sends them, in its order (``code_verifier`` is added
#: after them when the login used PKCE)
PUBLIC_TOKEN_FIELDS = ("grant_type", "code", "redirect_uri", "client_id", "client_secret")


# --- what goes out ----------------------------------------------------------------------------


def supports_pkce(methods: Sequence[str]) -> bool:
    """Does a discovery document's ``code_challenge_methods_supported`` allow PKCE with S256?
    (Only S256: ``plain`` protects nothing that TLS does not.)"""
    return "S256" in methods


def authorization_params(
    provider: ProviderConfig,
    *,
    scope: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_challenge: str | None,
) -> dict[str, str]:
    """The authorization request's query: the public callers' parameters in their order, then
    the nonce and, when ``code_challenge`` is given, PKCE."""
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
    }
    if provider.acr_values:
        params["acr_values"] = provider.acr_values
    params["state"] = state
    params["nonce"] = nonce
    if code_challenge is not None:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    return params


def token_form(
    provider: ProviderConfig, *, code: str, redirect_uri: str, code_verifier: str | None
) -> dict[str, str]:
    """The token request's form (client_secret_post), in OpenCPS's order."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret.get_secret_value(),
    }
    if code_verifier is not None:
        form["code_verifier"] = code_verifier
    return form


def nonce_problem(claims: Mapping[str, Any], expected: str) -> str | None:
    """Why the ID token's nonce is refused, or None: absent is accepted (the provider does not
    return nonces), present must be exactly this login's."""
    if "nonce" not in claims:
        return None
    claimed = claims["nonce"]
    if not isinstance(claimed, str) or not hmac.compare_digest(claimed.encode(), expected.encode()):
        return "its nonce does not match this login's"
    return None


# --- what comes in: userinfo claims -----------------------------------------------------------

#: LoaiTaiKhoan: 1 citizen, 2 business, 3 organisation (OpenCPS DVCQGSSOActionImpl.java lines
#: 267 and 726-750; PASETO DVCQGService.cs lines 60, 150, 182)
_ACCOUNT = {"1": LoaiTaiKhoan.CONG_DAN, "2": LoaiTaiKhoan.DOANH_NGHIEP, "3": LoaiTaiKhoan.TO_CHUC}
#: NgayThangNamSinh: yyyyMMdd in the one answer on record (fat2fast/yii2-auth AuthHandler.php),
#: read year first by PASETO; the other forms are read too, as a tolerant reader should
_DATE_FORMATS = ("%Y%m%d", "%d/%m/%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S")
_LEVEL = re.compile(r"(?:LoA|IAL)?\s*([12])$", re.IGNORECASE)
_OLD_ID = re.compile(r"[0-9]{9}|[0-9]{12}")


def assurance_level(userinfo: Mapping[str, Any], id_claims: Mapping[str, Any]) -> int:
    """The account's level (Nghị định 69/2024/NĐ-CP), 1 or 2, read from ``IAL`` (a number at
    VNeID, PASETO ``UserInfoVneidRequest.cs``), else ``loAs`` (a string, or a list of levels:
    the highest counts), else the ID token's ``acr``; 1 when none can be read, so that an
    unreadable claim never satisfies a level-2 requirement."""
    for value in (userinfo.get("IAL"), userinfo.get("loAs"), id_claims.get("acr")):
        values = value if isinstance(value, list) else [value]
        levels = [_level(v) for v in values[:8]]
        found = [level for level in levels if level is not None]
        if found:
            return max(found)
    return 1


def _level(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    match = _LEVEL.search(str(value).strip())
    return int(match.group(1)) if match else None


def _bad(name: str, message: str) -> InvalidUpstreamAnswer:
    return InvalidUpstreamAnswer(
        f"the identity provider's claim {name} is unusable: {message}",
        errors=[FieldError(f"userinfo.{name}", message)],
    )


def _text(claims: Mapping[str, Any], name: str, limit: int = 255) -> str | None:
    """A claim as text: a string, or a number sent for one; ``""`` and null are absent."""
    value = claims.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _bad(name, "not a string")
    text = str(value).strip()
    if len(text) > limit:
        raise _bad(name, f"longer than {limit} characters")
    return text or None


def _birth_date(claims: Mapping[str, Any]) -> date | None:
    raw = _text(claims, "NgayThangNamSinh", 32)
    if raw is None:
        return None
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, form).date()
        except ValueError:
            continue
    raise _bad("NgayThangNamSinh", "not a date (yyyyMMdd, dd/MM/yyyy or yyyy-MM-dd)")


def _account(claims: Mapping[str, Any]) -> LoaiTaiKhoan:
    # a string at DVCQG (PASETO compares with "1"), a number at VNeID (PASETO types it int?);
    # an answer without it is a citizen's, the only kind VNeID knows
    raw = claims.get("LoaiTaiKhoan", "1")
    account = None if isinstance(raw, bool) else _ACCOUNT.get(str(raw).strip())
    if account is None:
        raise _bad("LoaiTaiKhoan", "not 1, 2 or 3")
    return account


def map_claims(
    provider: str, id_claims: Mapping[str, Any], userinfo: Mapping[str, Any]
) -> DinhDanh:
    """The canonical identity from a verified ID token and its (sub-checked) userinfo.

    Tolerant where the public record varies (numbers as strings and strings as numbers,
    optional claims missing, claims this gateway does not use ignored), strict where the
    identity rests on a claim: the account type, a name, the ID number (checked like every
    other connector's, :mod:`schemas.cccd`, and against the birth date), and for a citizen an
    ID number or an old ID card number, for a business a tax or business code (what OpenCPS
    requires, ``DVCQGSSOActionImpl.java`` lines 654-664)."""
    account = _account(userinfo)
    name = _text(userinfo, "HoVaTen", 128)
    business_name = _text(userinfo, "TenDoanhNghiep", 300)
    if name is None and (account is LoaiTaiKhoan.CONG_DAN or business_name is None):
        raise _bad("HoVaTen", "missing")
    birth = _birth_date(userinfo)
    number = _text(userinfo, "SoDinhDanh", 12)
    if number is not None:
        try:
            cccd.validate(number, birth_date=birth)
        except cccd.IdNumberError as exc:
            raise _bad("SoDinhDanh", str(exc)) from None
    old_number = _text(userinfo, "SoCMND", 12)
    if old_number is not None and not _OLD_ID.fullmatch(old_number):
        raise _bad("SoCMND", "not 9 or 12 digits")
    if account is LoaiTaiKhoan.CONG_DAN and number is None and old_number is None:
        raise _bad("SoDinhDanh", "missing for a citizen account (and no SoCMND)")
    tax_code = _text(userinfo, "MaSoThue", 14)
    business_code = _text(userinfo, "MaSoDoanhNghiep", 14)
    if account is LoaiTaiKhoan.DOANH_NGHIEP and tax_code is None and business_code is None:
        raise _bad("MaSoThue", "missing for a business account (and no MaSoDoanhNghiep)")
    return DinhDanh(
        provider=provider,
        sub=str(id_claims["sub"]),
        loai_tai_khoan=account,
        so_dinh_danh=number,
        so_cmnd=old_number,
        ho_va_ten=name,
        ten_doanh_nghiep=business_name,
        ngay_sinh=birth,
        ma_so_thue=tax_code,
        ma_so_doanh_nghiep=business_code,
        dia_chi=_text(userinfo, "DiaChi", 500),
        thu_dien_tu=_text(userinfo, "ThuDienTu"),
        so_dien_thoai=_text(userinfo, "SoDienThoai", 20),
        tech_id=_text(userinfo, "TechID", 64),
        muc_dam_bao=assurance_level(userinfo, id_claims),
    )
