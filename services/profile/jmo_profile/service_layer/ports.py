"""What the service layer needs from the outside world, as interfaces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class AccountHolder:
    bank_code: str
    account_number: str
    holder_name: str


class BankInquiryUnavailable(Exception):
    """The bank did not answer the inquiry (down, slow, or an answer we cannot read)."""


class BankInquiry(Protocol):
    async def inquire(self, bank_code: str, account_number: str) -> AccountHolder | None:
        """The account's holder, or None when the bank holds no such account."""
        ...

    async def close(self) -> None: ...
