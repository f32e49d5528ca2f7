"""Face verification rules: thresholds per purpose, validity, the daily retry budget, copies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ACCOUNT_RECOVERY = "account_recovery"
# What a member asks a face match for; account_recovery is identity's own (no session, no event).
PURPOSES = ("profile_update", "claim", "balance_merge", "login", "bank_account_change", ACCOUNT_RECOVERY)


@dataclass(frozen=True)
class FacePolicy:
    default_threshold: float = 0.50
    thresholds: Mapping[str, float] = field(default_factory=dict)
    validity: timedelta = timedelta(minutes=10)
    daily_non_match_budget: int = 5
    timezone: str = "Asia/Jakarta"
    # A selfie this close to the KTP photo is that photo again (re-encoded, resized, cropped):
    # independent photos of one person scored at most 0.81, copies at least 0.95 (bench/calibrate.py).
    copy_min_score: float = 0.95
    copy_max_hash_distance: int = 8

    def threshold(self, purpose: str) -> float:
        return float(self.thresholds.get(purpose, self.default_threshold))

    def matched(self, score: float, purpose: str) -> bool:
        return score >= self.threshold(purpose)

    def is_copy_of_reference(self, score: float, hash_distance: int | None) -> bool:
        """Whether the selfie is the KTP photo itself rather than a new capture of the face."""
        if score >= self.copy_min_score:
            return True
        return hash_distance is not None and hash_distance <= self.copy_max_hash_distance

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
