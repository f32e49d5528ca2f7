"""Settings of the risk service (env prefix RISK_, e.g. RISK_ACCOUNT_MEMBERS_THRESHOLD=3).

Every threshold is the bank's own risk appetite, not regulation: tune them here, and say why
in docs/runbooks/risk-flags.md when you do.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings
from jmo_shared.topics import RISK_APP_ID

from .domain.rules import RiskPolicy

# Public (it is in this file): fit for a laptop only. A deployed worker refuses to start with it.
DEV_ACCOUNT_HASH_KEY = "jmo-local-risk-account-key"


class RiskSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RISK_", extra="ignore")

    service_name: str = "risk"
    port: int = 8008
    worker_port: int = 8108
    db_name: str = "risk"

    # The faust app id: consumer group and the prefix of its tables' changelog topics
    # (jmo_shared.topics.risk_stream_topics creates them up front).
    app_id: str = RISK_APP_ID
    # Where faust keeps its local files (tables themselves live in memory and are rebuilt from their
    # changelogs). Empty: <system temp dir>/<app id>-data, never the working directory.
    stream_data_dir: str = ""
    # Key of the HMAC that hashes bank accounts: the raw account number never enters a signal,
    # a table or a changelog. Set a secret of your own outside the local stack.
    account_hash_key: SecretStr = SecretStr(DEV_ACCOUNT_HASH_KEY)

    # One bank account credited for this many distinct members within the window.
    account_members_threshold: int = 3
    account_members_window_days: int = 30
    # A claim this soon after the member's bank account changed.
    account_change_claim_window_hours: int = 72
    # Face non-matches or copies refused for one NIK, or from one client address, in an hour.
    face_refusals_per_nik_hour: int = 5
    face_refusals_per_address_hour: int = 10
    # Claims on cards of one employer in a day: at least this many, and this many times the employer's
    # mean over the previous days of the baseline (a new employer's mean is 0: the minimum alone decides).
    employer_claims_min_per_day: int = 20
    employer_claims_factor: float = 5.0
    employer_baseline_days: int = 30
    # Registrations from one client address in an hour.
    registrations_per_address_hour: int = 20

    # Publish ClaimScreened for every claim once the bank-account rules looked at it (claims holding
    # claims for a verdict, CLAIMS_RISK_VERDICT_WAIT_SECONDS > 0, go on at once instead of at the end of
    # their wait). One outbox row per claim.
    publish_verdicts: bool = True

    # The officers' flag list.
    flags_default_page_size: int = 20

    def policy(self) -> RiskPolicy:
        return RiskPolicy(
            account_members_threshold=self.account_members_threshold,
            account_members_window_days=self.account_members_window_days,
            account_change_claim_window_hours=self.account_change_claim_window_hours,
            face_refusals_per_nik_hour=self.face_refusals_per_nik_hour,
            face_refusals_per_address_hour=self.face_refusals_per_address_hour,
            employer_claims_min_per_day=self.employer_claims_min_per_day,
            employer_claims_factor=self.employer_claims_factor,
            employer_baseline_days=self.employer_baseline_days,
            registrations_per_address_hour=self.registrations_per_address_hour,
        )

    def check_deployable(self) -> None:
        """Outside a local environment, the bank-account hash key must be a secret of its own."""
        if not self.is_local and self.account_hash_key.get_secret_value() == DEV_ACCOUNT_HASH_KEY:
            raise RuntimeError(
                "RISK_ACCOUNT_HASH_KEY is the public development key; set a secret of your own "
                "(Secret jmo-risk, key account-hash-key)"
            )
