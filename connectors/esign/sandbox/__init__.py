"""A simulator of the eSign side: a VNPT SmartCA service (``/sca/sp769/v1/...``), a CSC-style
signing service (``/csc/v1/...``), the test PKI's CRLs and OCSP responder, and an RFC 3161
timestamp authority, as one ASGI app.

An independent model of the platforms, from the public record: it never imports the
connector's wire models, mapping, client or config, nor ``schemas`` (a test in
``tests/test_architecture.py`` keeps it so), so that it can disagree with the connector. It
accepts what public SmartCA clients send (``SmartCA769.cs`` exactly as it builds its requests)
and answers in the shapes they read.

* :mod:`.accounts`: the sandbox's credentials and certificate holders;
* :mod:`.pki`: the test PKI (root, signing CA, four signers, TSA); the connector trusts its root
  only in development (``TRUST_ANCHORS=sandbox``);
* :mod:`.packets`: how the services read their requests;
* :mod:`.smartca`, :mod:`.csc`, :mod:`.authority`: the routes; :mod:`.state`: the state,
  faults and counters; :mod:`.app`: the app and its ``/_sandbox`` controls.
"""

from connectors.esign.sandbox.accounts import (
    CSC_PASSWORD,
    CSC_PIN,
    CSC_USERNAME,
    HOLDERS,
    RELAY_HEADER,
    RELAY_VALUE,
    SP_ID,
    SP_PASSWORD,
    HeldCertificate,
)
from connectors.esign.sandbox.app import create_app, get_simulator
from connectors.esign.sandbox.pki import (
    SANDBOX_BASE,
    SIGNER_NAMES,
    Issued,
    SandboxPKI,
    SignerName,
    sandbox_pki,
    sign_prehashed,
)
from connectors.esign.sandbox.state import (
    EsignSimulator,
    FaultConfig,
    SignedFile,
    SimStats,
    Transaction,
)

__all__ = [
    "CSC_PASSWORD",
    "CSC_PIN",
    "CSC_USERNAME",
    "HOLDERS",
    "RELAY_HEADER",
    "RELAY_VALUE",
    "SANDBOX_BASE",
    "SIGNER_NAMES",
    "SP_ID",
    "SP_PASSWORD",
    "EsignSimulator",
    "FaultConfig",
    "HeldCertificate",
    "Issued",
    "SandboxPKI",
    "SignedFile",
    "SignerName",
    "SimStats",
    "Transaction",
    "create_app",
    "get_simulator",
    "sandbox_pki",
    "sign_prehashed",
]
