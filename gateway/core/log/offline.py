"""Verify an exported exchange log offline, with nothing but Python (3.11+) and ``cryptography``.

This module imports nothing of the gateway: ``lgsp audit export`` writes it into every export
as ``verify.py``, so an auditor holds the verifier with the evidence::

    python verify.py EXPORT_DIR --trusted-keys keys.txt [--tsa-cert tsa.pem]
                     [--since EARLIER_EXPORT_DIR] [--max-anchor-delay SECONDS] [--json]

``--trusted-keys`` comes from outside the evidence (the province's published checkpoint keys):
one line per key, ``<key id> <Ed25519 public key, base64> [<valid from> [<valid to>]]`` (ISO-8601
times; ``#`` starts a comment). The export's own ``public_key.txt`` proves nothing: a forger
re-signs with their own key, so without trusted keys the verdict is never "intact".
``--since`` is a copy the auditor already holds (an earlier export): it must be a prefix of this
one, entry for entry, or the chain was rewritten or truncated since, whoever signed it.
``--tsa-cert`` (or ``tsa-certificate <base64 DER>`` lines in the keys file) is the timestamp
authority the auditor trusts: the export's RFC 3161 anchors must then match its checkpoints, and
every checkpoint must have been timestamped within ``--max-anchor-delay`` (a rewrite with the
stolen signing key no longer matches the timestamps the authority gave; re-anchored, it shows
as late).

The hash format, field by field, is in the README ("The exchange log, for auditors"): each
entry's ``entry_hash`` is ``SHA-256(prev_hash + content)`` where ``content`` is the compact JSON
array of :data:`HASHED_FIELDS`, and each checkpoint signs
``lgsp-checkpoint|v2|<seq>|<head hash>|<created at>`` (older ones ``lgsp-checkpoint|<seq>|<head
hash>``, their time unsigned). Exit status: 0 intact, 1 a problem (named), 2 unusable input.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID

GENESIS = "0" * 64

#: the fields an entry's hash covers, in order (bodies as the SHA-256 of their ciphertext)
HASHED_FIELDS = (
    "entry_id",
    "parent_id",
    "kind",
    "connector",
    "operation",
    "client",
    "officer_id",
    "purpose",
    "ma_ho_so",
    "started_at",
    "finished_at",
    "outcome",
    "status_code",
    "request_size",
    "response_size",
    "request_digest",
    "response_digest",
    "request_body",
    "response_body",
    "key_id",
    "detail",
)

_dumps = json.JSONEncoder(separators=(",", ":")).encode
#: what the encoder above quotes a string with (the C version when there is one)
_quote = json.encoder.encode_basestring_ascii


def entry_content(values: Iterable[Any]) -> str:
    """The canonical JSON array of an entry's fields, what its hash (and MAC) cover.

    The array holds :data:`HASHED_FIELDS` in order: strings and numbers as they are, null for
    absent values, datetimes as ISO-8601 with microseconds and offset, and each ciphertext as
    the hex SHA-256 of its bytes. JSON is compact (``,`` and ``:`` separators, ASCII escapes), so
    an auditor can recompute it in any language. JSON quoting makes the encoding unambiguous.

    This runs for every entry when sealing and verifying, so the common values (strings,
    None, integers, bytes, datetimes) are encoded here, each exactly as the generic encoder
    would (the same string quoting, ``int.__repr__``), and anything else goes through the
    generic encoder alone: the output is byte for byte the encoder's on the whole array
    (``tests/audit/test_content_encoding.py`` holds them to it).
    """
    sha = hashlib.sha256
    quote = _quote
    return (
        "["
        + ",".join(
            [
                quote(v)
                if type(v) is str
                else "null"
                if v is None
                else int.__repr__(v)
                if type(v) is int
                else '"' + sha(v).hexdigest() + '"'
                if type(v) is bytes
                else quote(v.isoformat(timespec="microseconds"))
                if type(v) is datetime
                else _dumps(v)
                for v in values
            ]
        )
        + "]"
    )


def entry_content_generic(values: Iterable[Any]) -> str:
    """:func:`entry_content` through the generic JSON encoder alone: the reference the fast
    encoding is tested against (byte-identical)."""
    sha = hashlib.sha256
    row = [
        v.isoformat(timespec="microseconds")
        if type(v) is datetime
        else sha(v).hexdigest()
        if type(v) is bytes
        else v
        for v in values
    ]
    return _dumps(row)


def entry_hash(prev_hash: str, values: Iterable[Any]) -> str:
    """``SHA-256(prev_hash || entry_content(values))`` as lower-case hex."""
    return hashlib.sha256((prev_hash + entry_content(values)).encode()).hexdigest()


def checkpoint_message(seq: int, head_hash: str, created_at: str | None = None) -> bytes:
    """What a checkpoint signs: with its time (``created_at``, ISO-8601 UTC with microseconds)
    from version 2; without it, the first version's message."""
    if created_at is None:
        return f"lgsp-checkpoint|{seq}|{head_hash}".encode()
    return f"lgsp-checkpoint|v2|{seq}|{head_hash}|{created_at}".encode()


def verify_signature(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature_b64), message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(slots=True)
class Problem:
    # missing | altered | reordered | broken-link | checkpoint | truncated | uncovered |
    # rewritten | untrusted-key | forged | anchor | late-anchor | unanchored | selection |
    # manifest | untraced
    kind: str
    seq: int | None
    entry_id: str | None
    message: str


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    unsealed: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problem: Problem | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


