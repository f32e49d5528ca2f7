"""Opening accounts, reading them, and the account inquiry the profile service calls."""

from __future__ import annotations

from typing import Any

from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind, field_error, not_found
from jmo_shared.mongo import Database
from jmo_shared.topics import PARTNER_BANKS

from ..adapters import repository as repo


def _known_bank(bank_code: str) -> None:
    if bank_code not in PARTNER_BANKS:
        raise field_error("bank_code", "unknown_bank", f"bank {bank_code} is not a partner bank")


async def open_account(
    db: Database, clock: Clock, bank_code: str, account_number: str, holder_name: str
) -> dict[str, Any]:
    """Idempotent on (bank_code, account_number): the same request answers the same account."""
    _known_bank(bank_code)
    doc = {
        "_id": repo.account_id(bank_code, account_number),
        "bank_code": bank_code,
        "account_number": account_number,
        "holder_name": holder_name,
        "balance_idr": 0,
        "transactions": [],
        "opened_at": clock.now(),
    }
    account, _ = await repo.open_account(db, doc)
    if account["holder_name"] != holder_name:
        raise DomainError(code="account_exists", detail="this account is held by someone else", kind=ErrorKind.CONFLICT)
    return account


async def get_account(db: Database, bank_code: str, account_number: str) -> dict[str, Any]:
    account = await repo.get_account(db, bank_code, account_number)
    if account is None:
        raise not_found("account", code="account_not_found")
    return account
