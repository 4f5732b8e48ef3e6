"""The late policy: a deadline per assignment and a penalty rule applied to submission times.

A submission ``t`` seconds after its deadline (past the grace period) is ``d = ceil(t / 86400)``
days late and loses ``min(max_percent, d · percent_per_day)`` percent of the points it earned:

    score = raw · (1 − min(M, d · p) / 100)

Deadlines are ISO 8601 times (``2026-10-05T23:59:00+02:00``; no offset means UTC).  Where
the submission time is unknown, a Canvas ``_LATE`` marker counts as one day late.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field


class LatePolicyError(ValueError):
    """A deadline or a penalty that cannot be used."""


def parse_time(text: str, what: str = "time") -> dt.datetime:
    """An ISO 8601 time, UTC when it has no offset (LatePolicyError naming ``what`` otherwise).

    A date alone is refused: read as midnight at the start of that day, ``2026-10-05`` would
    make every submission handed in on the due date a day late."""
    if len(str(text).strip()) <= 10:
        raise LatePolicyError(f"{what}: expected an ISO 8601 date and time of day such as 2026-10-05T23:59:00+00:00, "
                              f"got {text!r} (a date alone would mean 00:00 at the start of that day)")
    try:
        t = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise LatePolicyError(f"{what}: expected an ISO 8601 time such as 2026-10-05T23:59:00+00:00, "
                              f"got {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


@dataclass
class LatePolicy:
    """Deadlines per topic (``"*"`` for every topic) and the penalty rule."""

    deadlines: dict[str, str] = field(default_factory=dict)
    percent_per_day: float = 0.0
    max_percent: float = 100.0
    grace_minutes: float = 0.0

    def __post_init__(self) -> None:
        for name in ("percent_per_day", "max_percent", "grace_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise LatePolicyError(f"late policy: {name} must be a number >= 0, got {value!r}")
        if self.max_percent > 100:
            raise LatePolicyError(f"late policy: max_percent must be at most 100, got {self.max_percent!r}")
        for topic, when in self.deadlines.items():
            parse_time(when, f"deadline of {topic}")

    def deadline(self, topic: str) -> dt.datetime | None:
        when = self.deadlines.get(topic, self.deadlines.get("*"))
        return parse_time(when) if when else None

    def apply(self, topic: str, submitted_at: str | None, late_marker: bool = False) -> dict:
        """``{"deadline", "days_late", "percent"}`` for one submission of ``topic``."""
        deadline = self.deadline(topic)
        days = 0
        if deadline is not None and submitted_at:
            late_s = (parse_time(submitted_at) - deadline).total_seconds() - 60 * self.grace_minutes
            days = math.ceil(late_s / 86400) if late_s > 0 else 0
        elif late_marker:
            days = 1
        percent = min(self.max_percent, days * self.percent_per_day)
        return {"deadline": deadline.isoformat() if deadline else None, "days_late": days,
                "percent": round(percent, 4)}

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> LatePolicy | None:
        return cls(**data) if data else None
