"""The end-of-day statement (camt.053) of the fund's account at one bank, from the transfers it booked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from jmo_shared.clock import Clock
from jmo_shared.errors import field_error
from jmo_shared.mongo import Database
from jmo_shared.topics import PARTNER_BANKS

from ..adapters import repository as repo
from ..domain.behaviour import BehaviourBook
from ..domain.statement import BookedTransfer, FundAccount, build_statement, business_day


@dataclass(frozen=True)
class StatementBook:
    db: Database
    clock: Clock
    book: BehaviourBook
    tz: tzinfo
    fund_accounts: dict[str, str]
    owner_name: str
    opening_balance_idr: int

    async def statement(self, bank_code: str, day: date) -> dict[str, Any]:
        if bank_code not in PARTNER_BANKS:
            raise field_error("bank_code", "unknown_bank", f"bank {bank_code} is not a partner bank")
        now = self.clock.now()
        if day > now.astimezone(self.tz).date():
            raise field_error("date", "date_in_future", "a statement covers a business day that has begun")
        start, end = business_day(day, self.tz)
        docs = await repo.booked_between(self.db, bank_code, start, end)
        before = await repo.booked_total_before(self.db, bank_code, start)
        booked = [
            BookedTransfer(
                end_to_end_id=d["end_to_end_id"],
                payout_id=d["payout_id"],
                amount_idr=d["amount_idr"],
                creditor_account=d["account_number"],
                creditor_name=d.get("creditor_name", ""),
                remittance_info=d.get("remittance_info", ""),
                bank_reference=d["bank_reference"],
                booked_at=d["executed_at"],
            )
            for d in docs
        ]
        account = FundAccount(bank_code, self.fund_accounts.get(bank_code, f"{bank_code}7000001"), self.owner_name)
        return build_statement(
            account,
            day,
            self.tz,
            now,
            self.opening_balance_idr - before,
            booked,
            self.book.for_bank(bank_code).statement,
        )
