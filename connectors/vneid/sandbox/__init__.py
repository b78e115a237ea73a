"""A simulator of both identity providers, VNeID and the DVCQG single sign-on (OpenID Connect).

An independent model of the platforms from the public record: it imports nothing of the
connector (no configuration, models or client) and no ``schemas``, only its own modules and
the core's simulator plumbing, so that the tests can see the connector disagree with it.

* :mod:`.providers`: the providers' names, paths and registered relying parties;
* :mod:`.citizens`: synthetic test accounts and the userinfo claims each provider sends;
* :mod:`.idnumber`: the simulator's own check of a 12-digit ID number;
* :mod:`.tokens`: signing keys (with rotation) and ID tokens, honest and forged;
* :mod:`.model`: switches, grants, counters; :mod:`.provider`: the protocol logic;
* :mod:`.app`: the ASGI app (:func:`create_app`), what ``SPEC.sandbox_factory`` serves.
"""

from __future__ import annotations

from connectors.vneid.sandbox.app import (
    BUSINESS_ACCOUNT,
    DENY_HINT,
    IMPOSTOR_AUDIENCE,
    LEVEL1_CITIZEN,
    LEVEL2_CITIZEN,
    ORGANISATION_ACCOUNT,
    PATHS,
    STALE_NONCE,
    Client,
    FaultConfig,
    OidcSimulator,
    SandboxCitizen,
    create_app,
    discovery_document,
    get_simulator,
    issuer_for,
    pkce_challenge,
    subject,
)
from connectors.vneid.sandbox.providers import (
    DEFAULT_CLIENT_ID,
    DEFAULT_REDIRECT_URIS,
    DEFAULT_SECRETS,
    PROVIDERS,
    ProviderName,
)

__all__ = [
    "BUSINESS_ACCOUNT",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_REDIRECT_URIS",
    "DEFAULT_SECRETS",
    "DENY_HINT",
    "IMPOSTOR_AUDIENCE",
    "LEVEL1_CITIZEN",
    "LEVEL2_CITIZEN",
    "ORGANISATION_ACCOUNT",
    "PATHS",
    "PROVIDERS",
    "STALE_NONCE",
    "Client",
    "FaultConfig",
    "OidcSimulator",
    "ProviderName",
    "SandboxCitizen",
    "create_app",
    "discovery_document",
    "get_simulator",
    "issuer_for",
    "pkce_challenge",
    "subject",
]
