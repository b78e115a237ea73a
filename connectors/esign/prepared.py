"""What a prepared signature is (:mod:`connectors.esign.deferred` prepares and finishes it):
plain data, importable without pyHanko or signxml, so that a gateway that never signs does not
load them (their modules cost the API process about 20 MiB of memory)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from schemas.esign import SignatureFormat

__all__ = ["DIGEST", "PreparedSignature"]

#: the digest every prepared signature asks for
DIGEST = "sha256"


@dataclass(frozen=True, slots=True)
class PreparedSignature:
    format: SignatureFormat
    #: what the service signs (SHA-256)
    digest: bytes
    #: format-specific state, base64 strings and integers only
    state: dict[str, Any]

    def to_json(self) -> bytes:
        return json.dumps(
            {"format": self.format, "digest": self.digest.hex(), "state": self.state}
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PreparedSignature:
        raw = json.loads(data)
        return cls(raw["format"], bytes.fromhex(raw["digest"]), raw["state"])
