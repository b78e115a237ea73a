"""Verify an exported exchange log offline, with nothing but Python (3.11+) and ``cryptography``.

This module imports nothing of the gateway: ``lgsp audit export`` writes it into every export
as ``verify.py``, so an auditor holds the verifier with the evidence::

    python verify.py EXPORT_DIR --trusted-keys keys.txt [--since EARLIER_EXPORT_DIR] [--json]

``--trusted-keys`` comes from outside the evidence (the province's published checkpoint keys):
one line per key, ``<key id> <Ed25519 public key, base64> [<valid from> [<valid to>]]`` (ISO-8601
times; ``#`` starts a comment). The export's own ``public_key.txt`` proves nothing: a forger
re-signs with their own key, so without trusted keys the verdict is never "intact".
``--since`` is a copy the auditor already holds (an earlier export): it must be a prefix of this
one, entry for entry, or the chain was rewritten or truncated since, whoever signed it.

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
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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


def entry_content(values: Iterable[Any]) -> str:
    """The canonical JSON array of an entry's fields, what its hash (and MAC) cover.

    The array holds :data:`HASHED_FIELDS` in order: strings and numbers as they are, null for
    absent values, datetimes as ISO-8601 with microseconds and offset, and each ciphertext as
    the hex SHA-256 of its bytes. JSON is compact (``,`` and ``:`` separators, ASCII escapes), so
    an auditor can recompute it in any language. JSON quoting makes the encoding unambiguous.
    This runs for every entry when sealing and verifying, so it is kept lean.
    """
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
    # rewritten | untrusted-key | forged
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

    def __init__(self, keys: Iterable[TrustedKey]) -> None:
        self.keys = list(keys)
        if not self.keys:
            raise ValueError("no trusted key")

    @classmethod
    def single(cls, public_key: str) -> TrustedKeys:
        return cls([TrustedKey(None, public_key.strip())])

    @classmethod
    def load(cls, path: Path) -> TrustedKeys:
        keys = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = line.split("#", 1)[0].split()
            if not words:
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
        return cls(keys)

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
    ):
        self.report = report
        self.prev = GENESIS
        self.expected = 1
        self.trusted = trusted
        self.checkpoints = {c.seq: c for c in checkpoints}
        self.earlier = earlier
        self.hash_index: dict[str, int] | None = None

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
        if self.earlier:
            held = max(self.earlier)
            if held > head:
                self._fail(
                    "truncated",
                    head + 1,
                    None,
                    f"entries seq {head + 1}..{held} are missing: the earlier copy holds them",
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
            batch.append(ChainRow(r["seq"], r["prev_hash"], r["entry_hash"], values))
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
    directory: Path, trusted: TrustedKeys | None, *, since: Path | None = None
) -> VerifyReport:
    """Verify an exported chain offline (no database, no data key needed). Without
    ``trusted`` keys the chain is checked but never called intact (``untrusted-key``)."""
    report = VerifyReport()
    verifier = ChainVerifier(
        report,
        read_checkpoints(directory / "checkpoints.jsonl"),
        trusted,
        earlier=read_heads(since) if since is not None else None,
    )
    first = _first_entry(directory / "entries.jsonl")
    if first is not None and first.seq > 1:
        # a period's export: it opens on the checkpoint that closed the period before
        verifier.open_at(first)
    for page in read_rows(directory / "entries.jsonl"):
        if report.problem is not None or not verifier.feed(page):
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
    if (directory / "manifest.json").exists():
        if report.problem is None or report.problem.kind == "untrusted-key":
            problem = manifest_problem(directory, report, trusted)
            if problem is not None:
                report.problem = Problem("manifest", None, None, problem)
        report.extra["manifest"] = True
    return report


def render(report: VerifyReport) -> str:
    if report.ok:
        return (
            f"chain intact: {report.entries} entries, {report.checkpoints} signed checkpoints, "
            f"head seq {report.head_seq} {report.head_hash[:16]}…"
            + (f" ({report.unsealed} not yet sealed)" if report.unsealed else "")
        )
    p = report.problem
    assert p is not None
    return (
        f"CHAIN BROKEN [{p.kind}] at seq {p.seq}: {p.message}\n"
        f"({report.entries} entries verified before it)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="the exported directory")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--trusted-keys", type=Path, help="trusted checkpoint keys (a file)")
    keys.add_argument("--public-key", help="one trusted checkpoint key (base64 Ed25519)")
    parser.add_argument("--since", type=Path, help="an earlier export this one must extend")
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
        report = verify_export(args.export, trusted, since=args.since)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), default=str) if args.json else render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
