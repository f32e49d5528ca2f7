"""Failed logins slow down and then lock an account for a while, never for good."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    delay_step_seconds: float = 0.25
    delay_max_seconds: float = 2.0

    def recent(self, failures: Sequence[datetime], now: datetime) -> list[datetime]:
        return sorted(f for f in failures if timedelta(0) <= now - f < self.window)

    def retry_after(self, failures: Sequence[datetime], now: datetime) -> timedelta | None:
        """How long the login stays locked, or None when it is open.

        Locked while `max_failures` failures fall in the sliding window; it
        opens again when the oldest of them leaves the window.
        """
        recent = self.recent(failures, now)
        if len(recent) < self.max_failures:
            return None
        return recent[-self.max_failures] + self.window - now

    def delay_seconds(self, failures: Sequence[datetime], now: datetime) -> float:
        """Pause before answering a failure: a typo costs nothing, a guessing run costs time."""
        extra = len(self.recent(failures, now)) - 2
        return min(max(extra, 0) * self.delay_step_seconds, self.delay_max_seconds)

    def keep(self) -> int:
        """How many failure times are worth keeping to decide the above."""
        return self.max_failures
