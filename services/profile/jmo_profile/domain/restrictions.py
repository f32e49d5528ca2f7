"""Holds on changing where money goes: after an account recovery, no new bank account for a while.

Identity's ContactChanged (cause "recovery") carries `restricted_until`: the
person who recovered the account proved a NIK, a birth date, a face and a
new contact, and might still not be the member. Until then a bank account
other than the one on file is refused (re-entering the same one is fine).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .errors import Invalid, Refusal

CODE = "bank_account_change_restricted"


def bank_account_change_restricted_until(person: Mapping[str, Any]) -> datetime | None:
    return (person.get("restrictions") or {}).get("bank_account_change_until")


def refuse_bank_account_change(person: Mapping[str, Any], bank_code: str, account_number: str, now: datetime) -> None:
    until = bank_account_change_restricted_until(person)
    if until is None or until <= now:
        return
    current = (person.get("entered") or {}).get("bank_account") or {}
    if (current.get("bank_code"), current.get("account_number")) == (bank_code, account_number):
        return
    message = (
        f"your account was recovered recently, so the bank account cannot be changed until "
        f"{until.strftime('%Y-%m-%d %H:%M')} UTC; keep the current account or try again after that"
    )
    raise Refusal(
        CODE,
        message,
        kind="conflict",
        errors=[Invalid("account_number", CODE, message)],
        extra={"restricted_until": until.isoformat()},
    )
