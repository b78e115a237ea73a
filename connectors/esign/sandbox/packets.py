"""How the simulated services read their requests: the simulator's own models, from the public
record (never the connector's wire models).

SmartCA (VNPT's integration document "Tài liệu tích hợp VNPT SMARTCA" v4.1, §3.2-3.4, as
published in ``huy1692003/BE-PCHY_2024`` ``API_PCHY/wwwroot/fileBBTN/
Kich_ban_tich_hop_smartca_v4.1.pdf``; and what public clients send, e.g. ``SmartCA769.cs`` of
the same repository): the fields the document marks *Required* are required; those it marks
*Optional* may be absent or ``null`` (Newtonsoft, which the public .NET clients use, writes
``null`` for an unset string); fields it does not name are ignored, as a JSON service built on
such serializers does. ``sp_id`` / ``sp_password`` may be absent only on a request the
sandbox's LGSP relayed (it holds the credential).

The CSC-style service: the Cloud Signature Consortium API v1 field names this project's CSC
profile uses (``credentialID``, ``hash``, ``SAD``, ``hashAlgo``, ``signAlgo``, ``PIN``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "CscAuthorizeRequest",
    "CscInfoRequest",
    "CscListRequest",
    "CscSignHashRequest",
    "SmartcaCertificateRequest",
    "SmartcaSignFile",
    "SmartcaSignRequest",
]

_Text = Annotated[str, Field(max_length=500)]
_Id = Annotated[str, Field(min_length=1, max_length=200)]


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


# --- SmartCA (sca/sp769/v1) ----------------------------------------------------------------------


class SmartcaCertificateRequest(_Read):
    """``POST /sca/sp769/v1/credentials/get_certificate`` (§3.2)."""

    sp_id: _Id | None = None
    sp_password: _Id | None = None
    user_id: _Id
    serial_number: _Text | None = None  # Optional: "" or absent lists every certificate
    transaction_id: _Id


class SmartcaSignFile(_Read):
    """One item of ``sign_files`` (§3.3); ``data_to_be_signed`` is hex for ``sign_type`` hash
    ("Base64 string với file, hex với hash")."""

    data_to_be_signed: Annotated[str, Field(min_length=1, max_length=64 * 1024)]
    doc_id: _Id
    file_type: Annotated[str, Field(min_length=1, max_length=50)]
    sign_type: Annotated[str, Field(min_length=1, max_length=20)]


class SmartcaSignRequest(_Read):
    """``POST /sca/sp769/v1/signatures/sign`` (§3.3)."""

    sp_id: _Id | None = None
    sp_password: _Id | None = None
    user_id: _Id
    transaction_id: Annotated[str, Field(min_length=1, max_length=100)]
    transaction_desc: _Text | None = None
    serial_number: _Text | None = None
    time_stamp: Annotated[str, Field(max_length=20)] | None = None  # YYYYMMddHHmmSS
    sign_files: list[SmartcaSignFile] = Field(min_length=1, max_length=50)


# --- the CSC-style service (csc/v1) ------------------------------------------------------------


class CscListRequest(_Read):
    maxResults: int = Field(20, ge=1, le=100)


class CscInfoRequest(_Read):
    credentialID: _Id
    certificates: str = "chain"
    certInfo: bool = True


class CscAuthorizeRequest(_Read):
    credentialID: _Id
    numSignatures: int = Field(1, ge=1, le=100)
    hash: list[Annotated[str, Field(max_length=200)]] = Field(min_length=1, max_length=100)
    PIN: Annotated[str, Field(max_length=100)] | None = None


class CscSignHashRequest(_Read):
    credentialID: _Id
    SAD: Annotated[str, Field(min_length=1, max_length=4096)]
    hash: list[Annotated[str, Field(max_length=200)]] = Field(min_length=1, max_length=100)
    hashAlgo: Annotated[str, Field(pattern=r"^[0-9.]+$")]
    signAlgo: Annotated[str, Field(pattern=r"^[0-9.]+$")]

    @field_validator("hash")
    @classmethod
    def _base64(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item or any(c not in _B64 for c in item):
                raise ValueError("a hash is not base64")
        return value


_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
