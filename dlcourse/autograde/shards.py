"""``--shard i/n``: a deterministic slice of the class, so that n machines grade it together.

The students (the roster's ids and every submitter's key, sorted) are dealt out in turn:
shard i of n holds the students at positions i−1, i−1+n, i−1+2n, ...  Every machine that
sees the same submissions and roster computes the same slices, whatever order its file
system lists them in, and each student's notebooks stay together; ``dlcourse merge`` joins
the shards' output folders into one (:func:`dlcourse.autograde.results.merge`).
"""

from __future__ import annotations

import re

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/5"`` → ``(2, 5)``; ValueError naming the expected form otherwise."""
    m = _SHARD.match(str(text))
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise ValueError(f"--shard must be i/n with 1 <= i <= n (e.g. 2/5), got {text!r}")
    return int(m[1]), int(m[2])


def shard_students(students: list[str], index: int, count: int) -> list[str]:
    """The students of shard ``index`` (1-based) of ``count``."""
    return sorted(set(students))[index - 1::count]
