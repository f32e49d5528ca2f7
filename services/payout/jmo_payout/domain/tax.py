"""PPh 21 final on the JHT lump sum (PP 68/2009, PMK 16/2010; rates of UU HPP 2021).

Every number comes from a `TaxPolicy` built from settings, because the rates
change with regulation. Rates are in basis points (500 = 5%) so the whole
computation stays in integers: the tax is floored once, at the end, to the rupiah.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

TaxRegime = Literal["lump_sum_final", "progressive"]

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class Bracket:
    """A slice of the taxable amount up to `upper_idr` (None: no upper bound) taxed at `rate_bp`."""

    upper_idr: int | None
    rate_bp: int


@dataclass(frozen=True)
class TaxPolicy:
    # Paid within this many calendar years (the entitlement's year counts as the first): final rate.
    lump_sum_window_years: int
    lump_sum_exempt_idr: int
    lump_sum_rate_bp: int
    progressive_brackets: tuple[Bracket, ...]
    # Without an NPWP every rate is this much higher (20%: 5% becomes 6%).
    no_npwp_surcharge_percent: int

    def __post_init__(self) -> None:
        uppers = [b.upper_idr for b in self.progressive_brackets]
        if not uppers or uppers[-1] is not None:
            raise ValueError("the last progressive bracket must be open-ended")
        bounded = [u for u in uppers[:-1] if u is not None]
        if len(bounded) != len(uppers) - 1 or bounded != sorted(set(bounded)):
            raise ValueError("progressive brackets must rise strictly, only the last open-ended")


@dataclass(frozen=True)
class TaxAssessment:
    gross_idr: int
    tax_idr: int
    net_idr: int
    regime: TaxRegime
    has_npwp: bool


def calendar_year_of_payment(entitlement_date: date, paid_on: date) -> int:
    """1 for the entitlement's own calendar year, 2 for the next, and so on."""
    return max(paid_on.year - entitlement_date.year, 0) + 1


def _progressive_base(gross_idr: int, brackets: tuple[Bracket, ...]) -> int:
    """Sum of slice * rate_bp over the brackets (not yet divided, so nothing is rounded)."""
    total = 0
    lower = 0
    for bracket in brackets:
        upper = gross_idr if bracket.upper_idr is None else min(gross_idr, bracket.upper_idr)
        if upper <= lower:
            break
        total += (upper - lower) * bracket.rate_bp
        lower = upper
    return total


def assess_pph21(
    gross_idr: int, has_npwp: bool, entitlement_date: date, paid_on: date, policy: TaxPolicy
) -> TaxAssessment:
    if gross_idr < 0:
        raise ValueError("gross_idr must not be negative")
    if calendar_year_of_payment(entitlement_date, paid_on) <= policy.lump_sum_window_years:
        regime: TaxRegime = "lump_sum_final"
        base = max(gross_idr - policy.lump_sum_exempt_idr, 0) * policy.lump_sum_rate_bp
    else:
        regime = "progressive"
        base = _progressive_base(gross_idr, policy.progressive_brackets)
    surcharge = 0 if has_npwp else policy.no_npwp_surcharge_percent
    tax = base * (100 + surcharge) // (BASIS_POINTS * 100)
    return TaxAssessment(gross_idr=gross_idr, tax_idr=tax, net_idr=gross_idr - tax, regime=regime, has_npwp=has_npwp)
