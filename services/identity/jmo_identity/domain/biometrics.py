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
    # A selfie is the KTP photo itself (re-encoded, resized, cropped, brightened, greyscale, slightly
    # rotated, shot off a screen) when the embeddings are this close, or when this many corners of the
    # aligned face crops match under one transform (face/fingerprint.py). Measured (bench/copy_eval.py):
    # re-captures 61 matched corners or more, independent photos of one person at most 43 and at most
    # 0.94 in score.
    copy_min_score: float = 0.95
    copy_min_matched_keypoints: int = 50

    def threshold(self, purpose: str) -> float:
        return float(self.thresholds.get(purpose, self.default_threshold))

    def matched(self, score: float, purpose: str) -> bool:
        return score >= self.threshold(purpose)

    def is_copy_of_reference(self, score: float, matched_keypoints: int | None) -> bool:
        """Whether the selfie is the KTP photo itself rather than a new capture of the face.

        ``matched_keypoints`` is None when the reference has no fingerprint to compare with.
        """
        if score >= self.copy_min_score:
            return True
        return matched_keypoints is not None and matched_keypoints >= self.copy_min_matched_keypoints

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
