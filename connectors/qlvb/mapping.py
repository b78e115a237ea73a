"""Canonical documents <-> edXML packages (QCVN 102:2016), and status codes <-> our states.

A dossier's document goes to one or more agencies' QLVB as one package (sources: the VXP-SDK
sample ``edoc_new.edxml``, ``PVN-Organization/API-Gateway-iOffice``; OpenCPS maps a dossier the
same way, ``modules/opencps-esb-api-rest/.../BuildEdXMLUtils.java``, ``VietOpenCPS/opencps-v2``):

=====================================  ==========================================================
canonical (:class:`VanBanGui`)         edXML
=====================================  ==========================================================
config ``sender``                      ``From`` {OrganId, OrganizationInCharge, OrganName, ...}
``ma_co_quan_nhan[]``                  ``To`` {OrganId, OrganName = the code: the axis routes by
                                       OrganId; the case system does not hold the directory}
``so_van_ban`` / ``ky_hieu``           ``Code`` {CodeNumber, CodeNotation}
(computed)                             ``DocumentId`` ``{From.OrganId},{yyyy/MM/dd},{so}/{kh}``
``noi_ban_hanh``, ``ngay_ban_hanh``    ``PromulgationInfo`` {Place, PromulgationDate}
``ma_loai_van_ban``                    ``DocumentType`` {Type, TypeDetail 0, TypeName from the
                                       configured table}
``trich_yeu``, ``noi_dung``            ``Subject`` (≤ 500), ``Content`` (≤ 500)
``nguoi_ky``                           ``SignerInfo`` {Competence, Position, FullName}
``han_xu_ly``                          ``DueDate``
``ma_ho_so``                           ``ToPlaces/Place`` "Hồ sơ {ma_ho_so}"; ``Bussiness``
                                       ``BussinessDocReason`` names it too
``ban_giay``                           ``Bussiness/Paper`` (1: a paper copy follows)
``tep_dinh_kem[]``                     ``edXMLManifest/Reference`` + ``AttachmentEncoded/
                                       Attachment`` bound by ``cid:<n>``
=====================================  ==========================================================

Status codes (VXP-SDK ``status_*_NN.edxml``; ``docs/research/issue-23-sources.md`` 1.5):
01 ``received``, 02 ``rejected``, 03 ``registered``, 04 and 05 ``processing``, 06 ``processed``;
13 ``recall_requested``, 15 ``recall_accepted``, 16 ``recall_refused``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.qlvb.config import QlvbConfig
from gateway.core.errors import FieldError, InvalidInput
from schemas import qlvb as wire
from schemas.dvcqg import MA_HO_SO_PATTERN

__all__ = [
    "MAIN_RANK",
    "RECALL",
    "STATUS_BY_CODE",
    "VN",
    "NguoiKy",
    "StatusReport",
    "TepDinhKem",
    "VanBanGui",
    "check_attachments",
    "report_from_wire",
    "to_wire",
]

VN = ZoneInfo("Asia/Ho_Chi_Minh")

STATUS_BY_CODE: dict[str, str] = {
    "01": "received",
    "02": "rejected",
    "03": "registered",
    "04": "processing",
    "05": "processing",
    "06": "processed",
    "13": "recall_requested",
    "15": "recall_accepted",
    "16": "recall_refused",
}
#: the processing line, by code: a report moves a recipient only further along it; 02 and 06
#: are final (a rejected document is not processed, a processed one is not rejected)
MAIN_RANK: dict[str, int] = {"01": 1, "02": 2, "03": 2, "04": 3, "05": 4, "06": 5}
MAIN_FINAL = frozenset({"02", "06"})
#: the recall line (the sender takes the document back): 13, then 15 or 16
RECALL: dict[str, int] = {"13": 1, "15": 2, "16": 2}

OrganId = Annotated[str, Field(pattern=wire.ORGAN_ID_PATTERN, examples=["000.00.12.H22"])]

#: characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF): refused
#: when the document is accepted, naming the field, not when its package is built (a 500)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: str) -> str:
    if _NOT_XML.search(value):
        raise ValueError("contains a character XML cannot carry (a control character)")
    return value


class NguoiKy(BaseModel):
    """Who signed the document (``SignerInfo``)."""

    model_config = ConfigDict(extra="forbid")

    tham_quyen: str = Field("", max_length=200, examples=["KT. Giám đốc"], description="Competence")
    chuc_vu: str = Field("", max_length=200, examples=["Phó Giám đốc"], description="Position")
    ho_ten: str = Field(min_length=1, max_length=200, examples=["Trần Văn Bình"])

    _text = field_validator("tham_quyen", "chuc_vu", "ho_ten")(_xml_text)


class TepDinhKem(BaseModel):
    """One attached file, base64 (its decoded size is bounded by the configuration)."""

    model_config = ConfigDict(extra="forbid")

    ten_tep: str = Field(
        min_length=1,
        max_length=wire.ATTACHMENT_NAME_MAX,
        pattern=r"^[^/\\\x00-\x1f]+$",
        examples=["ket-qua.pdf"],
    )
    loai: str = Field(
        pattern=r"^[a-z]+/[A-Za-z0-9.+-]{1,80}$",
        examples=["application/pdf"],
        description="media type",
    )
    noi_dung: str = Field(min_length=4, description="the file, base64 (RFC 4648)")
    mo_ta: str = Field("", max_length=500)

    _text = field_validator("ten_tep", "mo_ta")(_xml_text)


class VanBanGui(BaseModel):
    """A dossier's document sent to one or more agencies' document management software."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                    "ma_co_quan_nhan": ["000.00.12.H22"],
                    "so_van_ban": "125",
                    "ky_hieu": "TTHCC-MC",
                    "trich_yeu": "V/v chuyển hồ sơ 000.00.01.H22-240105-0007 xin ý kiến",
                    "nguoi_ky": {
                        "tham_quyen": "KT. Giám đốc",
                        "chuc_vu": "Phó Giám đốc",
                        "ho_ten": "Trần Văn Bình",
                    },
                    "noi_ban_hanh": "Phú Thọ",
                    "ngay_ban_hanh": "2024-01-05",
                    "ma_loai_van_ban": 1,
                    "tep_dinh_kem": [
                        {
                            "ten_tep": "cong-van.pdf",
                            "loai": "application/pdf",
                            "noi_dung": "JVBERi0xLjcK...",
                        }
                    ],
                }
            ]
        },
    )

    ma_ho_so: str = Field(pattern=MA_HO_SO_PATTERN)
    ma_co_quan_nhan: list[OrganId] = Field(min_length=1, max_length=20)
    so_van_ban: str = Field(min_length=1, max_length=20, pattern=r"^[^,/\s]+$")
    ky_hieu: str = Field(min_length=1, max_length=50, pattern=r"^[^,\s]+$")
    trich_yeu: str = Field(min_length=1, max_length=wire.SUBJECT_MAX)
    noi_dung: str = Field("", max_length=wire.SUBJECT_MAX)
    nguoi_ky: NguoiKy
    noi_ban_hanh: str = Field(min_length=1, max_length=200)
    ngay_ban_hanh: date
    ma_loai_van_ban: int = Field(1, ge=0, le=999)
    han_xu_ly: date | None = None
    ban_giay: bool = Field(False, description="a paper copy follows (Bussiness/Paper)")
    tep_dinh_kem: list[TepDinhKem] = Field(min_length=1, max_length=50)

    _text = field_validator("so_van_ban", "ky_hieu", "trich_yeu", "noi_dung", "noi_ban_hanh")(
        _xml_text
    )

    @field_validator("ma_co_quan_nhan")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("the same agency twice (QCVN 102: no duplicate To)")
        return value

    def document_id(self, sender: str) -> str:
        return wire.document_id(sender, self.ngay_ban_hanh, self.so_van_ban, self.ky_hieu)


