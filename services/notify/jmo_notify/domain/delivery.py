"""A delivery's retries: exponential backoff on a failing channel, then the dead-letter list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

PENDING = "pending"
SENT = "sent"
DEAD = "dead"


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 5.0
    max_seconds: float = 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base, ... up to the cap."""
        return timedelta(seconds=min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))

    def after_failure(self, attempts: int, now: datetime) -> tuple[str, datetime | None]:
        """(status, next attempt) once `attempts` attempts have failed: pending again later, or dead."""
        if attempts >= self.max_attempts:
            return DEAD, None
        return PENDING, now + self.delay(attempts)


def delivery_id(event_id: str, channel: str, recipient: str = "member") -> str:
    """One delivery per event, channel and recipient: the key that makes a redelivered event a no-op."""
    return f"{event_id}:{channel}" if recipient == "member" else f"{event_id}:{channel}:{recipient}"