@dataclass(slots=True)
class ChainRow:
    seq: int
    prev_hash: str
    entry_hash: str
    values: tuple[Any, ...]
    #: the entry's MAC, when read from the database (never exported: it needs the data key)
    mac: str | None = None
    #: in a selection's export: whether the entry is one selected (else: part of the proof)
    selected: bool | None = None

    @property
    def entry_id(self) -> str:
        return str(self.values[0])


@dataclass(slots=True)
class CheckpointRow:
    seq: int
    head_hash: str
    key_id: str
    signature: str
    #: ISO-8601 UTC with microseconds, as signed (None: not known)
    created_at: str | None = None


@dataclass(frozen=True, slots=True)
class TrustedKey:
    key_id: str | None  # None: any key id (one key given on the command line)
    public_key: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class TrustedKeys:
    """The checkpoint keys the verifier trusts, from outside the evidence."""

    def __init__(self, keys: Iterable[TrustedKey], tsa: Iterable[x509.Certificate] = ()) -> None:
        self.keys = list(keys)
        #: trusted timestamp authorities (``tsa-certificate`` lines of a keys file)
        self.tsa = list(tsa)
        if not self.keys:
            raise ValueError("no trusted key")

    @classmethod
    def single(cls, public_key: str) -> TrustedKeys:
        return cls([TrustedKey(None, public_key.strip())])

    @classmethod
    def load(cls, path: Path) -> TrustedKeys:
        keys = []
        tsa = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if words[0] == "tsa-certificate":  # a trusted timestamp authority, base64 DER
                if len(words) != 2:
                    raise ValueError(f"{path}:{number}: tsa-certificate <base64 DER>")
                tsa.append(x509.load_der_x509_certificate(base64.b64decode(words[1])))
                continue
            if len(words) < 2 or len(words) > 4:
                raise ValueError(f"{path}:{number}: <key id> <public key> [<from> [<to>]]")
            times = [datetime.fromisoformat(w) for w in words[2:]]
            keys.append(
                TrustedKey(
                    words[0],
                    words[1],
                    times[0] if times else None,
                    times[1] if len(times) > 1 else None,
                )
            )
        return cls(keys, tsa)

    def problem(self, cp: CheckpointRow) -> str | None:
        """Why checkpoint ``cp`` is not signed by a trusted key valid at its time, or None."""
        candidates = [k for k in self.keys if k.key_id in (None, cp.key_id)]
        if not candidates:
            return f"checkpoint at seq {cp.seq} is signed by key {cp.key_id!r}: not a trusted key"
        at = datetime.fromisoformat(cp.created_at) if cp.created_at else None
        for key in candidates:
            if at is not None and (
                (key.valid_from is not None and at < key.valid_from)
                or (key.valid_to is not None and at > key.valid_to)
            ):
                continue
            messages = [checkpoint_message(cp.seq, cp.head_hash)]
            if cp.created_at is not None:
                messages.insert(0, checkpoint_message(cp.seq, cp.head_hash, cp.created_at))
            if any(verify_signature(key.public_key, m, cp.signature) for m in messages):
                return None
        return f"checkpoint at seq {cp.seq} is not signed by the trusted key"