def check_attachments(doc: VanBanGui, config: QlvbConfig) -> list[bytes]:
    """The decoded attachments, or :class:`InvalidInput` naming the field (count, base64,
    size, the document type's code)."""
    errors: list[FieldError] = []
    if doc.ma_loai_van_ban not in config.document_types:
        errors.append(FieldError("ma_loai_van_ban", "not in the configured document types"))
    if len(doc.tep_dinh_kem) > config.max_attachments:
        errors.append(FieldError("tep_dinh_kem", f"at most {config.max_attachments} files"))
    decoded: list[bytes] = []
    for n, file in enumerate(doc.tep_dinh_kem):
        loc = f"tep_dinh_kem[{n}].noi_dung"
        if len(file.noi_dung) > (config.max_attachment_bytes * 4) // 3 + 4:
            errors.append(FieldError(loc, f"larger than {config.max_attachment_bytes} bytes"))
            continue
        try:
            content = base64.b64decode(file.noi_dung, validate=True)
        except (binascii.Error, ValueError):
            errors.append(FieldError(loc, "not base64"))
            continue
        if not content:
            errors.append(FieldError(loc, "empty"))
        elif len(content) > config.max_attachment_bytes:
            errors.append(FieldError(loc, f"larger than {config.max_attachment_bytes} bytes"))
        decoded.append(content)
    if errors:
        raise InvalidInput(f"{errors[0].loc}: {errors[0].msg}", errors=errors)
    return decoded


