"""The hashed form does not change: the fast content encoding is byte for byte the generic JSON
encoder's, and PostgreSQL's streamed verification reads times exactly as the sealer wrote them."""

from __future__ import annotations

import enum
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert

from gateway.core.log.audit import seal_pending, verify_database
from gateway.core.log.exchange_log import Crossing
from gateway.core.log.offline import HASHED_FIELDS, entry_content, entry_content_generic
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry


class Level(enum.IntEnum):
    LOW = 1


class Slug(str, enum.Enum):
    DVCQG = "dvcqg"


_ALPHABET = (
    "abcXYZ019 -_:/.@"  # what most fields hold
    "Đăng ký hồ sơ — “tạm trú” ĐĂNG KÝ ỹ"  # Vietnamese, typographic quotes
    '"\\/\b\f\n\r\t\x00\x01\x1f\x7f\x80\xa0'  # what JSON escapes, and what it need not
    "\u2028\u2029\ufeff\uffff€𝄞😀\ud800\udfff"  # line separators, astral, lone surrogates
)


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(0, 40)))


def _time(rng: random.Random) -> datetime:
    zones = [UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3, minutes=-30))]
    at = datetime(rng.randrange(1, 10000), rng.randrange(1, 13), rng.randrange(1, 29))
    at += timedelta(seconds=rng.randrange(86400), microseconds=rng.choice([0, 1, 999999, 4]))
    return at.replace(tzinfo=rng.choice(zones)) if rng.random() < 0.8 else at


def _value(rng: random.Random, depth: int = 0) -> Any:
    if rng.random() < 0.003:
        return bytearray(b"x")  # the generic encoder refuses it: so must the fast one
    kind = rng.randrange(13 if depth < 2 else 10)
    if depth and kind in (5, 6):  # bytes and times are encoded at the top level only
        kind = 0
    if kind in (0, 1, 2):
        return _text(rng)
    if kind == 3:
        return None
    if kind == 4:
        return rng.choice([0, -1, 1, 200, 2**63, -(2**70), rng.randrange(-(10**9), 10**9)])
    if kind == 5:
        return rng.randbytes(rng.randrange(0, 3000))
    if kind == 6:
        return _time(rng)
    if kind == 7:
        return rng.choice([True, False, Level.LOW, Slug.DVCQG])
    if kind == 8:
        return rng.choice([0.0, -0.0, 1.5, 1e300, float("inf"), float("-inf"), float("nan")])
    if kind == 9:
        return rng.choice(["", "null", "0", "[]"])
    if kind == 10:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 11:
        return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return (_value(rng, depth + 1), None)


def test_the_fast_encoding_is_the_generic_encoders_byte_for_byte() -> None:
    rng = random.Random(22)
    compared = refused = 0
    for _ in range(20_000):
        values = tuple(_value(rng) for _ in HASHED_FIELDS)
        try:
            expected = entry_content_generic(values)
        except (TypeError, ValueError) as exc:
            with pytest.raises(type(exc)):
                entry_content(values)
            refused += 1
            continue
        assert entry_content(values) == expected, values
        assert entry_content(iter(values)) == expected  # any iterable, as before
        compared += 1
    assert compared > 15_000
    assert refused > 100


def test_rows_as_the_database_returns_them_encode_alike() -> None:
    """Every column's type as it comes back: text, null, integers, ciphertexts, times."""
    rng = random.Random(5)
    for _ in range(5_000):
        values: list[Any] = []
        for name in HASHED_FIELDS:
            if rng.random() < 0.3:
                values.append(None)
            elif name in ("status_code", "request_size", "response_size"):
                values.append(rng.randrange(0, 2**31))
            elif name.endswith("_body"):
                values.append(rng.randbytes(rng.randrange(0, 2000)))
            elif name.endswith("_at"):
                values.append(_time(rng).isoformat(timespec="microseconds"))
            else:
                values.append(_text(rng))
        assert entry_content(values) == entry_content_generic(values)


async def test_streamed_times_and_texts_verify_as_sealed(gateway: Gateway) -> None:
    """The sealer reads rows one way, PostgreSQL's streamed verification another (times
    formatted by the server): entries with every awkward time and text verify intact."""
    log = gateway.log
    moments = [
        datetime(2026, 12, 4, 1, 2, 3, 0, tzinfo=UTC),  # no microseconds: still six digits
        datetime(2026, 12, 4, 1, 2, 3, 4, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=7))),
        datetime(1999, 1, 1, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(1, 1, 1, 12, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        datetime(2024, 2, 29, 12, tzinfo=UTC),
    ]
    rows = []
    for n, at in enumerate(moments * 3):
        entry = log.build(
            Crossing(
                kind="inbound",
                operation="tra_cuu",
                outcome="granted",
                connector="dancu" if n % 2 else None,
                client="test",
                purpose=_ALPHABET.replace("\ud800", "").replace("\udfff", "").replace("\x00", ""),
                detail='tab\there\nnew "line" \\ back' if n % 3 else None,
                started_at=at,
                finished_at=at + timedelta(microseconds=n),
                status_code=200 if n % 2 else None,
                request=b"\x00\xff" * n if n % 3 else None,
            )
        )
        rows.append({c.name: getattr(entry, c.name) for c in ExchangeEntry.__table__.columns})
        rows[-1].pop("id")
    async with gateway.db.transaction() as session:
        await session.execute(insert(ExchangeEntry), rows)
    authenticator = gateway.cipher.entries
    assert await seal_pending(gateway.db, gateway.signer, authenticator=authenticator) == len(rows)
    report = await verify_database(gateway.db, gateway.public_key, authenticator=authenticator)
    assert report.ok, report.problem
    assert report.entries == len(rows)
