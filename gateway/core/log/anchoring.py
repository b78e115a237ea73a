"""External anchoring of the exchange log: RFC 3161 timestamps over its signed checkpoints.

A checkpoint is signed by the gateway's own key, which the vendor holds; a timestamp from an
independent authority (the province's or a licensed TSA) proves the checkpoint existed at that
time, so a history rewritten later, even re-signed with the stolen key, no longer matches the
timestamps the authority gave (:func:`gateway.core.log.offline.check_anchors`).

One timestamp per round covers every checkpoint before it (the chain links them), so the
anchorer timestamps only the newest checkpoint, at most once per ``anchor_interval_seconds``
across all processes (a lease in the state store). The exchange never waits for the authority:
while it is unreachable the checkpoints queue, unanchored (visible in ``/metrics``,
``/v1/connectors`` and ``lgsp audit verify``), and the first round after it returns anchors the
newest checkpoint, and with it all of them.

The authority's answer is checked before it is kept (its signature, a certificate for
time-stamping trusted by ``LGSP_AUDIT__TSA_CERTS``, and the digest of the checkpoint), with the
same code the offline verifier uses. Its HTTP exchange is not an exchange-log entry: the anchor
row holds the whole answer, and recording it would give every idle minute an entry, a
checkpoint and another anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import func, select

from gateway.core.log.offline import CheckpointRow, TokenError, TsaTrust, checkpoint_digest
from gateway.core.metrics import ANCHOR_ROUNDS
from gateway.core.store.db import Checkpoint, CheckpointAnchor, Database, utcnow

if TYPE_CHECKING:  # pyHanko: loaded only when an authority is configured
    from pyhanko.sign.timestamps.api import TimeStamper

__all__ = ["Anchorer", "AnchoringStatus", "anchoring_status"]

log = structlog.get_logger(__name__)


def _row(c: Checkpoint) -> CheckpointRow:
    # the signed time, as checkpoint_time writes it (local import: audit imports this module)
    from gateway.core.log.audit import checkpoint_time

    return CheckpointRow(c.seq, c.head_hash, c.key_id, c.signature, checkpoint_time(c.created_at))


class Anchorer:
    """Timestamps the newest checkpoint with the configured authority."""

    def __init__(self, db: Database, stamper: TimeStamper, trust: TsaTrust, authority: str):
        self.db = db
        self.stamper = stamper
        self.trust = trust
        self.authority = authority

    async def anchor_once(self) -> int | None:
        """Anchor the newest checkpoint if it is not yet; return its seq, or None when there was
        nothing to anchor or the authority failed (logged and counted, never raised: the
        exchange goes on, the next round tries again and covers everything before)."""
        async with self.db.reading() as session:
            newest = await session.scalar(select(Checkpoint).order_by(Checkpoint.seq.desc()))
            anchored = await session.scalar(select(func.max(CheckpointAnchor.seq)))
        if newest is None or (anchored is not None and anchored >= newest.seq):
            return None
        from pyhanko.sign.timestamps.common_utils import TimestampRequestError

        row = _row(newest)
        digest = checkpoint_digest(row)
        try:
            answer = await self.stamper.async_timestamp(digest, "sha256")
            token = answer.dump()
            stamp = self.trust.check(token)
        except (TimestampRequestError, TokenError, ValueError) as exc:
            # the authority down, answering nonsense, or not the one we trust
            ANCHOR_ROUNDS.labels("failed").inc()
            log.warning(
                "audit.anchor_failed", seq=newest.seq, authority=self.authority, error=str(exc)
            )
            return None
        if stamp.imprint != digest:
            ANCHOR_ROUNDS.labels("failed").inc()
            log.error("audit.anchor_mismatch", seq=newest.seq, authority=self.authority)
            return None
        async with self.db.transaction() as session:
            session.add(
                CheckpointAnchor(
                    seq=newest.seq,
                    token=token,
                    gen_time=stamp.gen_time,
                    authority=self.authority[:500],
                    created_at=utcnow(),
                )
            )
        ANCHOR_ROUNDS.labels("anchored").inc()
        log.info("audit.anchored", seq=newest.seq, gen_time=stamp.gen_time.isoformat())
        return newest.seq


@dataclass(frozen=True, slots=True)
class AnchoringStatus:
    """How far the anchors reach, read from the database (for ``/metrics`` and the ops view)."""

    last_checkpoint_seq: int | None
    last_anchored_seq: int | None
    last_anchor_at: datetime | None
    #: checkpoints after the last anchored one (queued for anchoring)
    unanchored_checkpoints: int
    #: the time of the oldest of them
    unanchored_since: datetime | None

    def lag_seconds(self, now: datetime) -> float:
        """How long the oldest unanchored checkpoint has waited (0 when none waits)."""
        if self.unanchored_since is None:
            return 0.0
        return max(0.0, (now - self.unanchored_since).total_seconds())

    def as_dict(self, now: datetime) -> dict[str, object]:
        return {
            "last_checkpoint_seq": self.last_checkpoint_seq,
            "last_anchored_seq": self.last_anchored_seq,
            "last_anchor_at": self.last_anchor_at.isoformat() if self.last_anchor_at else None,
            "unanchored_checkpoints": self.unanchored_checkpoints,
            "unanchored_since": (
                self.unanchored_since.isoformat() if self.unanchored_since else None
            ),
            "lag_seconds": round(self.lag_seconds(now), 1),
        }


async def anchoring_status(db: Database) -> AnchoringStatus:
    async with db.reading() as session:
        last_cp = await session.scalar(select(func.max(Checkpoint.seq)))
        last = (
            await session.execute(
                select(CheckpointAnchor.seq, CheckpointAnchor.gen_time)
                .order_by(CheckpointAnchor.seq.desc(), CheckpointAnchor.gen_time)
                .limit(1)
            )
        ).first()
        after = last[0] if last else 0
        pending = (
            await session.execute(
                select(func.count(), func.min(Checkpoint.created_at)).where(Checkpoint.seq > after)
            )
        ).one()
    return AnchoringStatus(
        last_checkpoint_seq=last_cp,
        last_anchored_seq=last[0] if last else None,
        last_anchor_at=last[1] if last else None,
        unanchored_checkpoints=int(pending[0] or 0),
        unanchored_since=pending[1],
    )
