"""Face verification rules: thresholds per purpose, validity, the daily retry budget."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PURPOSES = ("profile_update", "claim", "balance_merge", "login", "bank_account_change")


@dataclass(frozen=True)
class FacePolicy:
    default_threshold: float = 0.50
    thresholds: Mapping[str, float] = field(default_factory=dict)
    validity: timedelta = timedelta(minutes=10)
    daily_non_match_budget: int = 5
    timezone: str = "Asia/Jakarta"

    def threshold(self, purpose: str) -> float:
        return float(self.thresholds.get(purpose, self.default_threshold))

    def matched(self, score: float, purpose: str) -> bool:
        return score >= self.threshold(purpose)

    def budget_day(self, now: datetime) -> date:
        """The member's calendar day (their local time), which the budget counts."""
        return now.astimezone(ZoneInfo(self.timezone)).date()

    def budget_exhausted(self, non_matches_today: int) -> bool:
        return non_matches_today >= self.daily_non_match_budget

    def budget_resets_in(self, now: datetime) -> timedelta:
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
        return midnight - local
