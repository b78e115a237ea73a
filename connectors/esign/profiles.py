"""The eSign wire profiles: what the gateway sends each signing service and how it reads the
answers. This is the one module that knows them; the clients only call it.

``csc`` (``SERVICE=csc``): this project's documented CSC profile
    Cloud Signature Consortium API v1 names under ``{base_url}/csc/v1``: ``auth/login`` (HTTP
    Basic), ``credentials/list``, ``credentials/info``, ``credentials/authorize`` (PIN, one SAD
    per hash), ``signatures/signHash``; errors ``{error, error_description}``. No public client
    of a Vietnamese provider was found speaking these paths: the public Viettel MySign clients
    call ``/vtss/service/ras/v1/login``, ``/vtss/service/certificates/info``,
    ``/vtss/service/signHash`` and ``/vtss/service/requests/status`` with their own bodies
    (``client_id``, ``client_secret``, ``profile_id``, ``credentialID``, ``documents``,
    ``async``). A MySign profile would be another profile; see the README's conformance table.

``smartca`` (``SERVICE=hash``, ``HASH_PROFILE=smartca``, the default): VNPT SmartCA, ``sp769``
    From the public record:

    * *Doc*: VNPT's integration document "Tài liệu tích hợp VNPT SMARTCA" v4.1, as published
      in ``huy1692003/BE-PCHY_2024`` (``API_PCHY/wwwroot/fileBBTN/
      Kich_ban_tich_hop_smartca_v4.1.pdf``): §1.2 every call a ``POST`` with a JSON body;
      §3.1 the codes; §3.2 ``v1/credentials/get_certificate``; §3.3 ``v1/signatures/sign``;
      §3.4 ``v1/signatures/sign/{tranId}/status``.
    * *SmartCA769*: the public client ``API_PCHY/Services/SMART_CA/SmartCA769.cs`` (with
      ``Model_SMART_CA.cs``) of the same repository, commit 0fda650: the request bodies
      (``_getAccountCert`` L337-380, ``_sign`` L383-412), the digest as lower-case hex
      (L103-106), the status polled by ``POST {}`` with the answer's ``transaction_id``
      (L126, L452-463) until ``signatures`` is not null (L128-133).
    * *ERS*: ``5310101/ERS_EbhRemoteSigning``, a public reader of the status ``message``:
      ``PENDING``, ``SUCCESS`` (``EBH_RemoteSigning_Service(ERS)/RemoteSigningService.asmx.cs``
      L157-170) and ``EXPIRED`` (``ws_GetResult_RemoteSigning/ServiceGetResult_VNPT.cs`` L233,
      commit 27db7d6).

    The service provider's account (``sp_id``, ``sp_password``) travels in every body but the
    status poll's (SmartCA769 sends ``{}``); no header carries a credential.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from connectors.esign.errors import SigningRefused
from gateway.core.errors import InvalidUpstreamAnswer
from schemas import esign as wire
from schemas.esign import SignatureFormat, TransactionState

__all__ = [
    "DEFAULT_HASH_PROFILE",
    "FILE_TYPES",
    "SMARTCA_PATHS",
    "SMARTCA_SUCCESS",
    "HashProfile",
    "Outcome",
    "SmartcaPaths",
    "certificate_request",
    "chain_of",
    "choose_certificate",
    "outcome_of",
    "secret_forms",
    "sign_request",
]

HashProfile = Literal["smartca"]
DEFAULT_HASH_PROFILE: HashProfile = "smartca"


@dataclass(frozen=True, slots=True)
class SmartcaPaths:
    """Paths under ``base_url`` (configurable: ``SMARTCA_*_PATH``)."""

    certificate: str = "/sca/sp769/v1/credentials/get_certificate"  # Doc §3.2
    sign: str = "/sca/sp769/v1/signatures/sign"  # Doc §3.3
    status: str = "/sca/sp769/v1/signatures/sign/{transaction_id}/status"  # Doc §3.4


SMARTCA_PATHS = SmartcaPaths()
#: ``status_code`` of an answer that succeeded (Doc §3.1: 200 SUCCESS)
SMARTCA_SUCCESS = 200

#: ``file_type`` per signature format. Doc §3.3 lists "xml/json/word/pdf/…" and SmartCA769
#: sends "pdf" (L390); for a detached CMS over any other file the gateway says "cms", the
#: name of the VNPT hash-signing library's CMS signer kind (an assumption: no public
#: request shows it).
FILE_TYPES: Mapping[SignatureFormat, str] = MappingProxyType(
    {"pades": "pdf", "xades": "xml", "cms": "cms", "jws": "json"}
)

#: the status ``message`` of a transaction that will never be signed. EXPIRED is ERS's
#: (ServiceGetResult_VNPT.cs L233); no public source shows a refusal's, these are read as one.
_EXPIRED = frozenset({"EXPIRED"})
_DENIED = frozenset({"REJECTED", "REJECT", "DENIED", "CANCELED", "CANCELLED", "USER_REJECTED"})


def certificate_request(
    *, sp_id: str, sp_password: str, user_id: str, serial_number: str | None, transaction_id: str
) -> wire.HashCertificateRequest:
    """get_certificate's body, as SmartCA769's ``ReqGetCert`` (L339-346): the configured
    serial number, or ``""`` to list every certificate (ERS's ``GetAccountCert``)."""
    return wire.HashCertificateRequest(
        sp_id=sp_id,
        sp_password=sp_password,
        user_id=user_id,
        serial_number=serial_number or "",
        transaction_id=transaction_id,
    )


def sign_request(
    *,
    sp_id: str,
    sp_password: str,
    user_id: str,
    serial_number: str,
    transaction_id: str,
    digest: bytes,
    description: str,
    format: SignatureFormat | None,
) -> wire.HashSignRequest:
    """signatures/sign's body, as SmartCA769's ``_sign`` (L387-402): one ``sign_files`` item
    of ``sign_type`` "hash" carrying the digest as lower-case hex. Its ``doc_id`` is the
    transaction's id (SmartCA769 repeats the hash there; the document says it is shown to the
    holder, so a short id they can match with the case system reads better)."""
    return wire.HashSignRequest(
        sp_id=sp_id,
        sp_password=sp_password,
        user_id=user_id,
        transaction_desc=description[:500],
        transaction_id=transaction_id,
        sign_files=[
            wire.HashSignFile(
                data_to_be_signed=digest.hex(),
                doc_id=transaction_id,
                file_type=FILE_TYPES[format or "pades"],
                sign_type="hash",
            )
        ],
        serial_number=serial_number,
    )


def _serials_match(a: str, b: str) -> bool:
    # serial numbers are hex; a deployment may write them upper-case or with leading zeros
    try:
        return int(a, 16) == int(b, 16)
    except ValueError:
        return a.strip().lower() == b.strip().lower()


def choose_certificate(
    answer: wire.HashCertificateAnswer, serial_number: str | None, user_id: str
) -> wire.HashUserCertificate:
    """The certificate to sign with: the configured serial number's, or the holder's only one.
    A holder with several and no serial configured is a configuration to fix (SmartCA769 asks
    at the console, L355-370); the serials are named so that one can be chosen."""
    found = answer.data.user_certificates if answer.data else []
    if serial_number:
        chosen = [c for c in found if _serials_match(c.serial_number, serial_number)]
        if not chosen:
            raise SigningRefused(
                f"the holder {user_id!r} has no certificate with serial number "
                f"{serial_number!r}: check LGSP_CONNECTORS__ESIGN__SERIAL_NUMBER",
                code="certificate",
            )
        return chosen[0]
    if len(found) == 1:
        return found[0]
    if not found:
        raise SigningRefused(f"the holder {user_id!r} has no certificate", code="certificate")
    serials = ", ".join(c.serial_number for c in found[:10])
    raise SigningRefused(
        f"the holder {user_id!r} has {len(found)} certificates ({serials}): set "
        "LGSP_CONNECTORS__ESIGN__SERIAL_NUMBER to the one to sign with",
        code="certificate",
    )


def chain_of(certificate: wire.HashUserCertificate) -> list[str]:
    """The chain as base64 DER, signer first: ``cert_data``, then ``chain_data``'s
    ``ca_cert`` and ``root_cert`` where given (Doc §3.2; ``root_cert`` null in §4.2)."""
    chain = [certificate.cert_data]
    if certificate.chain_data is not None:
        chain += [
            c for c in (certificate.chain_data.ca_cert, certificate.chain_data.root_cert) if c
        ]
    return chain


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a status answer says: the state, and the signature (base64) when approved."""

    state: TransactionState
    signature: str | None = None
    detail: str = ""


def outcome_of(answer: wire.HashTransaction, doc_id: str) -> Outcome:
    """Read a status answer the way public clients do: signed once ``signatures`` carries a
    value (SmartCA769 L128-133; the value of our ``doc_id``, or the only one), expired on
    ``EXPIRED`` (ERS), refused on a refusal's message, otherwise still pending (``PENDING``,
    ERS L162; SmartCA769 keeps polling whatever else it reads)."""
    signatures = [s for s in (answer.data.signatures if answer.data else None) or [] if s]
    valued = [s for s in signatures if s.signature_value]
    mine = [s for s in valued if s.doc_id == doc_id] or (valued if len(valued) == 1 else [])
    if mine:
        return Outcome("approved", mine[0].signature_value)
    message = answer.message.strip().upper()
    if valued:
        raise InvalidUpstreamAnswer(
            f"the service answered {len(valued)} signatures and none for document {doc_id!r}"
        )
    if message in _EXPIRED:
        return Outcome("expired", detail=answer.message[:100])
    if message in _DENIED:
        return Outcome("denied", detail=answer.message[:100])
    return Outcome("pending", detail=answer.message[:100])


def secret_forms(secret: str) -> Sequence[bytes]:
    """The ways ``secret`` can appear in a JSON body (as is, and JSON-escaped with or without
    ASCII escapes), for the exchange log's redaction (``lgsp_redact``)."""
    forms = {
        secret.encode(),
        json.dumps(secret)[1:-1].encode(),
        json.dumps(secret, ensure_ascii=False)[1:-1].encode(),
    }
    return tuple(f for f in forms if f)
