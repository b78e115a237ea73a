"""Wire packets of the document management and operations software (quản lý văn bản và điều
hành, QLVB) exchanged as edXML (QCVN 102:2016/BTTTT), with the standard's own element names,
and the JSON of the exchange axis's operations (our profile over the VXP SDK's names).

Public sources (cited element for element in ``tests/golden/qlvb/SOURCES.md``; the research
notes are ``docs/research/issue-23-sources.md`` section 1):

* VXP-SDK ``PVN-Organization/API-Gateway-iOffice``, ``JDK 1.8/SDKVXP_Example/resources/
  edoc_new.edxml`` (the document package) and ``status_*.edxml`` (the status packages 01 ... 16),
  ``src/main/java/com/vpcp/example/ServiceTest.java`` (the operations ``sendEdoc``,
  ``getReceivedEdocList``, ``getEdoc``, ``updateStatus`` and their header JSON);
* Bkav-edoc ``QuangChuIT/edoc-integrator``: ``edoc-service/src/main/resources/edoc_new.edxml``,
  ``status_processing_05.edxml``, ``Checker.java`` (at least one ``To``, no duplicate ``To``,
  ``Subject`` and ``Content`` at most 500 characters, ``AttachmentName`` at most 200);
* edxml-convert ``tungsfer512/edxml-convert`` ``EdXMLBuild.java`` (the header's parameters).

Contracts: strict when the gateway writes (``Out`` models forbid unknown fields, bound every
string, dates ``yyyy/MM/dd``), tolerant when it reads (unknown elements ignored, dates read
``yyyy/MM/dd`` or ``dd/MM/yyyy``: Bkav's sample writes the latter). The ``Bussiness`` spelling
(double s) is the standard's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ATTACHMENT_NAME_MAX",
    "DOCUMENT_ID_PATTERN",
    "NS",
    "ORGAN_ID_PATTERN",
    "STATUS_CODES",
    "SUBJECT_MAX",
    "Attachment",
    "BussinessInfo",
    "DocumentCode",
    "DocumentKind",
    "EdocHeader",
    "EdocPackage",
    "KnobstickItem",
    "KnobstickList",
    "Organization",
    "Promulgation",
    "Reference",
    "ResponseTarget",
    "SendAnswer",
    "ServiceHeader",
    "Signer",
    "Staff",
    "StatusHeader",
    "StatusPackage",
    "TraceHeader",
    "UpdateStatus",
    "document_id",
    "read_date",
    "read_timestamp",
    "write_date",
    "write_timestamp",
]

#: the namespace of QCVN 102:2016 (VXP-SDK and Bkav-edoc samples, EdXmlConstant.java)
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
#: an agency's identifier (mã định danh, QĐ 20/2020/QĐ-TTg), e.g. ``000.00.11.H53``
ORGAN_ID_PATTERN = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$"
#: ``{OrganId},{yyyy/MM/dd},{CodeNumber}/{CodeNotation}`` (Bkav sample, the Lạng Sơn builder)
DOCUMENT_ID_PATTERN = (
    r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2},[0-9]{4}/[0-9]{2}/[0-9]{2},[^,/]+/.+$"
)
#: Bkav-edoc Checker.java
SUBJECT_MAX = 500
ATTACHMENT_NAME_MAX = 200
#: the status codes of the VXP-SDK sample files status_*_NN.edxml
STATUS_CODES: tuple[str, ...] = ("01", "02", "03", "04", "05", "06", "13", "15", "16")

OrganIdText = Annotated[str, Field(pattern=ORGAN_ID_PATTERN, max_length=32)]
Text = Annotated[str, Field(max_length=500)]
Short = Annotated[str, Field(max_length=200)]


def write_date(day: date) -> str:
    """``yyyy/MM/dd``, as the VXP-SDK samples write dates."""
    return day.strftime("%Y/%m/%d")


def read_date(text: str) -> date:
    """``yyyy/MM/dd`` (the samples) or ``dd/MM/yyyy`` (Bkav's sample); ``ValueError`` else."""
    value = text.strip()
    for pattern in ("%Y/%m/%d", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"not a date (yyyy/MM/dd): {value[:32]!r}")


def write_timestamp(at: datetime) -> str:
    """``yyyy/MM/dd HH:mm:ss`` (trace and status timestamps of the samples), local time as given."""
    return at.strftime("%Y/%m/%d %H:%M:%S")


def read_timestamp(text: str) -> datetime:
    """``yyyy/MM/dd HH:mm:ss`` or ``dd/MM/yyyy HH:mm:ss`` (Bkav XmlUtil), naive local time."""
    value = text.strip()
    for pattern in ("%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    raise ValueError(f"not a timestamp (yyyy/MM/dd HH:mm:ss): {value[:32]!r}")


def document_id(organ_id: str, promulgated: date, number: str, notation: str) -> str:
    """The DocumentId rule: ``{OrganId},{yyyy/MM/dd},{CodeNumber}/{CodeNotation}``."""
    return f"{organ_id},{write_date(promulgated)},{number}/{notation}"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Organization(_Wire):
    """``From`` / ``To``: an agency's block."""

    OrganId: OrganIdText
    OrganizationInCharge: Short = ""
    OrganName: Short = Field(min_length=1)
    OrganAdd: Text = ""
    Email: Short = ""
    Telephone: Annotated[str, Field(max_length=50)] = ""
    Fax: Annotated[str, Field(max_length=50)] = ""
    Website: Short = ""


class DocumentCode(_Wire):
    """The document's number (số) and notation (ký hiệu)."""

    CodeNumber: Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[^,/\s]+$")]
    CodeNotation: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^,\s]+$")]


class Promulgation(_Wire):
    Place: Short = Field(min_length=1)
    PromulgationDate: date


class DocumentKind(_Wire):
    """``Type`` an integer code (1 "Công văn" in the VXP-SDK and Bkav samples)."""

    Type: int = Field(ge=0, le=999)
    TypeDetail: int = Field(0, ge=0, le=999)
    TypeName: Short = Field(min_length=1)


class Signer(_Wire):
    Competence: Short = ""
    Position: Short = ""
    FullName: Short = Field(min_length=1)


class EdocHeader(_Wire):
    """The header of a document package (VXP-SDK ``edoc_new.edxml``)."""

    From: Organization
    To: list[Organization] = Field(min_length=1, max_length=100)
    DocumentId: Annotated[str, Field(pattern=DOCUMENT_ID_PATTERN, max_length=200)]
    Code: DocumentCode
    PromulgationInfo: Promulgation
    DocumentType: DocumentKind
    Subject: Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX)]
    Content: Annotated[str, Field(max_length=SUBJECT_MAX)] = ""
    SignerInfo: Signer
    DueDate: date | None = None
    ToPlaces: list[Annotated[str, Field(max_length=150)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules(self) -> EdocHeader:
        # Bkav Checker.checkDuplicateTo
        seen = [o.OrganId for o in self.To]
        if len(set(seen)) != len(seen):
            raise ValueError("To: the same OrganId twice")
        expected = document_id(
            self.From.OrganId,
            self.PromulgationInfo.PromulgationDate,
            self.Code.CodeNumber,
            self.Code.CodeNotation,
        )
        if self.DocumentId != expected:
            raise ValueError(f"DocumentId must be {expected!r} (OrganId,date,number/notation)")
        return self


class TraceHeader(_Wire):
    OrganId: OrganIdText
    Timestamp: datetime


class Staff(_Wire):
    Department: Short = ""
    Staff: Short = ""
    Mobile: Annotated[str, Field(max_length=50)] = ""
    Email: Short = ""


class BussinessInfo(_Wire):
    """``TraceHeaderList/Bussiness`` (the standard's spelling). ``BussinessDocType``: 0 new,
    1 revocation, 2 update, 3 replacement; ``Paper``: 1 when a paper copy follows."""

    DocumentId: Annotated[str, Field(max_length=200)]
    BussinessDocType: int = Field(0, ge=0, le=3)
    BussinessDocReason: Text = ""
    Paper: int = Field(0, ge=0, le=1)
    StaffInfo: Staff = Field(default_factory=Staff)


class Reference(_Wire):
    """``edXMLManifest/Reference``: one attachment, bound by its content id."""

    ContentId: Annotated[str, Field(pattern=r"^cid:[A-Za-z0-9._@-]{1,100}$")]
    ContentType: Annotated[str, Field(min_length=3, max_length=100)]
    Description: Text = ""
    AttachmentName: Annotated[str, Field(min_length=1, max_length=ATTACHMENT_NAME_MAX)]


class Attachment(_Wire):
    """``AttachmentEncoded/Attachment``: the file, base64, outside the envelope."""

    ContentId: Annotated[str, Field(pattern=r"^cid:[A-Za-z0-9._@-]{1,100}$")]
    AttachmentName: Annotated[str, Field(min_length=1, max_length=ATTACHMENT_NAME_MAX)]
    Description: Text = ""
    ContentType: Annotated[str, Field(min_length=3, max_length=100)]
    ContentTransferEncoded: str = Field(min_length=1, pattern=r"^[A-Za-z0-9+/=\s]+$")


class EdocPackage(_Wire):
    """A whole document package (what ``sendEdoc`` carries)."""

    MessageHeader: EdocHeader
    TraceHeaderList: list[TraceHeader] = Field(min_length=1, max_length=50)
    Bussiness: BussinessInfo
    References: list[Reference] = Field(max_length=50)
    Attachments: list[Attachment] = Field(max_length=50)

    @model_validator(mode="after")
    def _bound(self) -> EdocPackage:
        # every manifest reference names an attachment that travels, and the reverse
        cids = [r.ContentId for r in self.References]
        if len(set(cids)) != len(cids):
            raise ValueError("References: the same ContentId twice")
        if sorted(cids) != sorted(a.ContentId for a in self.Attachments):
            raise ValueError("References: the content ids do not match the attachments")
        if self.Bussiness.DocumentId != self.MessageHeader.DocumentId:
            raise ValueError("Bussiness.DocumentId differs from MessageHeader.DocumentId")
        return self


class ResponseTarget(_Wire):
    """The document a status package is about."""

    OrganId: OrganIdText
    Code: Annotated[str, Field(min_length=1, max_length=80)]
    PromulgationDate: date
    DocumentId: Annotated[str, Field(pattern=DOCUMENT_ID_PATTERN, max_length=200)]


class StatusHeader(_Wire):
    """The header of a status package (VXP-SDK ``status_*.edxml``; no body)."""

    From: Organization
    ResponseFor: ResponseTarget
    StaffInfo: Staff = Field(default_factory=Staff)
    StatusCode: Annotated[str, Field(pattern=r"^[0-9]{2}$")]
    Description: Text = ""
    Timestamp: datetime

    @field_validator("StatusCode")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in STATUS_CODES:
            raise ValueError(f"unknown StatusCode {value!r} (one of {', '.join(STATUS_CODES)})")
        return value


class StatusPackage(_Wire):
    MessageHeader: StatusHeader
    TraceHeaderList: list[TraceHeader] = Field(default_factory=list, max_length=50)


# --- the exchange axis's operations (our profile over the VXP SDK's names) ----------------------


class ServiceHeader(_Wire):
    """The SDK's header JSON: ``from`` the sender's OrganId, ``servicetype`` ``eDoc`` or
    ``status``, ``messagetype`` ``edoc`` or ``status`` (VXP-SDK ServiceTest.java)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: OrganIdText = Field(alias="from")
    servicetype: Literal["eDoc", "status"]
    messagetype: Literal["edoc", "status"]


class SendAnswer(BaseModel):
    """``sendEdoc``'s answer: ``status`` "OK" on success, ``ErrorDesc``, ``DocID`` the axis's id;
    ``ErrorCode`` is our profile's (the SDK only says "OK" or not)."""

    model_config = ConfigDict(extra="ignore")

    status: Annotated[str, Field(max_length=16)]
    ErrorDesc: Annotated[str, Field(max_length=1000)] = ""
    ErrorCode: Annotated[str, Field(max_length=32)] = ""
    DocID: Annotated[str, Field(max_length=100)] = ""


class KnobstickItem(BaseModel):
    """One package waiting to be pulled (``getReceivedEdocList``)."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
    from_: Annotated[str, Field(max_length=32)] = Field("", alias="from")
    servicetype: Annotated[str, Field(max_length=16)] = ""


class KnobstickList(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Annotated[str, Field(max_length=16)]
    ErrorDesc: Annotated[str, Field(max_length=1000)] = ""
    ErrorCode: Annotated[str, Field(max_length=32)] = ""
    data: list[KnobstickItem] = Field(default_factory=list, max_length=1000)


class UpdateStatus(_Wire):
    """``updateStatus``: acknowledge a pulled package, ``done`` or ``fail``."""

    docid: Annotated[str, Field(min_length=1, max_length=100)]
    status: Literal["done", "fail", "processing"]
