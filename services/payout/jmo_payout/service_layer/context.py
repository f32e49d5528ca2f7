"""What the handlers need besides storage: policies, clock, the paying account, built once from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo

from jmo_shared.clock import Clock, SystemClock

from ..domain.ids import new_payout_id
from ..domain.rails import RailPolicy
from ..domain.tax import TaxPolicy
from ..settings import PayoutSettings


@dataclass(frozen=True)
class DebtorAccount:
    name: str
    bank_code: str
    account_number: str


@dataclass(frozen=True)
class PayoutContext:
    clock: Clock
    tax: TaxPolicy
    rails: RailPolicy
    local_tz: tzinfo
    partner_banks: frozenset[str]
    debtor: DebtorAccount
    notify_url: str
    bank_secrets: dict[str, tuple[str, ...]]
    max_notification_skew: timedelta
    bank_timeout: timedelta
    new_payout_id: Callable[[], str] = field(default=new_payout_id)

    @classmethod
    def from_settings(cls, settings: PayoutSettings, clock: Clock | None = None) -> PayoutContext:
        return cls(
            clock=clock or SystemClock(),
            tax=settings.tax_policy(),
            rails=settings.rail_policy(),
            local_tz=settings.tzinfo(),
            partner_banks=frozenset(settings.partner_banks),
            debtor=DebtorAccount(settings.debtor_name, settings.debtor_bank_code, settings.debtor_account_number),
            notify_url=settings.notify_url,
            bank_secrets=settings.bank_secrets(),
            max_notification_skew=timedelta(seconds=settings.notification_max_skew_seconds),
            bank_timeout=timedelta(seconds=settings.bank_timeout_seconds),
        )