class ChainVerifier:
    """Streams rows in ``seq`` order and stops at the first problem."""

    def __init__(
        self,
        report: VerifyReport,
        checkpoints: list[CheckpointRow],
        trusted: TrustedKeys | None,
        *,
        earlier: Mapping[int, str] | None = None,
        earlier_signed: Mapping[int, str] | None = None,
    ):
        self.report = report
        self.prev = GENESIS
        self.expected = 1
        self.trusted = trusted
        self.checkpoints = {c.seq: c for c in checkpoints}
        self.earlier = earlier
        #: the seqs the earlier copy holds signed checkpoints at: each must still have one
        self.earlier_signed = earlier_signed or {}
        self.hash_index: dict[str, int] | None = None
        #: a selection's export: segments (sealing rounds) between signed checkpoints
        self.segmented = False

    def open_at(self, first: ChainRow) -> bool:
        """Start at ``first`` instead of the genesis: a period's export, opened by the signed
        checkpoint at the seq before it (the previous period's last), whose head must be the
        link ``first`` carries."""
        opening = self.checkpoints.get(first.seq - 1)
        if opening is None or opening.head_hash != first.prev_hash:
            return self._fail(
                "missing",
                1,
                None,
                f"entries seq 1..{first.seq - 1} are not in this export and no signed "
                f"checkpoint at seq {first.seq - 1} opens it",
            )
        if self.trusted is not None:
            problem = self.trusted.problem(opening)
            if problem is not None:
                return self._fail("checkpoint", opening.seq, None, problem)
        self.report.checkpoints += 1
        self.report.extra["opening_seq"] = opening.seq
        self.expected = first.seq
        self.prev = opening.head_hash
        return True

    def feed(self, rows: list[ChainRow]) -> bool:
        """Check a page of rows; False once a problem is found."""
        for row in rows:
            if row.seq > self.expected and self.segmented:
                # a selection: the segment before must end on a checkpoint, the next one
                # start on one (its opening)
                if self.expected - 1 not in self.checkpoints:
                    return self._fail(
                        "missing",
                        self.expected,
                        None,
                        f"entries seq {self.expected}..{row.seq - 1} are missing: no signed "
                        f"checkpoint at seq {self.expected - 1} closes the segment before them",
                    )
                if not self.open_at(row):
                    return False
            if row.seq != self.expected:
                return self._fail(
                    "missing",
                    self.expected,
                    None,
                    f"entries seq {self.expected}..{row.seq - 1} are missing (deleted)"
                    if row.seq > self.expected
                    else f"seq {row.seq} appears twice",
                )
            if entry_hash(row.prev_hash, row.values) != row.entry_hash:
                return self._fail(
                    "altered",
                    row.seq,
                    row.entry_id,
                    f"entry seq {row.seq} ({row.entry_id}) does not match its hash: "
                    "its content was altered",
                )
            if row.prev_hash != self.prev:
                return self._link_problem(row)
            if self.earlier is not None and self.earlier.get(row.seq, row.entry_hash) != (
                row.entry_hash
            ):
                return self._fail(
                    "rewritten",
                    row.seq,
                    row.entry_id,
                    f"entry seq {row.seq} is not the one of the earlier copy: the chain was "
                    "rewritten since (re-hashed and re-signed)",
                )
            self.prev = row.entry_hash
            cp = self.checkpoints.get(row.seq)
            if cp is not None and not self._checkpoint_ok(cp, row.entry_hash):
                return False
            if cp is None and row.seq in self.earlier_signed and not self.segmented:
                # the entries may be intact and signed over again later, but the evidence the
                # earlier copy saw signed is gone
                return self._fail(
                    "checkpoint",
                    row.seq,
                    None,
                    f"the signed checkpoint at seq {row.seq} that the earlier copy holds is no "
                    "longer here: checkpoints were deleted (and the chain signed again)",
                )
            self.report.entries += 1
            self.report.head_seq = row.seq
            self.report.head_hash = row.entry_hash
            self.expected += 1
        return True

    def _link_problem(self, row: ChainRow) -> bool:
        where = (self.hash_index or {}).get(row.prev_hash)
        if where is not None:
            return self._fail(
                "reordered",
                row.seq,
                row.entry_id,
                f"entry seq {row.seq} ({row.entry_id}) was chained after the entry now at "
                f"seq {where}: entries were reordered",
            )
        return self._fail(
            "broken-link",
            row.seq,
            row.entry_id,
            f"entry seq {row.seq} ({row.entry_id}) does not link to entry seq {row.seq - 1}: "
            f"the entry before it was altered and re-hashed, or replaced",
        )

    def _checkpoint_ok(self, cp: CheckpointRow, head: str) -> bool:
        self.report.checkpoints += 1
        if cp.head_hash != head:
            return self._fail(
                "checkpoint", cp.seq, None, f"checkpoint at seq {cp.seq} does not match the chain"
            )
        if self.trusted is not None:
            problem = self.trusted.problem(cp)
            if problem is not None:
                return self._fail("checkpoint", cp.seq, None, problem)
        return True

    def finish(self) -> None:
        if self.report.problem is not None:
            return
        head = self.report.head_seq
        beyond = [s for s in self.checkpoints if s > head]
        if beyond:
            last = max(beyond)
            self._fail(
                "truncated",
                head + 1,
                None,
                f"entries seq {head + 1}..{last} are missing: a signed checkpoint covers up to "
                f"seq {last}",
            )
            return
        if self.earlier and not self.segmented:
            held = max(self.earlier)
            if held > head:
                self._fail(
                    "truncated",
                    head + 1,
                    None,
                    f"entries seq {head + 1}..{held} are missing, or no longer covered by a "
                    "signed checkpoint: the earlier copy holds them",
                )
                return
        covered = max(self.checkpoints, default=0)
        if head > covered:
            self._fail(
                "uncovered",
                covered + 1,
                None,
                f"entries seq {covered + 1}..{head} are covered by no signed checkpoint: "
                "appended by someone who could not sign",
            )
            return
        if self.trusted is None:
            self._fail(
                "untrusted-key",
                None,
                None,
                "no trusted key was given: the export's own public key proves nothing "
                "(give --trusted-keys or --public-key)",
            )

    def _fail(self, kind: str, seq: int | None, entry_id: str | None, message: str) -> bool:
        self.report.problem = Problem(kind, seq, entry_id, message)
        return False


# --- RFC 3161 anchors: timestamps over checkpoints, read with nothing but `cryptography` -------

#: object identifiers met in a timestamp token (RFC 3161, RFC 5652)
_OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
_OID_TST_INFO = "1.2.840.113549.1.9.16.1.4"
_OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
#: signature algorithms that name their hash (the SignerInfo's digest algorithm rules otherwise)
_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "1.2.840.113549.1.1.11": hashes.SHA256,
    "1.2.840.113549.1.1.12": hashes.SHA384,
    "1.2.840.113549.1.1.13": hashes.SHA512,
    "1.2.840.10045.4.3.2": hashes.SHA256,
    "1.2.840.10045.4.3.3": hashes.SHA384,
    "1.2.840.10045.4.3.4": hashes.SHA512,
}
#: a token with its certificates is a few KiB; anything past this is not one
MAX_TOKEN_BYTES = 256 * 1024


class TokenError(ValueError):
    """A timestamp token that cannot vouch for anything (malformed, unsigned, untrusted)."""


@dataclass(frozen=True, slots=True)
class _Tlv:
    tag: int
    start: int  # first byte of the header
    body: int  # first byte of the contents
    end: int


def _tlv(data: bytes, pos: int, end: int) -> _Tlv:
    """One DER element at ``pos`` (definite lengths only: DER has no other)."""
    if pos + 2 > end:
        raise TokenError("truncated DER")
    tag, length, at = data[pos], data[pos + 1], pos + 2
    if tag & 0x1F == 0x1F:
        raise TokenError("unexpected high-numbered DER tag")
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or at + count > end:
            raise TokenError("bad DER length")
        length, at = int.from_bytes(data[at : at + count], "big"), at + count
    if at + length > end:
        raise TokenError("truncated DER")
    return _Tlv(tag, pos, at, at + length)


