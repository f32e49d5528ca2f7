"""Settings of the balance service (env prefix BALANCE_, e.g. BALANCE_PORT)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings

# Declared JHT development-return rates, in basis points per year.
# Source: docs shared/domain-rules.md (public summaries of BPJS Ketenagakerjaan
# reports and PP 46/2015: the rate must be at least the average 12-month deposit
# rate of state banks, e.g. 7.19% in 2016 and 5.63% in 2020). Operators set the
# declared rate of every year here (BALANCE_RETURN_RATES_BP='{"2021": 600, ...}').
DEFAULT_RETURN_RATES_BP: dict[int, int] = {2016: 719, 2020: 563}
# Years not listed above: the most recent published floor (2020), so an
# unlisted year is never credited more than the regulation guarantees.
DEFAULT_RETURN_RATE_BP = 563


class BalanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BALANCE_", extra="ignore")

    service_name: str = "balance"
    port: int = 8003
    worker_port: int = 8103
    db_name: str = "balance"

    return_rates_bp: dict[int, int] = DEFAULT_RETURN_RATES_BP
    default_return_rate_bp: int = DEFAULT_RETURN_RATE_BP

    # The programs printed on the digital membership card.
    card_programs: list[str] = ["JHT", "JKK", "JKM", "JP"]
    # Ed25519 private key (PEM) that signs the card's QR; without it one is
    # generated on first start and kept in the database.
    card_signing_key_pem: str | None = None
    card_issuer: str = "jmo-balance"

    # Year ends and "today" of the books (BPJS Ketenagakerjaan keeps them in WIB).
    calendar_timezone: str = "Asia/Jakarta"
    # How often the worker looks for cards whose year ended (returns to credit).
    crediting_interval_seconds: float = 3600.0

    # The API's read cache (service_layer/read_cache.py): entries are dropped as soon as the
    # database reports a change to one of the member's cards; this TTL only bounds how long
    # one may live if a change were never reported. 0 turns the cache off.
    read_cache_ttl_seconds: float = 30.0
    read_cache_max_members: int = 20_000
    # How long the cache's change feed waits after an empty answer before asking the database again
    # (adapters/card_changes.py): the most a change made elsewhere (a contribution, a claim's hold or
    # debit, all announced later anyway) may wait to reach the cache. The API's own merges drop their
    # members at once. Shorter costs the database a round trip per write of the whole stack under load.
    card_feed_pace_seconds: float = 0.25
    # Verified access tokens remembered until they expire (0: verify every request).
    token_cache_size: int = 20_000

    # Test-only: seconds a merge waits inside its transaction after moving the first card,
    # so a crash test can kill the process mid-merge. Leave 0 anywhere else.
    merge_step_delay_seconds: float = 0.0
