"""The population database's wire profiles: every choice that differs between public senders.

This module is the one place that reads ``DancuConfig.credential`` and the other profile
settings; the client asks it what to put in each request. Public sources:

* **OpenCPS** ``VietOpenCPS/opencps-v2``, branch ``release-candidate-3.0``:
  ``modules/backend-dossiermgt/backend-dossiermgt-service/src/main/java/org/opencps/
  dossiermgt/action/impl/QLCDIntegrationActionImpl.java`` (``createRequestSoap`` L114-162:
  ``<soapenv:Header/>`` empty, prefix ``qldc``, namespace ``http://dancuquocgia.bca``;
  ``sendData`` L89-112) and ``.../backend/dossiermgt/serviceapi/ApiThirdPartyServiceImpl.java``
  (``callApiWithRawBody`` L540-578: the envelope is the raw body, ``Content-Type:
  application/xml``, ``Authorization: Bearer <LGSP token>`` and ``lgspaccesstoken``, no
  SOAPAction). That is the ``lgsp`` profile; the core's LGSP transport adds those headers.
* **A C# caller**, class ``CallApi037`` (namespace ``Module.Common.C06``; its callers pass the
  session's unit code, the officer's CCCD number and login): ``Timestamp`` = milliseconds since
  1970 (UTC), ``sha256`` of ``C06_url_xacthuc + C06_userName + timestamp + C06_secretKey`` in
  lower-case hex, ``Authorization: Basic base64(userName:hash)``, ``SOAPAction: ""``,
  ``application/xml``; the body ``MaYeuCau, MaDVC, MaTichHop, MaCanBo, MaDonVi, TaiKhoan,
  SoDienThoai, SoDinhDanh, HoVaTen, NgayThangNamSinh``, the SOAP header empty.
* **A PHP caller**, ``traCuuThongTinCongDanC06``: ``timestamp`` = seconds
  (``DateTime::getTimestamp``), ``hash('sha256', $sv_url . $username . $timestamp .
  $password)``, ``CURLOPT_USERPWD`` (HTTP Basic), ``Content-Type: application/xml``;
  ``SoCMND`` when the number has 9 digits, else ``SoDinhDanh``; ``HoVaTen`` =
  ``strtoupper(trim(name))``, its spaces kept.
* **PASETO** ``HuanVu201/DichVuCong_KhoaLuan_PASETO`` (``DVCQGService.cs`` L468-484,
  ``VneidService.cs``): ``ToUpperCaseNonWhiteSpaceNonAccentVietnamese``: no diacritics, upper
  case, spaces removed (as the C# caller's ``ConvertToUnsign``).

``authhash`` (``AuthHash = base64(name:pass)`` in the SOAP header) is this project's own
profile: no public sender shows it.
"""

from __future__ import annotations

import base64
import hashlib
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, SecretStr

from connectors.dancu.config import DancuConfig

__all__ = [
    "OfficerCredential",
    "Signed",
    "WireProfile",
    "basic_authorization",
    "normalise_name",
    "squeezed_name",
]

#: as the public callers send it (C# ``StringContent(xml, UTF8, "application/xml")``, PHP
#: ``Content-Type: application/xml``, OpenCPS ``callApiWithRawBody``)
_PUBLIC_CONTENT_TYPE = "application/xml; charset=utf-8"


class OfficerCredential(BaseModel):
    """Who asks: the officer's code on the platform and their platform credential (used by
    the ``authhash`` profile only), with their gateway login (sent as ``TaiKhoan``) and unit
    (which picks ``MaDonVi``) when the officer registry gives them."""

    ma_can_bo: str
    username: str
    password: SecretStr
    tai_khoan: str | None = None
    don_vi: str | None = None

    def auth_hash(self) -> str:
        raw = f"{self.username}:{self.password.get_secret_value()}".encode()
        return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True, slots=True)
class Signed:
    """What one attempt adds to the envelope zeep built: HTTP headers, and the byte strings
    the exchange log's copy of the request must not hold."""

    headers: dict[str, str]
    redact: tuple[bytes, ...]


def basic_authorization(url: str, username: str, timestamp: str, secret: str) -> str:
    """``Basic base64(user:sha256hex(url + user + timestamp + secret))`` (C# ``CallApi037``;
    PHP ``traCuuThongTinCongDanC06``: ``SHA256(sv_url+username+timestamp+secretkey)``)."""
    digest = hashlib.sha256(f"{url}{username}{timestamp}{secret}".encode()).hexdigest()
    token = base64.b64encode(f"{username}:{digest}".encode()).decode("ascii")
    return f"Basic {token}"


