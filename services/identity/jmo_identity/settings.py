"""Identity's settings (env prefix IDENTITY_, e.g. IDENTITY_ACCESS_TOKEN_TTL_SECONDS)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings

from .domain.client_address import parse_networks

# services/identity/jmo_identity/settings.py -> the repository root
REPO_ROOT = Path(__file__).resolve().parents[3]


class IdentitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    service_name: str = "identity"
    port: int = 8001
    worker_port: int = 8101
    db_name: str = "identity"

    # --- tokens -------------------------------------------------------------
    access_token_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    refresh_token_ttl_days: int = Field(default=30, ge=1)
    # A refresh family (one login) ends this long after the login, however often it is rotated.
    session_max_days: int = Field(default=90, ge=1)
    # PEM of a P-256 private key (IDENTITY_SIGNING_KEY_PEM). Without it a key is
    # generated once and kept in the identity database, so restarts keep tokens valid.
    signing_key_pem: str | None = None

    # --- passwords and login ---------------------------------------------------
    password_min_length: int = Field(default=10, ge=8)
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=60)
    # Failed logins slow down before they lock: this much per failure after the second.
    login_failure_delay_step_seconds: float = Field(default=0.25, ge=0)
    login_failure_delay_max_seconds: float = Field(default=2.0, ge=0)
    # argon2id cost (argon2-cffi's RFC 9106 low-memory profile by default).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4

    # --- face verification ----------------------------------------------------
    face_cache_dir: Path = REPO_ROOT / ".cache" / "face-models"
    face_threads: int = Field(default=1, ge=1)
    # Photos analysed at the same time; the rest queue (the engine is CPU-bound).
    face_workers: int = Field(default=1, ge=1)
    face_threshold_default: float = Field(default=0.50, ge=0, le=1)
    # Per purpose, e.g. IDENTITY_FACE_THRESHOLDS='{"claim": 0.55}'. A changed
    # bank account is the fraud hot spot, so it asks for a closer match.
    face_thresholds: dict[str, float] = Field(
        default_factory=lambda: {"bank_account_change": 0.60, "account_recovery": 0.60}
    )
    face_verification_ttl_seconds: int = Field(default=600, ge=60)
    # Non-matches a member gets per day before we send them to the video call.
    face_daily_retry_budget: int = Field(default=5, ge=1)
    # The member's "day" for the budget (WIB).
    face_budget_timezone: str = "Asia/Jakarta"
    selfie_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # A selfie at least this close to the KTP photo (cosine score), or whose aligned face crop
    # shares at least this many matching corners with it (of 300), is that photo, not a capture.
    face_copy_min_score: float = Field(default=0.95, gt=0, le=1)
    face_copy_min_matched_keypoints: int = Field(default=50, ge=2, le=300)
    # Refuse a selfie whose exact bytes this member already sent (a replayed capture).
    face_refuse_replayed_selfies: bool = True

    # --- one-time codes (contact confirmation, password reset, account recovery) ---
    code_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    code_max_attempts: int = Field(default=5, ge=1, le=10)
    code_resend_cooldown_seconds: int = Field(default=60, ge=0)
    code_max_sends_per_hour: int = Field(default=5, ge=1)
    # Key of the codes' HMAC (IDENTITY_CODE_PEPPER). Without it one is generated once and kept
    # in the identity database next to the generated signing key; production sets it from a secret.
    code_pepper: str | None = None
    # The local notification adapter keeps sent messages (with their codes) this long.
    notification_retention_hours: int = Field(default=24, ge=1)

    # --- account recovery ---------------------------------------------------
    # After a recovery the new contact may not redirect money (bank-account change) this long.
    recovery_cooling_off_hours: int = Field(default=72, ge=0)

    # --- throttling by client address -----------------------------------------
    # Proxies whose X-Forwarded-For is believed (CIDRs, JSON list: '["10.0.0.0/8"]'); none by default.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Generous on purpose: mobile carriers put many members behind one address (CGNAT).
    client_login_max_failures: int = Field(default=50, ge=1)
    client_login_window_seconds: int = Field(default=900, ge=60)
    client_reset_max_requests: int = Field(default=20, ge=1)
    client_reset_window_seconds: int = Field(default=3600, ge=60)
    client_recovery_max_attempts: int = Field(default=10, ge=1)
    client_recovery_window_seconds: int = Field(default=3600, ge=60)

    # --- registration: refusals tell which NIK, KPJ, name and birth date go together -------
    # Refused registrations (not_in_registry, registry_mismatch) per client address, then per NIK.
    client_registration_max_refusals: int = Field(default=10, ge=1)
    client_registration_window_seconds: int = Field(default=3600, ge=60)
    registration_nik_max_refusals: int = Field(default=5, ge=1)
    registration_nik_window_seconds: int = Field(default=3600, ge=60)

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # a typo must stop the start, not silently trust nobody (or everybody)
        return value
