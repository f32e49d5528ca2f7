"""Flags from the risk service's stream rules, as a claim keeps them.

A flag names the rule that saw a fraud pattern. Officers see the rule and its evidence; the
member reads only that an officer checks the claim (a rule's details would teach how to pass it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

# Reason code of a claim in NEEDS_REVIEW because of an open flag; what the member reads.
RISK_REVIEW = "risk_review"
RISK_REVIEW_NOTE = "An officer checks this claim before it is paid; you will see their decision here."
# The hold for a verdict ended without one, and the settings say not to proceed without it.
RISK_UNAVAILABLE = "risk_unavailable"
RISK_UNAVAILABLE_NOTE = "An officer checks this claim before it is paid; you will see their decision here."


@dataclass(frozen=True)
class RiskFlag:
    flag_id: str
    rule: str
    flagged_at: datetime
    evidence: dict[str, Any]
    # The claim had already been approved for payment when the flag arrived: money may have left,
    # so the flag is kept for follow-up (recovery, the account's bank) instead of stopping the claim.
    after_payout: bool = False
    cleared_at: datetime | None = None
    cleared_by: str | None = None
    note: str = ""

    @property
    def open(self) -> bool:
        return self.cleared_at is None

    def cleared(self, by: str, note: str, at: datetime) -> RiskFlag:
        return replace(self, cleared_at=at, cleared_by=by, note=note)