def _words(full_name: str) -> list[str]:
    # Đ is a letter of its own in Vietnamese, not a D with a mark, so NFD does not split it;
    # Ð (U+00D0, Icelandic eth) stands in for it in text converted from legacy encodings
    for letter in ("Đ", "đ", "Ð"):
        full_name = full_name.replace(letter, "D")
    decomposed = unicodedata.normalize("NFD", full_name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    words = ("".join(ch for ch in word if "A" <= ch <= "Z") for word in bare.split())
    return [word for word in words if word]


def normalise_name(full_name: str) -> str:
    """HoVaTen with its spaces: no diacritics, upper case, one space between words, the
    letters A-Z only (``"Nguyễn Văn An"`` -> ``"NGUYEN VAN AN"``; ``"H'Hen Niê"`` ->
    ``"HHEN NIE"``). Upper case with spaces kept is the PHP caller's ``strtoupper(trim())``;
    no diacritics is what every public caller that strips them sends."""
    return " ".join(_words(full_name))


def squeezed_name(full_name: str) -> str:
    """The same without spaces (``"NGUYENVANAN"``): PASETO and the C# caller."""
    return "".join(_words(full_name))


class WireProfile:
    """The profile a :class:`~connectors.dancu.config.DancuConfig` chooses, applied.

    ``clock`` gives seconds since 1970 (``time.time``; tests pass a fixed one)."""

    def __init__(self, config: DancuConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self.credential = config.credential

    # --- the body ------------------------------------------------------------------------

    def ho_va_ten(self, full_name: str) -> str:
        if self._config.ho_va_ten == "squeezed":
            return squeezed_name(full_name)
        return normalise_name(full_name)

    def ma_dvc(self, ma_tthc: str) -> str:
        """MaDVC: the procedure the look-up serves, unless the integration was issued a fixed
        code (PASETO ``appsettings.json`` ``CSDLDanCu_MaDVC`` "VPCP"; C# ``CallApi037``
        "VPCP"; OpenCPS takes it from its caller)."""
        return self._config.ma_dvc or ma_tthc

    def ma_don_vi(self, officer: OfficerCredential) -> str:
        """MaDonVi: the officer's unit's code when the configuration maps it, else the
        province's (the C# caller sends the session's unit code)."""
        unit = (officer.don_vi or "").strip()
        return self._config.unit_codes.get(unit, self._config.ma_don_vi)

    def tai_khoan(self, officer: OfficerCredential) -> str | None:
        """TaiKhoan: the officer's login (the C# caller's session user name), when sent."""
        return officer.tai_khoan if self._config.send_tai_khoan else None

    @property
    def so_dien_thoai(self) -> str | None:
        return self._config.so_dien_thoai

    # --- the credential --------------------------------------------------------------------

    def soap_headers(self, officer: OfficerCredential) -> dict[str, str]:
        """zeep's ``_soapheaders``: the officer's AuthHash (``authhash``), else none: the
        public callers' ``<soapenv:Header/>`` is empty."""
        if self.credential == "authhash":
            return {"AuthHash": officer.auth_hash()}
        return {}

    def sign(self, zeep_headers: Mapping[str, str], officer: OfficerCredential) -> Signed:
        """The HTTP headers of one attempt (a fresh timestamp each time, for ``basic``)."""
        if self.credential == "authhash":
            auth_hash = officer.auth_hash()
            return Signed(dict(zeep_headers), (auth_hash.encode(),))
        if self.credential == "lgsp":
            # OpenCPS callApiWithRawBody: application/xml, no SOAPAction; the core's LGSP
            # transport adds Authorization: Bearer and lgspaccesstoken
            return Signed({"Content-Type": _PUBLIC_CONTENT_TYPE}, ())
        config = self._config
        now = self._clock()
        stamp = str(int(now * 1000) if config.basic_timestamp == "milliseconds" else int(now))
        authorization = basic_authorization(
            config.basic_auth_url or config.endpoint_url,
            config.basic_username,
            stamp,
            config.basic_secret.get_secret_value(),
        )
        headers = {
            "Content-Type": _PUBLIC_CONTENT_TYPE,
            "SOAPAction": '""',  # C# CallApi037: "SOAP often needs this line, even empty"
            "timestamp": stamp,
            "Authorization": authorization,
        }
        return Signed(headers, ())

    def secrets(self, officer: OfficerCredential) -> tuple[str, ...]:
        """What must never appear in an error shown to anyone, should the platform echo it."""
        found = [officer.auth_hash(), officer.password.get_secret_value()]
        if self.credential == "basic":
            found.append(self._config.basic_secret.get_secret_value())
        return tuple(secret for secret in found if secret)
