"""The signer certificate's checks, the same for every format: a path to a configured trust
anchor, validity at the validation moment, and revocation (OCSP, else CRL).

Revocation runs in certvalidator's "hard-fail" mode: a certificate that names a CRL or an OCSP
responder must be checked by one of them. When neither answers the outcome is revocation
``unknown`` (never a silent pass), and the verdict can be no better than ``indeterminate``.

The validation moment is the caller's: the time of a valid timestamp when the signature has
one (the token proves the signature existed then), else now. The time a signer claims
(``signingTime``) proves nothing and is only reported, never used to validate at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath

from connectors.esign.config import SANDBOX_ANCHOR
from connectors.esign.revocation import RevocationFetchers
from gateway.core.errors import ConfigurationError
from schemas.esign import CertificateValidity, RevocationStatus

__all__ = ["ChainChecker", "ChainOutcome", "load_trust_anchors"]


@dataclass(slots=True)
class ChainOutcome:
    chain_ok: bool
    trust_anchor: str | None
    validity: CertificateValidity
    revocation: RevocationStatus
    revocation_time: datetime | None = None
    reasons: list[str] = field(default_factory=list)


def load_trust_anchors(entries: Sequence[str]) -> list[asn1_x509.Certificate]:
    """Certificates from ``trust_anchors``: inline PEM, a PEM/DER file path, or ``sandbox``.

    Raises :class:`ConfigurationError` naming the entry that could not be read.
    """
    anchors: list[asn1_x509.Certificate] = []
    for index, entry in enumerate(entries):
        where = f"LGSP_CONNECTORS__ESIGN__TRUST_ANCHORS[{index}]"
        if entry == SANDBOX_ANCHOR:
            # imported here: production configurations never load the simulator's test PKI
            from connectors.esign.sandbox.pki import sandbox_pki

            anchors.append(asn1_x509.Certificate.load(sandbox_pki().root.der))
            continue
        try:
            data = entry.encode() if "-----BEGIN" in entry else Path(entry).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"{where}: cannot read {entry!r}: {exc.strerror}") from None
        try:
            if pem.detect(data):
                anchors.extend(
                    asn1_x509.Certificate.load(der)
                    for kind, _, der in pem.unarmor(data, multiple=True)
                    if kind == "CERTIFICATE"
                )
            else:
                anchors.append(asn1_x509.Certificate.load(data))
                anchors[-1].native  # noqa: B018 - parse now, not at first use
        except ValueError:
            raise ConfigurationError(f"{where}: not a certificate (PEM or DER)") from None
    if not anchors:
        raise ConfigurationError("LGSP_CONNECTORS__ESIGN__TRUST_ANCHORS: no certificate")
    return anchors


class ChainChecker:
    """Validation contexts over the configured anchors, and the certificate check."""

    def __init__(self, anchors: Sequence[asn1_x509.Certificate]) -> None:
        self.anchors = list(anchors)

    def context(
        self,
        fetchers: RevocationFetchers,
        *,
        other_certs: Iterable[asn1_x509.Certificate] = (),
        moment: datetime | None = None,
    ) -> ValidationContext:
        return ValidationContext(
            trust_roots=self.anchors,
            other_certs=list(other_certs),
            moment=moment,
            allow_fetching=True,
            fetchers=fetchers.fetchers,
            revocation_mode="hard-fail",
            # revocation answers are fetched now, after the moment validated at
            retroactive_revinfo=True,
        )

    async def check(
        self,
        certificate: asn1_x509.Certificate,
        fetchers: RevocationFetchers,
        *,
        other_certs: Iterable[asn1_x509.Certificate],
        moment: datetime | None,
    ) -> ChainOutcome:
        context = self.context(fetchers, other_certs=other_certs, moment=moment)
        validator = CertificateValidator(certificate, validation_context=context)
        try:
            path: ValidationPath = await validator.async_validate_usage(set())  # type: ignore[no-untyped-call]
        except RevokedError as exc:
            return ChainOutcome(
                True,
                _anchor(exc.original_path),
                "valid",
                "revoked",
                exc.revocation_dt,
                [f"certificate revoked ({exc.reason.human_friendly}) at {exc.revocation_dt}"],
            )
        except ExpiredError as exc:
            return ChainOutcome(
                True,
                _anchor(exc.original_path),
                "expired",
                "unknown",
                reasons=[f"certificate expired at {exc.expired_dt.isoformat()}"],
            )
        except NotYetValidError as exc:
            return ChainOutcome(
                True,
                _anchor(exc.original_path),
                "not_yet_valid",
                "unknown",
                reasons=[f"certificate not valid before {exc.valid_from.isoformat()}"],
            )
        except InsufficientRevinfoError as exc:
            why = "; ".join(fetchers.failures) or exc.failure_msg
            return ChainOutcome(
                True,
                _anchor(exc.original_path),
                "valid",
                "unknown",
                reasons=[f"revocation status unknown: no CRL or OCSP answer ({why})"],
            )
        except PathBuildingError:
            return ChainOutcome(
                False,
                None,
                "unknown",
                "unknown",
                reasons=["no path from the signer certificate to a configured trust anchor"],
            )
        except PathValidationError as exc:
            return ChainOutcome(
                False, _anchor(exc.original_path), "unknown", "unknown", reasons=[exc.failure_msg]
            )
        except ValidationError as exc:
            return ChainOutcome(False, None, "unknown", "unknown", reasons=[exc.failure_msg])
        except ValueError:
            # asn1crypto parses lazily: a damaged certificate fails only when it is read
            return ChainOutcome(
                False, None, "unknown", "unknown", reasons=["a certificate is malformed"]
            )
        return ChainOutcome(True, _anchor(path), "valid", "good")


def _anchor(path: ValidationPath | None) -> str | None:
    if path is None:
        return None
    name: str = path.trust_anchor.authority.name.human_friendly
    return name