def _items(data: bytes, outer: _Tlv) -> list[_Tlv]:
    out, pos = [], outer.body
    while pos < outer.end:
        item = _tlv(data, pos, outer.end)
        out.append(item)
        pos = item.end
    return out


def _expect(item: _Tlv, tag: int, what: str) -> _Tlv:
    if item.tag != tag:
        raise TokenError(f"{what}: DER tag 0x{item.tag:02x}, expected 0x{tag:02x}")
    return item


def _oid(data: bytes, item: _Tlv) -> str:
    raw = data[_expect(item, 0x06, "object identifier").body : item.end]
    if not raw:
        raise TokenError("empty object identifier")
    arcs, value = [], 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))


def _int(data: bytes, item: _Tlv) -> int:
    return int.from_bytes(data[_expect(item, 0x02, "integer").body : item.end], "big", signed=True)


def _generalized_time(data: bytes, item: _Tlv) -> datetime:
    text = data[_expect(item, 0x18, "genTime").body : item.end].decode("ascii")
    if not text.endswith("Z") or len(text) < 15:
        raise TokenError(f"genTime {text!r} is not UTC")
    whole, _, fraction = text[:-1].partition(".")
    at = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return at.replace(microsecond=int((fraction + "000000")[:6])) if fraction else at


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a valid timestamp token says: this digest existed at ``gen_time``."""

    imprint: bytes
    imprint_algorithm: str
    gen_time: datetime
    authority: str


class TsaTrust:
    """The timestamp authorities the verifier trusts, from outside the evidence: their
    certificates, or the certificates of the authorities that issued them directly."""

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        self.certificates = list(certificates)
        self._trusted: dict[x509.Certificate, bool] = {}
        if not self.certificates:
            raise ValueError("no trusted timestamp authority certificate")

    @classmethod
    def load(cls, path: Path) -> TsaTrust:
        """A PEM file of one or more certificates."""
        return cls(x509.load_pem_x509_certificates(path.read_bytes()))

    def check(self, token: bytes) -> Stamp:
        """Read ``token`` (a DER TimeStampToken) and check it: signed by a trusted authority's
        key (RFC 5652 signed attributes, the message digest of the TSTInfo), by a certificate
        for time-stamping valid at the token's time. Raises :class:`TokenError` saying why."""
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenError("the token is too large")
        try:
            return self._check(token)
        except TokenError:
            raise
        except Exception as exc:  # hostile bytes: whatever the parsers raise
            raise TokenError(f"malformed token ({type(exc).__name__})") from None

    def _check(self, data: bytes) -> Stamp:
        top = _expect(_tlv(data, 0, len(data)), 0x30, "ContentInfo")
        if top.end != len(data):
            raise TokenError("bytes after the token")
        content_type, explicit = _items(data, top)[:2]
        if _oid(data, content_type) != _OID_SIGNED_DATA:
            raise TokenError("not a CMS SignedData")
        signed = _expect(_items(data, _expect(explicit, 0xA0, "content"))[0], 0x30, "SignedData")
        parts = _items(data, signed)
        encap = _expect(parts[2], 0x30, "encapContentInfo")
        e_type, e_explicit = _items(data, encap)[:2]
        if _oid(data, e_type) != _OID_TST_INFO:
            raise TokenError("the signed content is not a TSTInfo")
        e_octets = _expect(_items(data, _expect(e_explicit, 0xA0, "eContent"))[0], 0x04, "eContent")
        tst_info = data[e_octets.body : e_octets.end]
        certificates = [
            x509.load_der_x509_certificate(data[c.start : c.end])
            for part in parts[3:-1]
            if part.tag == 0xA0
            for c in _items(data, part)
            if c.tag == 0x30
        ]
        signer_infos = _items(data, _expect(parts[-1], 0x31, "signerInfos"))
        if len(signer_infos) != 1:
            raise TokenError("a timestamp token has exactly one signer")
        signer = self._signer_certificate(data, signer_infos[0], certificates)
        stamp = self._stamp(tst_info, signer)
        self._verify_signer_info(data, signer_infos[0], tst_info, signer)
        if not signer.not_valid_before_utc <= stamp.gen_time <= signer.not_valid_after_utc:
            raise TokenError("the authority's certificate was not valid at the token's time")
        return stamp

    def _signer_certificate(
        self, data: bytes, info: _Tlv, certificates: list[x509.Certificate]
    ) -> x509.Certificate:
        sid = _items(data, info)[1]
        candidates = [*certificates, *self.certificates]
        if sid.tag == 0x30:  # issuerAndSerialNumber
            issuer, serial = _items(data, sid)[:2]
            issuer_der, number = data[issuer.start : issuer.end], _int(data, serial)
            found = [
                c
                for c in candidates
                if c.serial_number == number and c.issuer.public_bytes() == issuer_der
            ]
        elif sid.tag == 0x80:  # subjectKeyIdentifier
            ski = data[sid.body : sid.end]
            found = [c for c in candidates if _subject_key_id(c) == ski]
        else:
            raise TokenError("unknown signer identifier")
        if not found:
            raise TokenError("the token does not hold its signer's certificate")
        signer = found[0]
        try:
            usage = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            usage = None
        if usage is None or ExtendedKeyUsageOID.TIME_STAMPING not in usage:
            raise TokenError("the signer's certificate is not for time-stamping")
        trusted = self._trusted.get(signer)
        if trusted is None:
            trusted = any(self._trusts(signer, anchor) for anchor in self.certificates)
            self._trusted[signer] = trusted
        if not trusted:
            raise TokenError(f"the authority {signer.subject.rfc4514_string()!r} is not trusted")
        return signer

    @staticmethod
    def _trusts(signer: x509.Certificate, anchor: x509.Certificate) -> bool:
        if signer == anchor:
            return True
        try:
            signer.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    @staticmethod
    def _stamp(tst_info: bytes, signer: x509.Certificate) -> Stamp:
        fields = _items(tst_info, _expect(_tlv(tst_info, 0, len(tst_info)), 0x30, "TSTInfo"))
        imprint = _items(tst_info, _expect(fields[2], 0x30, "messageImprint"))
        algorithm = _oid(tst_info, _items(tst_info, _expect(imprint[0], 0x30, "algorithm"))[0])
        hashed = _expect(imprint[1], 0x04, "hashedMessage")
        return Stamp(
            imprint=tst_info[hashed.body : hashed.end],
            imprint_algorithm=algorithm,
            gen_time=_generalized_time(tst_info, fields[4]),
            authority=signer.subject.rfc4514_string(),
        )

    @staticmethod
    def _verify_signer_info(
        data: bytes, info: _Tlv, tst_info: bytes, signer: x509.Certificate
    ) -> None:
        fields = _items(data, info)
        digest_oid = _oid(data, _items(data, _expect(fields[2], 0x30, "digestAlgorithm"))[0])
        attrs = _expect(fields[3], 0xA0, "signedAttrs")
        signature_oid = _oid(data, _items(data, _expect(fields[4], 0x30, "signatureAlgorithm"))[0])
        signature = data[_expect(fields[5], 0x04, "signature").body : fields[5].end]
        algorithm = _HASHES.get(digest_oid)
        if algorithm is None:
            raise TokenError(f"unsupported digest algorithm {digest_oid}")
        values: dict[str, bytes] = {}
        for attribute in _items(data, attrs):
            kind, value_set = _items(data, attribute)[:2]
            value = _items(data, value_set)[0]
            values[_oid(data, kind)] = data[value.start : value.end]
        digest = hashes.Hash(algorithm())
        digest.update(tst_info)
        signed_digest = values.get(_OID_MESSAGE_DIGEST, b"\x04\x00")
        octets = _expect(_tlv(signed_digest, 0, len(signed_digest)), 0x04, "messageDigest")
        if signed_digest[octets.body : octets.end] != digest.finalize():
            raise TokenError("the signed message digest is not the TSTInfo's")
        content_type = values.get(_OID_CONTENT_TYPE, b"\x06\x00")
        if _oid(content_type, _tlv(content_type, 0, len(content_type))) != _OID_TST_INFO:
            raise TokenError("the signed content type is not TSTInfo")
        # the signature covers the attributes DER-encoded as a SET (RFC 5652, 5.4)
        signed = b"\x31" + data[attrs.start + 1 : attrs.end]
        key = signer.public_key()
        sig_hash = _SIGNATURE_HASHES.get(signature_oid, algorithm)()
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, signed, padding.PKCS1v15(), sig_hash)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, signed, ec.ECDSA(sig_hash))
            elif isinstance(key, Ed25519PublicKey):
                key.verify(signature, signed)
            else:
                raise TokenError(f"unsupported key type {type(key).__name__}")
        except InvalidSignature:
            raise TokenError("the authority's signature does not verify") from None