def to_wire(doc: VanBanGui, config: QlvbConfig, *, now: datetime) -> wire.EdocPackage:
    """The package of ``doc`` from our configured sender (``pydantic.ValidationError`` when
    the standard refuses it)."""
    s = config.sender
    document = doc.document_id(s.organ_id)
    sender = wire.Organization(
        OrganId=s.organ_id,
        OrganizationInCharge=s.organization_in_charge,
        OrganName=s.organ_name,
        OrganAdd=s.organ_add,
        Email=s.email,
        Telephone=s.telephone,
        Fax=s.fax,
        Website=s.website,
    )
    local = now.astimezone(VN).replace(tzinfo=None, microsecond=0)
    references: list[wire.Reference] = []
    attachments: list[wire.Attachment] = []
    for n, file in enumerate(doc.tep_dinh_kem, start=1):
        cid = f"cid:{n}"
        references.append(
            wire.Reference(
                ContentId=cid,
                ContentType=file.loai,
                Description=file.mo_ta or file.ten_tep,
                AttachmentName=file.ten_tep,
            )
        )
        attachments.append(
            wire.Attachment(
                ContentId=cid,
                AttachmentName=file.ten_tep,
                Description=file.mo_ta or file.ten_tep,
                ContentType=file.loai,
                ContentTransferEncoded=file.noi_dung,
            )
        )
    return wire.EdocPackage(
        MessageHeader=wire.EdocHeader(
            From=sender,
            To=[wire.Organization(OrganId=code, OrganName=code) for code in doc.ma_co_quan_nhan],
            DocumentId=document,
            Code=wire.DocumentCode(CodeNumber=doc.so_van_ban, CodeNotation=doc.ky_hieu),
            PromulgationInfo=wire.Promulgation(
                Place=doc.noi_ban_hanh, PromulgationDate=doc.ngay_ban_hanh
            ),
            DocumentType=wire.DocumentKind(
                Type=doc.ma_loai_van_ban,
                TypeDetail=0,
                TypeName=config.document_types[doc.ma_loai_van_ban],
            ),
            Subject=doc.trich_yeu,
            Content=doc.noi_dung,
            SignerInfo=wire.Signer(
                Competence=doc.nguoi_ky.tham_quyen,
                Position=doc.nguoi_ky.chuc_vu,
                FullName=doc.nguoi_ky.ho_ten,
            ),
            DueDate=doc.han_xu_ly,
            ToPlaces=[f"Hồ sơ {doc.ma_ho_so}"],
        ),
        TraceHeaderList=[wire.TraceHeader(OrganId=s.organ_id, Timestamp=local)],
        Bussiness=wire.BussinessInfo(
            DocumentId=document,
            BussinessDocType=0,
            BussinessDocReason=f"Văn bản điện tử mới, hồ sơ {doc.ma_ho_so}",
            Paper=1 if doc.ban_giay else 0,
            StaffInfo=wire.Staff(Department=s.department, Staff=s.staff),
        ),
        References=references,
        Attachments=attachments,
    )


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A status an agency's QLVB reported about one of our documents."""

    document_id: str
    organ_id: str  # the reporting agency (From)
    organ_name: str
    code: str
    status: str
    description: str
    staff: str
    at: datetime  # aware

    @property
    def dedupe_key(self) -> str:
        """The same document, agency, code and time is the same report, however it came."""
        return f"{self.document_id}|{self.organ_id}|{self.code}|{self.at.isoformat()}"


def report_from_wire(package: wire.StatusPackage) -> StatusReport:
    h = package.MessageHeader
    return StatusReport(
        document_id=h.ResponseFor.DocumentId,
        organ_id=h.From.OrganId,
        organ_name=h.From.OrganName,
        code=h.StatusCode,
        status=STATUS_BY_CODE[h.StatusCode],
        description=h.Description,
        staff=h.StaffInfo.Staff,
        at=h.Timestamp.replace(tzinfo=VN) if h.Timestamp.tzinfo is None else h.Timestamp,
    )
