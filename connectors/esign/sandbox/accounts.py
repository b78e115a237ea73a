"""The simulator's accounts: what a deployment is given to reach each simulated service, and
the certificate holders it knows.

The secrets are placeholders anyone can read here (the connector's configuration ships the
same values as its development defaults and refuses them in production). Holders are keyed by
their ``user_id`` (SmartCA: "Số CCCD/CMND/Hộ chiếu/Mã số thuế" of the subscriber, VNPT's
integration document v4.1 §3.2); each holds certificates of the test PKI, named as
:mod:`connectors.esign.sandbox.pki` names its signers.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CSC_PASSWORD",
    "CSC_PIN",
    "CSC_USERNAME",
    "HOLDERS",
    "RELAY_HEADER",
    "RELAY_VALUE",
    "SP_ID",
    "SP_PASSWORD",
    "HeldCertificate",
]

# the CSC-style service: HTTP Basic login, then the credential's PIN per signature
CSC_USERNAME = "lgsp-sandbox"
CSC_PASSWORD = "sandbox-esign-password"  # noqa: S105 - a published placeholder
CSC_PIN = "sandbox-esign-pin"

# SmartCA: the service provider's account, sent in every body (sp_id, sp_password)
SP_ID = "lgsp-sandbox-sp"
SP_PASSWORD = "sandbox-esign-sp-password"  # noqa: S105 - a published placeholder

#: a request relayed by the sandbox's LGSP simulator carries this header: the LGSP holds the
#: platform credential and authenticated the caller itself
RELAY_HEADER = "x-lgsp-relay"
RELAY_VALUE = "sandbox-lgsp-relay"


@dataclass(frozen=True, slots=True)
class HeldCertificate:
    """One certificate of a holder, as SmartCA's ``get_certificate`` lists it."""

    signer: str  # the test PKI's signer name
    service_type: str  # "SMARTCA" | "ESEAL" in VNPT's sample answer (§3.2)
    service_name: str


_PERSONAL = "SMARTCA PERSONAL PRO"

HOLDERS: dict[str, tuple[HeldCertificate, ...]] = {
    # the default holder: one certificate, so no serial number needs configuring
    "lgsp-sandbox": (HeldCertificate("valid", "SMARTCA", _PERSONAL),),
    # a holder with every test certificate (VNPT's sample answer lists three for one
    # subscriber): the serial number chooses
    "lgsp-sandbox-all": (
        HeldCertificate("valid", "SMARTCA", _PERSONAL),
        HeldCertificate("revoked", "ESEAL", "ESEAL"),
        HeldCertificate("expired", "SMARTCA", _PERSONAL),
        HeldCertificate("not_yet_valid", "ESEAL", "ESEAL"),
    ),
}
