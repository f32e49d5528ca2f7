"""The numbers the claim rules use, handed in from settings.

Regulations change, so none of these live in the rules themselves; settings.py
names the source of every default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, tzinfo
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ClaimPolicy:
    retirement_age_years: int = 56
    resignation_wait_months: int = 1
    termination_wait_months: int = 1
    # A fixed-term contract is claimable the day after it ended.
    contract_end_wait_days: int = 1
    partial_min_membership_years: int = 10
    partial_pension_percent: int = 10
    partial_housing_percent: int = 30
    lump_sum_tax_free_idr: int = 50_000_000
    lump_sum_tax_rate_npwp_pct: int = 5
    lump_sum_tax_rate_no_npwp_pct: int = 6
    npwp_required_above_idr: int = 50_000_000
    app_channel_cap_idr: int = 15_000_000
    sla_fast_max_idr: int = 10_000_000
    sla_fast_working_days: int = 1
    sla_standard_working_days: int = 5
    bank_account_cooling_off_days: int = 3
    # The risk service's verdict: how long to hold a claim for it (0: not at all), and whether a claim
    # whose hold ended without one goes on to payment.
    risk_verdict_wait_seconds: float = 0
    risk_proceed_without_verdict: bool = True
    public_holidays: frozenset[date] = field(default_factory=frozenset)
    timezone: str = "Asia/Jakarta"
    # Who takes over a late claim: the first at the SLA due time, each next one
    # `sla_escalation_step_working_days` working days after the previous.
    sla_escalation_targets: tuple[str, ...] = ("the claims supervisor of your branch", "the branch head")
    sla_escalation_step_working_days: int = 2

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)
