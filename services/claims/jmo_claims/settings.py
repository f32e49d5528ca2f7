"""Settings of the claims service (env prefix CLAIMS_, e.g. CLAIMS_APP_CHANNEL_CAP_IDR).

Every number of the claim rules is here with its source: regulations change,
the code does not have to.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings

from .domain.policy import ClaimPolicy

# National public holidays (hari libur nasional) from the joint ministerial decrees
# (SKB 3 Menteri) for 2025 and for 2026 (No. 1497, 2 and 5 of 2025). Collective
# leave days (cuti bersama) are not included. Replace the list each year when the
# new decree is published (CLAIMS_PUBLIC_HOLIDAYS='["2027-01-01", ...]').
INDONESIAN_PUBLIC_HOLIDAYS: tuple[date, ...] = tuple(
    date.fromisoformat(d)
    for d in (
        # 2025
        "2025-01-01",
        "2025-01-27",
        "2025-01-29",
        "2025-03-29",
        "2025-03-31",
        "2025-04-01",
        "2025-04-18",
        "2025-04-20",
        "2025-05-01",
        "2025-05-12",
        "2025-05-29",
        "2025-06-01",
        "2025-06-06",
        "2025-06-27",
        "2025-08-17",
        "2025-09-05",
        "2025-12-25",
        # 2026
        "2026-01-01",
        "2026-01-16",
        "2026-02-17",
        "2026-03-19",
        "2026-03-21",
        "2026-03-22",
        "2026-04-03",
        "2026-04-05",
        "2026-05-01",
        "2026-05-14",
        "2026-05-27",
        "2026-05-31",
        "2026-06-01",
        "2026-06-16",
        "2026-08-17",
        "2026-08-25",
        "2026-12-25",
    )
)


class ClaimsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMS_", extra="ignore")

    service_name: str = "claims"
    port: int = 8004
    worker_port: int = 8104
    db_name: str = "claims"

    # Dates in rules and SLAs are Indonesian calendar days (WIB).
    timezone: str = "Asia/Jakarta"

    # --- eligibility (PP 46/2015 as amended by PP 60/2015; Permenaker 4/2022) ---
    # JHT is payable at the retirement age of 56.
    retirement_age_years: int = 56
    # Resignation: payable one month after the date of the resignation letter.
    resignation_wait_months: int = 1
    # Termination (PHK): payable one month after the termination date.
    termination_wait_months: int = 1
    # Fixed-term contract (PKWT) ended: payable after it ended (the next day).
    contract_end_wait_days: int = 1
    # Partial claim: after 10 years of membership, once, while still working;
    # 10% for pension preparation, 30% for housing.
    partial_min_membership_years: int = 10
    partial_pension_percent: int = 10
    partial_housing_percent: int = 30

    # --- PPh 21 final on the lump sum (PP 68/2009, PMK 16/2010; UU PPh art. 21(5a)) ---
    # 0% on the first Rp50,000,000 of gross, 5% above with an NPWP, 20% more (6%) without.
    lump_sum_tax_free_idr: int = 50_000_000
    lump_sum_tax_rate_npwp_pct: int = 5
    lump_sum_tax_rate_no_npwp_pct: int = 6
    # An NPWP is required when the balance is above Rp50 million (BPJS Ketenagakerjaan claim terms).
    npwp_required_above_idr: int = 50_000_000

    # --- the app channel (BPJS Ketenagakerjaan announcements) ---
    # JMO takes claims up to Rp15,000,000 since May 2025 (Rp10,000,000 before);
    # larger claims are routed to manual review (video call or branch).
    app_channel_cap_idr: int = 15_000_000
    # The app promises one working day for claims up to Rp10,000,000; Permenaker 4/2022
    # sets at most five working days after complete documents.
    sla_fast_max_idr: int = 10_000_000
    sla_fast_working_days: int = 1
    sla_standard_working_days: int = 5
    public_holidays: list[date] = list(INDONESIAN_PUBLIC_HOLIDAYS)

    # --- SLA escalation (issue 6: breached SLAs are escalated and counted) ---
    # A claim still open at sla_due_at goes to the first target; every step of working
    # days it stays open takes it to the next (service standard, not regulation).
    # JSON list, e.g. CLAIMS_SLA_ESCALATION_TARGETS='["the claims supervisor of your branch", "the branch head"]'.
    sla_escalation_targets: list[str] = Field(
        default_factory=lambda: ["the claims supervisor of your branch", "the branch head"], min_length=1
    )
    sla_escalation_step_working_days: int = Field(default=2, ge=1)
    # How often the worker looks for claims whose escalation is due.
    sla_sweep_interval_seconds: float = Field(default=60, gt=0)
    # How often the worker recounts claims per status for the claims_by_status gauge.
    status_gauge_interval_seconds: float = Field(default=30, gt=0)

    # --- fraud controls (domain-rules.md: hold payouts to a recently changed account) ---
    bank_account_cooling_off_days: int = 3
    # The risk service's verdict (a RiskFlagged or ClaimScreened for the claim). How long a claim whose
    # balance is held waits for it before going on: 0 (default) does not wait, claims never stall on the
    # risk service, and a flag that arrives later still sends a claim not yet approved for payment to
    # review (one already approved keeps the flag for follow-up). With a wait, whether a claim whose wait
    # ended without a verdict (the risk service down or slow) goes on to payment (true, the default) or
    # to an officer (false, reason code risk_unavailable); the worker looks this often.
    risk_verdict_wait_seconds: float = Field(default=0, ge=0)
    risk_proceed_without_verdict: bool = True
    risk_verdict_sweep_interval_seconds: float = Field(default=5, gt=0)

    # --- uploads ---
    document_max_bytes: int = 5 * 1024 * 1024
    # Documents uploaded and not yet named by a claim: at most this many per member (409
    # too_many_pending_documents past it), each removed once this old (the worker's sweep, this often,
    # this many per round).
    document_pending_max: int = Field(default=30, ge=1)
    document_retention_days: float = Field(default=7, gt=0)
    document_sweep_interval_seconds: float = Field(default=3600, gt=0)
    document_sweep_batch: int = Field(default=500, ge=1)

    def policy(self) -> ClaimPolicy:
        return ClaimPolicy(
            retirement_age_years=self.retirement_age_years,
            resignation_wait_months=self.resignation_wait_months,
            termination_wait_months=self.termination_wait_months,
            contract_end_wait_days=self.contract_end_wait_days,
            partial_min_membership_years=self.partial_min_membership_years,
            partial_pension_percent=self.partial_pension_percent,
            partial_housing_percent=self.partial_housing_percent,
            lump_sum_tax_free_idr=self.lump_sum_tax_free_idr,
            lump_sum_tax_rate_npwp_pct=self.lump_sum_tax_rate_npwp_pct,
            lump_sum_tax_rate_no_npwp_pct=self.lump_sum_tax_rate_no_npwp_pct,
            npwp_required_above_idr=self.npwp_required_above_idr,
            app_channel_cap_idr=self.app_channel_cap_idr,
            sla_fast_max_idr=self.sla_fast_max_idr,
            sla_fast_working_days=self.sla_fast_working_days,
            sla_standard_working_days=self.sla_standard_working_days,
            bank_account_cooling_off_days=self.bank_account_cooling_off_days,
            risk_verdict_wait_seconds=self.risk_verdict_wait_seconds,
            risk_proceed_without_verdict=self.risk_proceed_without_verdict,
            public_holidays=frozenset(self.public_holidays),
            timezone=self.timezone,
            sla_escalation_targets=tuple(self.sla_escalation_targets),
            sla_escalation_step_working_days=self.sla_escalation_step_working_days,
        )
