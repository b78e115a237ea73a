"""Summarise a py-spy ``record --format raw`` file: each frame's inclusive share of samples.

Usage: .venv/bin/python bench/flame_summary.py FILE [TOP]
"""

from __future__ import annotations

import collections
import re
import sys


def summary(path: str, top: int = 40) -> list[tuple[float, str]]:
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            seen: set[str] = set()
            for frame in stack.split(";"):
                m = re.match(r"(.*?) \((.*?):\d+\)$", frame)
                key = f"{m.group(1)} ({m.group(2).split('site-packages/')[-1]})" if m else frame
                if key not in seen:
                    inclusive[key] += n
                    seen.add(key)
    return [(v / total, k) for k, v in inclusive.most_common(top)] if total else []


if __name__ == "__main__":
    for share, frame in summary(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40):
        print(f"{share:6.1%}  {frame}")