def _subject_key_id(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


@dataclass(slots=True)
class AnchorRow:
    """An anchor as stored and exported: the checkpoint's seq and the DER token."""

    seq: int
    token: bytes


def checkpoint_digest(cp: CheckpointRow) -> bytes:
    """What an anchor timestamps: SHA-256 of the checkpoint's signed message (version 2)."""
    return hashlib.sha256(checkpoint_message(cp.seq, cp.head_hash, cp.created_at)).digest()


def _span(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 86400:
        return f"{seconds // 86400} d {seconds % 86400 // 3600} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


#: an anchor later than this after its checkpoint is reported as a gap (not a failure)
GAP_REPORT_SECONDS = 300.0
#: the default of ``--max-anchor-delay``: longer without a timestamp is not "intact"
MAX_ANCHOR_DELAY_SECONDS = 3600.0


def check_anchors(
    report: VerifyReport,
    checkpoints: Iterable[CheckpointRow],
    anchors: Iterable[AnchorRow],
    trust: TsaTrust | None,
    *,
    now: datetime,
    max_delay_seconds: float = MAX_ANCHOR_DELAY_SECONDS,
    require_head: bool = True,
    coverage: bool = True,
) -> None:
    """Check the anchors against the verified chain's checkpoints and put what they show in
    ``report.extra["anchoring"]``; set ``report.problem`` when an anchor does not match its
    checkpoint (the chain was rewritten after it was timestamped, whoever re-signed it), names a
    checkpoint the chain no longer holds (deleted with its entries), or when checkpoints went
    without a timestamp longer than ``max_delay_seconds`` after their time (for the newest, up
    to ``now``: the head is not covered by a recent anchor; not required of a closed period's
    export, ``require_head=False``, whose last checkpoints the next period's anchors cover).

    The anchors are read before the checkpoints, and these before the entries, so under live
    traffic every anchor's checkpoint is there. Without ``trust`` the anchors are counted, not
    checked, and nothing is required of them. Checkpoints of the first version (their time
    unsigned) are not required to be anchored.
    """
    rows = list(anchors)
    info: dict[str, Any] = {"checked": trust is not None, "anchors": len(rows)}
    report.extra["anchoring"] = info
    if trust is None:
        return
    if report.problem is not None:  # the chain is broken already: the anchors say no more
        info["checked"] = False
        info["skipped"] = True
        return
    head = report.head_seq
    cps = {c.seq: c for c in checkpoints if c.seq <= head}
    stamps: list[tuple[int, datetime, str]] = []
    for row in rows:
        cp = cps.get(row.seq)
        if cp is None:
            why = (
                f"is beyond the chain's head (seq {head}): entries were deleted with their "
                "checkpoints"
                if row.seq > head
                else "timestamps a checkpoint the chain does not hold"
            )
            _anchor_problem(report, row.seq, why)
            return
        if cp.created_at is None:
            continue  # a first-version checkpoint: its time is not signed, nothing to match
        try:
            stamp = trust.check(row.token)
        except TokenError as exc:
            _anchor_problem(report, row.seq, f"is not a valid timestamp: {exc}")
            return
        if stamp.imprint != checkpoint_digest(cp) or stamp.imprint_algorithm not in _HASHES:
            _anchor_problem(
                report,
                row.seq,
                f"was given at {stamp.gen_time.isoformat()} to another checkpoint: the chain "
                "was rewritten and re-signed after it was anchored",
            )
            return
        stamps.append((row.seq, stamp.gen_time, stamp.authority))
    if not coverage:
        # a selection: its segments do not link, so an anchor vouches for its own checkpoint
        # only, and nothing is required of the others
        info.update(matched=len(stamps), coverage=False)
        return
    # an anchor vouches for its checkpoint and every one before it: a checkpoint's first
    # timestamp is the earliest of the anchors at or after its seq
    stamps.sort()
    timed = sorted((c for c in cps.values() if c.created_at is not None), key=lambda c: c.seq)
    first_cover: dict[int, datetime] = {}
    earliest: datetime | None = None
    index = len(stamps) - 1
    for cp in reversed(timed):
        while index >= 0 and stamps[index][0] >= cp.seq:
            at = stamps[index][1]
            earliest = at if earliest is None or at < earliest else earliest
            index -= 1
        if earliest is not None:
            first_cover[cp.seq] = earliest
    gaps: list[dict[str, Any]] = []
    late: int | None = None  # the seq of the checkpoint before, when it was late too
    for cp in timed:
        signed_at = datetime.fromisoformat(str(cp.created_at))
        covered_at = first_cover.get(cp.seq)
        delay = ((covered_at or now) - signed_at).total_seconds()
        before, late = late, None
        if delay <= GAP_REPORT_SECONDS:
            continue
        late = cp.seq
        gap = gaps[-1] if gaps and before is not None and gaps[-1]["to_seq"] == before else None
        if gap is not None and gap["anchored_at"] == (covered_at and covered_at.isoformat()):
            gap.update(to_seq=cp.seq, delay_seconds=max(gap["delay_seconds"], delay))
        else:
            gaps.append(
                {
                    "from_seq": cp.seq,
                    "to_seq": cp.seq,
                    "signed_at": cp.created_at,
                    "anchored_at": covered_at.isoformat() if covered_at else None,
                    "delay_seconds": round(delay, 3),
                }
            )
    if stamps:
        last_seq, last_time, authority = max(stamps)
        info.update(last_anchored_seq=last_seq, last_anchor_at=last_time.isoformat())
        info["authority"] = authority
    unanchored = [c.seq for c in timed if c.seq not in first_cover]
    info.update(unanchored_checkpoints=len(unanchored), gaps=gaps)
    if unanchored:
        info["unanchored_since"] = cps[unanchored[0]].created_at
        if not require_head:
            info["anchored_by_next_period"] = True
    for gap in gaps:
        if gap["delay_seconds"] <= max_delay_seconds:
            continue
        if gap["anchored_at"] is None:
            if not require_head:
                continue
            message = (
                f"checkpoints seq {gap['from_seq']}..{gap['to_seq']} have no timestamp since "
                f"{gap['signed_at']} ({_span(gap['delay_seconds'])}): the head is not covered "
                "by a recent anchor"
            )
            kind = "unanchored"
        else:
            message = (
                f"checkpoints seq {gap['from_seq']}..{gap['to_seq']} were first timestamped at "
                f"{gap['anchored_at']}, {_span(gap['delay_seconds'])} after they were signed: a "
                "long outage of the timestamp authority, or a rewrite anchored again (compare "
                "with an earlier copy; --max-anchor-delay accepts a known outage)"
            )
            kind = "late-anchor"
        report.problem = Problem(kind, gap["from_seq"], None, message)
        return


def _anchor_problem(report: VerifyReport, seq: int, why: str) -> None:
    if report.problem is None:
        report.problem = Problem("anchor", seq, None, f"the anchor of checkpoint seq {seq} {why}")


# --- reading an export -------------------------------------------------------------------------


def decode(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in ("request_body", "response_body"):
        return base64.b64decode(value)
    return value


def read_rows(path: Path, page: int = 20000) -> Iterator[list[ChainRow]]:
    batch: list[ChainRow] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            values = tuple(decode(n, r.get(n)) for n in HASHED_FIELDS)
            row = ChainRow(r["seq"], r["prev_hash"], r["entry_hash"], values)
            row.selected = r.get("selected")
            batch.append(row)
            if len(batch) >= page:
                yield batch
                batch = []
    if batch:
        yield batch


def read_checkpoints(path: Path) -> list[CheckpointRow]:
    cps = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            c = json.loads(line)
            cps.append(
                CheckpointRow(
                    c["seq"], c["head_hash"], c["key_id"], c["signature"], c.get("created_at")
                )
            )
    return cps


def read_anchors(path: Path) -> list[AnchorRow]:
    """An export's ``anchors.jsonl`` (none in exports made before anchoring)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [
            AnchorRow(int(r["seq"]), base64.b64decode(r["token"])) for r in map(json.loads, fh) if r
        ]


def read_heads(path: Path) -> dict[int, str]:
    """What ``--since`` compares with, ``seq -> hash``: an earlier export's entries, or a
    witness copy of the signed heads (``heads.jsonl``, the directory or the file itself)."""
    if path.is_dir() and (path / "entries.jsonl").exists():
        source, field_name = path / "entries.jsonl", "entry_hash"
    else:
        source = path / "heads.jsonl" if path.is_dir() else path
        field_name = "head_hash"
    heads: dict[int, str] = {}
    with source.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                heads[int(r["seq"])] = str(r[field_name])
    return heads


def read_signed_heads(path: Path) -> dict[int, str]:
    """The signed checkpoints an earlier copy holds, ``seq -> head hash``: every head of a
    witness copy, or an earlier export's ``checkpoints.jsonl``."""
    if path.is_dir() and (path / "entries.jsonl").exists():
        source = path / "checkpoints.jsonl"
        if not source.exists():
            return {}
    else:
        source = path / "heads.jsonl" if path.is_dir() else path
    heads: dict[int, str] = {}
    with source.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                heads[int(r["seq"])] = str(r["head_hash"])
    return heads


MANIFEST_FORMAT = "lgsp-export/1"


def manifest_message(manifest: Mapping[str, Any]) -> bytes:
    """What a manifest's signature covers: ``lgsp-manifest|`` and its canonical JSON (sorted
    keys, compact, ASCII), the ``signature`` field left out."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return b"lgsp-manifest|" + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def manifest_problem(
    directory: Path, report: VerifyReport, trusted: TrustedKeys | None
) -> str | None:
    """Why the export's signed ``manifest.json`` does not vouch for what the files hold."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT:
        return f"unknown manifest format {manifest.get('format')!r}"
    for name, digest in manifest.get("files", {}).items():
        if file_digest(directory / name) != digest:
            return f"{name} is not the file the manifest lists (its digest differs)"
    if (manifest.get("entries"), manifest.get("last_seq")) != (report.entries, report.head_seq):
        return (
            f"the manifest lists {manifest.get('entries')} entries up to seq "
            f"{manifest.get('last_seq')}, the export holds {report.entries} up to "
            f"{report.head_seq}"
        )
    if manifest.get("last_entry_hash") != report.head_hash:
        return "the manifest's last entry hash is not the chain's head"
    if trusted is not None:
        row = CheckpointRow(0, "", str(manifest.get("key_id")), str(manifest.get("signature")))
        keys = [k for k in trusted.keys if k.key_id in (None, row.key_id)]
        message = manifest_message(manifest)
        if not any(verify_signature(k.public_key, message, row.signature) for k in keys):
            return "the manifest is not signed by a trusted key"
    return None


def _first_entry(path: Path) -> ChainRow | None:
    for page in read_rows(path, page=1):
        return page[0]
    return None


def verify_export(
    directory: Path,
    trusted: TrustedKeys | None,
    *,
    since: Path | None = None,
    tsa: TsaTrust | None = None,
    max_anchor_delay_seconds: float = MAX_ANCHOR_DELAY_SECONDS,
    now: datetime | None = None,
) -> VerifyReport:
    """Verify an exported chain offline (no database, no data key needed). Without
    ``trusted`` keys the chain is checked but never called intact (``untrusted-key``).

    The anchors (``anchors.jsonl``) are checked with ``tsa``, or the ``tsa-certificate`` lines
    of the trusted keys; the head must be anchored within ``max_anchor_delay_seconds`` of the
    export's time (its manifest's, else ``now``), except in a month's archive, whose last
    checkpoints the next month's anchors cover."""
    report = VerifyReport()
    manifest: dict[str, Any] = {}
    if (directory / "manifest.json").exists():
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    selection = manifest.get("selection") or None
    verifier = ChainVerifier(
        report,
        read_checkpoints(directory / "checkpoints.jsonl"),
        trusted,
        earlier=read_heads(since) if since is not None else None,
        earlier_signed=read_signed_heads(since) if since is not None else None,
    )
    verifier.segmented = selection is not None
    first = _first_entry(directory / "entries.jsonl")
    if first is not None and first.seq > 1:
        # a period's export: it opens on the checkpoint that closed the period before
        verifier.open_at(first)
    picked = _SelectionCheck(selection) if selection is not None else None
    for page in read_rows(directory / "entries.jsonl"):
        if report.problem is not None or not verifier.feed(page):
            break
        if picked is not None and (mislabelled := picked.check(page)) is not None:
            report.problem = mislabelled
            break
    if report.problem is not None and report.problem.kind == "broken-link":
        verifier.hash_index = {
            r.entry_hash: r.seq for page in read_rows(directory / "entries.jsonl") for r in page
        }
        failed = report.problem.seq
        report.problem = None
        bad = [
            r for page in read_rows(directory / "entries.jsonl") for r in page if r.seq == failed
        ]
        verifier._link_problem(bad[0])
    verifier.finish()
    if picked is not None:
        report.extra["selection"] = selection
        report.extra["selected"] = picked.count
    if manifest:
        if report.problem is None or report.problem.kind == "untrusted-key":
            why = manifest_problem(directory, report, trusted)
            if why is not None:
                report.problem = Problem("manifest", None, None, why)
        report.extra["manifest"] = True
    if tsa is None and trusted is not None and trusted.tsa:
        tsa = TsaTrust(trusted.tsa)
    exported_at = manifest.get("exported_at")
    untrusted = report.problem is not None and report.problem.kind == "untrusted-key"
    held = report.problem
    if untrusted:  # the anchors are still worth checking: set aside, put back after
        report.problem = None
    check_anchors(
        report,
        verifier.checkpoints.values(),
        read_anchors(directory / "anchors.jsonl"),
        tsa,
        now=datetime.fromisoformat(exported_at) if exported_at else (now or _utcnow()),
        max_delay_seconds=max_anchor_delay_seconds,
        require_head=not manifest.get("month") and selection is None,
        coverage=selection is None,
    )
    if untrusted and report.problem is None:
        report.problem = held
    return report


class _SelectionCheck:
    """A selection's entries are marked as they are: every entry of the dossier (and the
    attempts made for it) or of the connector marked ``selected``, no other. The marks are not
    hashed; this keeps them honest (a selected entry in the export is proved by its round)."""

    def __init__(self, selection: Mapping[str, Any]) -> None:
        self.dossier = selection.get("dossier")
        self.connector = selection.get("connector")
        self.ids: set[str] = set()
        self.count = 0

    def check(self, rows: list[ChainRow]) -> Problem | None:
        names = HASHED_FIELDS
        for row in rows:
            fields = dict(zip(names, row.values, strict=True))
            matches = (
                self.dossier is None
                or fields["ma_ho_so"] == self.dossier
                or fields["parent_id"] in self.ids
            ) and (self.connector is None or fields["connector"] == self.connector)
            if matches:
                self.ids.add(row.entry_id)
                self.count += 1
            if matches != row.selected:
                return Problem(
                    "selection",
                    row.seq,
                    row.entry_id,
                    f"entry seq {row.seq} is marked {'' if row.selected else 'not '}selected but "
                    f"{'does not match' if row.selected else 'matches'} the selection",
                )
        return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _render_anchoring(report: VerifyReport) -> str:
    info = report.extra.get("anchoring")
    if not info or info.get("skipped"):
        return ""
    if not info["checked"]:
        return (
            f"\nanchors: {info['anchors']} RFC 3161 timestamps, not checked (no trusted "
            "timestamp authority given: --tsa-cert)"
            if info["anchors"]
            else "\nanchors: none (no timestamp authority was configured)"
        )
    lines = []
    if "last_anchored_seq" in info:
        lines.append(
            f"anchored: {info['anchors']} timestamps, the last over checkpoint seq "
            f"{info['last_anchored_seq']} at {info['last_anchor_at']} ({info['authority']})"
        )
    else:
        lines.append("anchored: no timestamp covers any checkpoint")
    if info.get("unanchored_checkpoints"):
        lines.append(
            f"waiting for a timestamp: {info['unanchored_checkpoints']} checkpoint(s) signed "
            f"since {info['unanchored_since']}"
        )
    for gap in info.get("gaps", []):
        if gap["anchored_at"] is None:
            tail = (
                "anchored by the next period's archive"
                if info.get("anchored_by_next_period")
                else "NOT YET ANCHORED"
            )
            lines.append(
                f"anchoring gap: checkpoints seq {gap['from_seq']}..{gap['to_seq']} signed "
                f"since {gap['signed_at']}: {tail} ({_span(gap['delay_seconds'])})"
            )
        else:
            lines.append(
                f"anchoring gap: checkpoints seq {gap['from_seq']}..{gap['to_seq']} first "
                f"timestamped at {gap['anchored_at']}, up to {_span(gap['delay_seconds'])} "
                "after they were signed"
            )
    return "\n" + "\n".join(lines)


def render(report: VerifyReport) -> str:
    if report.ok:
        return (
            f"chain intact: {report.entries} entries, {report.checkpoints} signed checkpoints, "
            f"head seq {report.head_seq} {report.head_hash[:16]}…"
            + (f" ({report.unsealed} not yet sealed)" if report.unsealed else "")
            + _render_anchoring(report)
        )
    p = report.problem
    assert p is not None
    return (
        f"CHAIN BROKEN [{p.kind}] at seq {p.seq}: {p.message}\n"
        f"({report.entries} entries verified before it)" + _render_anchoring(report)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="the exported directory")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--trusted-keys", type=Path, help="trusted checkpoint keys (a file)")
    keys.add_argument("--public-key", help="one trusted checkpoint key (base64 Ed25519)")
    parser.add_argument("--since", type=Path, help="an earlier export this one must extend")
    parser.add_argument(
        "--tsa-cert",
        type=Path,
        help="PEM certificate(s) of the trusted timestamp authority, or of its issuing CA",
    )
    parser.add_argument(
        "--max-anchor-delay",
        type=float,
        default=MAX_ANCHOR_DELAY_SECONDS,
        metavar="SECONDS",
        help="longest a checkpoint may wait for its timestamp (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        trusted = (
            TrustedKeys.load(args.trusted_keys)
            if args.trusted_keys
            else TrustedKeys.single(args.public_key)
            if args.public_key
            else None
        )
        report = verify_export(
            args.export,
            trusted,
            since=args.since,
            tsa=TsaTrust.load(args.tsa_cert) if args.tsa_cert else None,
            max_anchor_delay_seconds=args.max_anchor_delay,
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), default=str) if args.json else render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
