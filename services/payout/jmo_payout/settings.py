"""Settings of the payout service (env prefix PAYOUT_); every regulatory number names its source."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings
from jmo_shared.topics import PARTNER_BANKS

from .domain.rails import RailPolicy
from .domain.tax import Bracket, TaxPolicy

# The published secrets of the local stack and the tests ("dev-secret-<bank code>"): never valid
# outside a local environment.
DEV_SECRET_PREFIX = "dev-secret-"


class SettingsRefused(RuntimeError):
    """Settings a deployed payout must not start with."""


class PayoutSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAYOUT_", extra="ignore")

    service_name: str = "payout"
    port: int = 8005
    worker_port: int = 8105
    db_name: str = "payout"

    # Where banks reach this service; notify_url = public_url + /v1/bank/notifications.
    public_url: str = "http://127.0.0.1:8005"
    # JSON object bank_code -> HMAC secret, or a list of secrets while one is rotated (a report
    # signed with any of them verifies). No default: outside a local environment payout refuses to
    # start without them (check_deployable).
    bank_notify_secrets: dict[str, str | list[str]] = Field(default_factory=dict)
    # Reports signed longer ago (or further ahead) than this are refused as possible replays.
    notification_max_skew_seconds: int = 300
    # Banks we have a disbursement agreement with; others get no transfer (jmo_shared.topics).
    partner_banks: list[str] = Field(default_factory=lambda: sorted(PARTNER_BANKS))
    # A transfer with no bank answer after this long fails as bank_timeout. BI-FAST settles in
    # about 25 s (BI); 15 minutes leaves room for SKN batches and bank retries.
    bank_timeout_seconds: float = 900
    timeout_sweep_interval_seconds: float = 30

    # The paying account (pain.001 Dbtr / DbtrAcct). Placeholder: set per environment.
    debtor_name: str = "BPJS Ketenagakerjaan"
    debtor_bank_code: str = "009"
    debtor_account_number: str = "0000000000"

    # PPh 21 final on the JHT lump sum paid within 2 calendar years (PP 68/2009,
    # PMK 16/PMK.03/2010): 0% on the first Rp50,000,000 of gross, 5% above it.
    tax_lump_sum_window_years: int = 2
    tax_lump_sum_exempt_idr: int = 50_000_000
    tax_lump_sum_rate_bp: int = 500
    # From the third calendar year: Article 17 rates, as amended by UU HPP (UU 7/2021):
    # [upper_idr or null, rate in basis points].
    tax_progressive_brackets: list[tuple[int | None, int]] = Field(
        default_factory=lambda: [
            (60_000_000, 500),
            (250_000_000, 1500),
            (500_000_000, 2500),
            (5_000_000_000, 3000),
            (None, 3500),
        ]
    )
    # Without an NPWP the rate is 20% higher (UU PPh, Article 21(5a)): 5% becomes 6%.
    tax_no_npwp_surcharge_percent: int = 20

    # BI-FAST: up to Rp250,000,000 a transaction, 24/7 (Bank Indonesia's BI-FAST limit).
    rail_bi_fast_max_idr: int = 250_000_000
    # SKNBI: up to Rp1,000,000,000, cleared 08:00-16:45 WIB (Bank Indonesia's SKNBI limit
    # and settlement windows).
    rail_skn_max_idr: int = 1_000_000_000
    rail_skn_opens: time = time(8, 0)
    rail_skn_closes: time = time(16, 45)
    # Rail windows, the external id's date and the execution date are in Jakarta time (WIB).
    local_timezone: str = "Asia/Jakarta"

    # Daily reconciliation (payouts sent vs bank reports vs the bank's camt.053 statement).
    # Where statements come from: an http(s) base URL (the simulator's GET /sim/statements/{bank}?date=)
    # or a file:// directory of `{bank_code}-{date}.json` drops; either may be a template with
    # {bank_code} and {date}. `statement_sources` (JSON bank_code -> location) overrides per bank.
    statement_source: str = "http://127.0.0.1:8099"
    statement_sources: dict[str, str] = Field(default_factory=dict)
    statement_timeout_seconds: float = 30
    # The worker reconciles the previous business day (Jakarta) at this local time, for every bank
    # that had payouts that day, looking back this many days for a run it missed (e.g. while down).
    reconciliation_schedule_enabled: bool = True
    reconciliation_run_at: time = time(1, 0)
    reconciliation_lookback_days: int = Field(default=3, ge=1, le=31)
    reconciliation_check_interval_seconds: float = 60
    # A run holds its bank-date for at most this long (a crashed worker's lease then lapses).
    reconciliation_lease_seconds: float = 900
    # A scheduled run whose statement is not there yet tries again after this long.
    reconciliation_retry_seconds: float = 900
    # At most this many mismatches are stored with a run (the counts per code stay complete).
    reconciliation_max_stored_mismatches: int = 5000

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def bank_secrets(self) -> dict[str, tuple[str, ...]]:
        """Every secret a report of each bank may be signed with (empty ones left out)."""
        out = {}
        for code, given in self.bank_notify_secrets.items():
            secrets = tuple(s for s in ([given] if isinstance(given, str) else given) if s)
            if secrets:
                out[code] = secrets
        return out

    def check_deployable(self) -> None:
        """Refuse what is only fit for a laptop when running anywhere else (SettingsRefused)."""
        if self.is_local:
            return
        secrets = self.bank_secrets()
        if not secrets:
            raise SettingsRefused(
                f"PAYOUT_BANK_NOTIFY_SECRETS is not set (environment {self.environment!r}): no bank report "
                "could be verified; set it from the bank-secrets Secret, or ENVIRONMENT=local on a laptop"
            )
        published = sorted(
            code for code, values in secrets.items() if any(v.startswith(DEV_SECRET_PREFIX) for v in values)
        )
        if published:
            raise SettingsRefused(
                f"PAYOUT_BANK_NOTIFY_SECRETS holds the public dev secret of bank(s) {', '.join(published)} "
                f"(environment {self.environment!r}): anyone could sign their reports"
            )

    @property
    def notify_url(self) -> str:
        return f"{self.public_url}/v1/bank/notifications"

    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.local_timezone)

    def tax_policy(self) -> TaxPolicy:
        return TaxPolicy(
            lump_sum_window_years=self.tax_lump_sum_window_years,
            lump_sum_exempt_idr=self.tax_lump_sum_exempt_idr,
            lump_sum_rate_bp=self.tax_lump_sum_rate_bp,
            progressive_brackets=tuple(Bracket(upper, rate) for upper, rate in self.tax_progressive_brackets),
            no_npwp_surcharge_percent=self.tax_no_npwp_surcharge_percent,
        )

    def rail_policy(self) -> RailPolicy:
        return RailPolicy(
            bi_fast_max_idr=self.rail_bi_fast_max_idr,
            skn_max_idr=self.rail_skn_max_idr,
            skn_opens=self.rail_skn_opens,
            skn_closes=self.rail_skn_closes,
            timezone=self.tzinfo(),
        )
