"""What the bank answers for one credit transfer (ISO 20022 pain.002 status and reason)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from .behaviour import Plan

ACCOUNT_NOT_FOUND = ("AC01", "account not found")


@dataclass(frozen=True)
class Decision:
    status: Literal["ACSC", "RJCT"]
    reason_code: str | None = None
    reason: str = ""


def decide(plan: Plan, account_exists: bool) -> Decision:
    if plan.reject_code is not None:
        return Decision("RJCT", plan.reject_code, plan.reject_reason)
    if not account_exists:
        return Decision("RJCT", *ACCOUNT_NOT_FOUND)
    # The holder name is not compared: the account inquiry before the claim did that.
    return Decision("ACSC")


def bank_reference(bank_code: str, end_to_end_id: str) -> str:
    """The bank's own reference, stable for a transfer so a repeated report repeats it."""
    digits = int.from_bytes(hashlib.sha256(f"{bank_code}:{end_to_end_id}".encode()).digest()[:8], "big")
    return f"SIM{bank_code}{digits % 10**12:012d}"
