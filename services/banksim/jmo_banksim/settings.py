"""Settings of the partner-bank simulator (env prefix BANKSIM_). Local runs and tests only."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jmo_shared.settings import ServiceSettings
from jmo_shared.topics import BANK_TOPIC_PREFIX, PARTNER_BANKS


def dev_fund_accounts() -> dict[str, str]:
    """Placeholder numbers of the fund's paying account at each partner bank (statement Acct)."""
    return {code: f"{code}7000001" for code in PARTNER_BANKS}


class BanksimSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BANKSIM_", extra="ignore")

    service_name: str = "banksim"
    port: int = 8099
    db_name: str = "banksim"

    # JSON object bank_code -> HMAC secret used to sign notifications to the payout service, or a
    # list of secrets (the same setting as payout's during a rotation): the first one signs. No
    # default: the local stack and the tests set it; a bank without one reports nothing (logged).
    bank_notify_secrets: dict[str, str | list[str]] = Field(default_factory=dict)
    consumer_group: str = "banksim"
    instruction_topic_pattern: str = "^" + BANK_TOPIC_PREFIX.replace(".", r"\.") + ".*"
    # Time between receiving a transfer and executing it (BI-FAST takes ~25 s for real; fast locally).
    settle_delay_seconds: float = 0.2
    # The "slow" behaviour's delay when the request names none.
    slow_delay_seconds: float = 30.0
    # The "reorder" behaviour holds notifications this long, then sends them newest first.
    reorder_hold_seconds: float = 2.0
    # The "reject" behaviour's ISO 20022 reason when the request names none (MS03: reason not specified).
    reject_reason_code: str = "MS03"
    reject_reason: str = "not specified reason agent generated"
    notify_timeout_seconds: float = 5.0
    notify_retry_initial_seconds: float = 0.5
    notify_retry_max_seconds: float = 30.0
    # Stop retrying a notification nobody accepts after this long (a real bank gives up too).
    notify_give_up_seconds: float = 24 * 3600
    # The banks' business day (statement booking and value dates) is in Jakarta time (WIB).
    local_timezone: str = "Asia/Jakarta"
    # The fund's account at each bank that the statements (camt.053) are of, JSON bank_code -> number.
    fund_accounts: dict[str, str] = Field(default_factory=dev_fund_accounts)
    fund_owner_name: str = "BPJS Ketenagakerjaan"
    # The fund account's balance before the first simulated transfer (statements count down from it).
    fund_opening_balance_idr: int = 1_000_000_000_000
    # On a shared broker several simulators may run: serve only the payout service at this URL prefix.
    serve_notify_url_prefix: str | None = None

    def signing_secrets(self) -> dict[str, str]:
        """The secret each bank signs with: the first one configured."""
        out = {}
        for code, given in self.bank_notify_secrets.items():
            first = given if isinstance(given, str) else next(iter(given), "")
            if first:
                out[code] = first
        return out
