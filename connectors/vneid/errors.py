"""Problem types of the identity connector (VNeID and DVCQG SSO).

Each says which step of a login failed, so that the case system (and the citizen) can tell
"log in again" from "the provider misbehaved" from "this account is not enough here"::

    GatewayError (gateway.core)
    ├── LoginStateInvalid        400  the state is unknown, expired or already used
    ├── Forbidden
    │   └── AssuranceTooLow      403  the account's assurance level is below the procedure's
    └── UpstreamError
        └── PermanentUpstreamError
            ├── CodeRejected     400  the provider refused the code (spent, expired or wrong)
            ├── IdTokenRejected  502  the ID token failed a check (``check`` names which:
            │                         signature, alg, iss, aud, azp, exp, iat, nbf, nonce, sub)
            └── UserinfoMismatch 502  userinfo speaks of another subject than the ID token

No message ever carries a token, a code, a verifier or a secret: a detail names the check that
failed, never the value that failed it.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.core.errors import FieldError, Forbidden, GatewayError, PermanentUpstreamError

__all__ = [
    "AssuranceTooLow",
    "CodeRejected",
    "IdTokenRejected",
    "LoginStateInvalid",
    "UserinfoMismatch",
]


class LoginStateInvalid(GatewayError):
    """The callback's ``state`` matches no login in progress: start the login again."""

    status = 400
    type_slug = "identity-login-state-invalid"
    title = "Login state unknown, expired or already used"


class AssuranceTooLow(Forbidden):
    """The account logged in below the assurance level the procedure requires."""

    type_slug = "identity-assurance-too-low"
    title = "Identity assurance level too low"


class CodeRejected(PermanentUpstreamError):
    """The token endpoint refused the authorization code (``invalid_grant``): it was already
    used, has expired, or does not match the redirect URI or PKCE verifier. ``code`` holds the
    provider's OAuth error code. The user must log in again."""

    status = 400
    type_slug = "identity-code-rejected"
    title = "The identity provider refused the authorization code"


class IdTokenRejected(PermanentUpstreamError):
    """The provider's ID token failed verification; ``check`` names the failed check."""

    type_slug = "identity-token-rejected"
    title = "The identity provider's ID token was refused"

    def __init__(
        self,
        detail: str,
        *,
        check: str | None = None,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(detail, code=code, errors=errors)
        self.check = check


class UserinfoMismatch(PermanentUpstreamError):
    """The userinfo answer does not belong to the subject of the ID token."""

    type_slug = "identity-userinfo-mismatch"
    title = "The identity provider's userinfo does not match the ID token"
