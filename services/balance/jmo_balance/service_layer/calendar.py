"""The days the books are kept in: year ends and "today" follow Jakarta time, not UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from jmo_shared.clock import Clock


class Calendar:
    """A clock (it answers now() in UTC, like the injected one) that also knows the local day."""

    def __init__(self, clock: Clock, timezone: str) -> None:
        self._clock = clock
        self._tz = ZoneInfo(timezone)

    def now(self) -> datetime:
        return self._clock.now()

    def day_of(self, at: datetime) -> date:
        return at.astimezone(self._tz).date()

    def today(self) -> date:
        return self.day_of(self.now())
