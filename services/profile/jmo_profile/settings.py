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
    # Account-number length per bank code; a JSON object in PROFILE_BANK_ACCOUNT_LENGTHS
    # replaces the whole table (see domain/banks.py for the source of the defaults).
    bank_account_lengths: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_ACCOUNT_LENGTHS))
