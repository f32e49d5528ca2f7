"""Settings of the profile service (env prefix PROFILE_, connections shared)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings

from .domain.banks import DEFAULT_ACCOUNT_LENGTHS


class ProfileSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROFILE_", extra="ignore")

    service_name: str = "profile"
    port: int = 8002
    worker_port: int = 8102
    db_name: str = "profile"
    # The member's bank's account inquiry (the partner-bank simulator locally).
    bank_inquiry_url: str = "http://127.0.0.1:8099"
    bank_inquiry_timeout_seconds: float = 5.0
    # Each inquiry answers an account holder's name: at most this many per member in the window
    # (the tax-bank step then answers 429 too_many_attempts with retry_after).
    bank_inquiry_max_per_member: int = Field(default=10, ge=1)
    bank_inquiry_window_seconds: int = Field(default=3600, ge=1)
    # Account-number length per bank code; a JSON object in PROFILE_BANK_ACCOUNT_LENGTHS
    # replaces the whole table (see domain/banks.py for the source of the defaults).
    bank_account_lengths: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_ACCOUNT_LENGTHS))
