"""Which interbank rail carries a payout (limits and windows of Bank Indonesia's rails, from settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import Literal

Rail = Literal["BI_FAST", "SKN", "RTGS"]


@dataclass(frozen=True)
class RailPolicy:
    bi_fast_max_idr: int
    skn_max_idr: int
    # SKNBI clears only inside its window, in Jakarta time.
    skn_opens: time
    skn_closes: time
    timezone: tzinfo


def choose_rail(amount_idr: int, at: datetime, policy: RailPolicy) -> Rail:
    """BI-FAST when it can carry the amount (24/7), else SKN inside its window, else RTGS."""
    if at.tzinfo is None:
        raise ValueError("a rail decision needs an aware datetime")
    if amount_idr <= policy.bi_fast_max_idr:
        return "BI_FAST"
    local = at.astimezone(policy.timezone).time()
    if amount_idr <= policy.skn_max_idr and policy.skn_opens <= local < policy.skn_closes:
        return "SKN"
    return "RTGS"
