"""Cryptographic helpers: body encryption, digests, checkpoint signatures, client keys.

- Bodies kept in the exchange log and the outbox are sealed with AES-256-GCM; the associated
  data binds each ciphertext to its row (entry id + which body), so a ciphertext moved to
  another row no longer decrypts. Layout: ``key id length (1 byte) | key id | nonce (12) | ct``.
- Every exchange-log entry carries a MAC of its content (HMAC-SHA256 under a key derived from
  the data key with HKDF), made when it is written: the database holds no key to forge one.
- Checkpoints over the hash chain are signed with Ed25519.
- Client API keys are 256-bit random strings shown once; only their SHA-256 is stored
  (a fast hash is right for high-entropy keys: there is nothing to brute-force).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.core.errors import ConfigurationError


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def derived_key(key: bytes, info: bytes) -> bytes:
    """A 32-byte key for one purpose (``info``), derived from ``key`` with HKDF-SHA256."""
    return _derive(key, info)


class EntryAuthenticator:
    """MACs of exchange-log entries: ``<key id>:<hex HMAC-SHA256>`` under a key derived from a
    data key (HKDF-SHA256, info ``lgsp exchange-log entry``); checks with any known key."""

    INFO = b"lgsp exchange-log entry"
    DIGEST_INFO = b"lgsp exchange-log body digest"

    def __init__(self, key_id: str, keys: dict[str, bytes]) -> None:
        self.key_id = key_id
        self._keys = {kid: _derive(k, self.INFO) for kid, k in keys.items()}
        self._digest_key = _derive(keys[key_id], self.DIGEST_INFO)

    def body_digest(self, body: bytes) -> str:
        """The digest of a body the log keeps beside its ciphertext: HMAC-SHA256 under a key
        derived from the data key (hex), so that an export's digests cannot be brute-forced
        back to the ID numbers or names in short bodies."""
        return hmac.digest(self._digest_key, body, "sha256").hex()

    def mac(self, message: bytes) -> str:
        tag = hmac.digest(self._keys[self.key_id], message, "sha256").hex()
        return f"{self.key_id}:{tag}"

    def check(self, message: bytes, mac: str | None) -> bool:
        """Whether ``mac`` is the MAC of ``message`` under the key it names."""
        kid, _, tag = (mac or "").rpartition(":")
        key = self._keys.get(kid)
        if key is None:
            return False
        # one-shot (OpenSSL in C), not the ``hmac.HMAC`` object: the same bytes
        return hmac.compare_digest(hmac.digest(key, message, "sha256").hex(), tag)


class BodyCipher:
    """AES-GCM with a key ring: encrypts with the current key, decrypts with any known one.
    ``entries`` makes and checks the entries' MACs with keys derived from the same ring."""

    def __init__(self, key_id: str, key: bytes, *, old_keys: dict[str, bytes] | None = None):
        if len(key) != 32:
            raise ConfigurationError("the data key must be 32 bytes")
        if not key_id or len(key_id.encode()) > 255:
            raise ConfigurationError("the data key id must be 1-255 bytes")
        self.key_id = key_id
        self._keys = {key_id: AESGCM(key), **{k: AESGCM(v) for k, v in (old_keys or {}).items()}}
        self.entries = EntryAuthenticator(key_id, {key_id: key, **(old_keys or {})})

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        kid = self.key_id.encode()
        return (
            bytes([len(kid)]) + kid + nonce + self._keys[self.key_id].encrypt(nonce, plaintext, aad)
        )

    def decrypt(self, sealed: bytes, aad: bytes) -> bytes:
        kid_len = sealed[0]
        kid = sealed[1 : 1 + kid_len].decode()
        nonce = sealed[1 + kid_len : 13 + kid_len]
        aead = self._keys.get(kid)
        if aead is None:
            raise ConfigurationError(f"no data key with id {kid!r} is configured")
        try:
            return aead.decrypt(nonce, sealed[13 + kid_len :], aad)
        except InvalidTag as exc:
            raise ConfigurationError("a stored body failed authentication (altered?)") from exc


@dataclass(frozen=True, slots=True)
class CheckpointSigner:
    key_id: str
    private_key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, key_id: str, seed: bytes) -> CheckpointSigner:
        return cls(key_id, Ed25519PrivateKey.from_private_bytes(seed))

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message)).decode()

    def public_key_b64(self) -> str:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()


def new_client_key() -> tuple[str, str, str]:
    """A fresh client key: (full key shown once, lookup prefix, stored hash)."""
    prefix = secrets.token_hex(4)
    key = f"lgsp_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, sha256_hex(key.encode())


def split_client_key(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "lgsp" or len(parts[1]) != 8:
        return None
    return parts[1]


def key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(sha256_hex(key.encode()), stored_hash)
