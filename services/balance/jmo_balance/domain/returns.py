"""Development returns ("hasil pengembangan") of a JHT balance: pure arithmetic.

Conventions (stated once, relied on everywhere):
- Money moves in monthly steps. A contribution for period YYYY-MM, and a
  withdrawal (a paid claim) dated in month M, take effect at the end of that month.
- Within a year the rate is simple and pro rata by month: an amount that is on
  the card for k of the year's 12 months earns rate * k/12. A contribution for
  month m therefore earns the year's rate for the 12 - m months left (December
  earns nothing that year); the opening balance earns the whole year.
  Equivalently, a year's return is rate/12 times the sum of the 12 month balances.
- Returns are credited once a year, at the end of the year, and compound: the
  next year's opening balance includes them. Only completed years are credited:
  as of any day in year Y, returns are credited through Y - 1.
- Rounding: integer rupiah, floored once per card (or merged card group) per
  year on the exact integer numerator, so the result never depends on floats.
- Flows count by month: figures as of a date include every flow of that date's month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

Month = tuple[int, int]  # (year, month)

BASIS_POINTS = 10_000
MONTHS = 12


@dataclass(frozen=True)
class RateTable:
    """The declared yearly return rate, in basis points (5.63% = 563)."""

    by_year: Mapping[int, int]
    default_bp: int

    def rate_bp(self, year: int) -> int:
        return self.by_year.get(year, self.default_bp)


@dataclass(frozen=True)
class MonthFlow:
    contributions_idr: int = 0
    withdrawals_idr: int = 0

    @property
    def net_idr(self) -> int:
        return self.contributions_idr - self.withdrawals_idr

    def __add__(self, other: MonthFlow) -> MonthFlow:
        return MonthFlow(self.contributions_idr + other.contributions_idr, self.withdrawals_idr + other.withdrawals_idr)


@dataclass(frozen=True)
class YearCredit:
    year: int
    opening_idr: int
    rate_bp: int
    returns_idr: int


@dataclass(frozen=True)
class Figures:
    contributions_idr: int = 0
    returns_idr: int = 0
    withdrawn_idr: int = 0
    # Last year whose returns are credited (as_of.year - 1).
    credited_through: int | None = None
    years: tuple[YearCredit, ...] = field(default_factory=tuple)

    @property
    def balance_idr(self) -> int:
        return self.contributions_idr + self.returns_idr - self.withdrawn_idr


def parse_period(period: str) -> Month:
    year, month = period.split("-")
    return int(year), int(month)


def merge_flows(flow_sets: Iterable[Mapping[Month, MonthFlow]]) -> dict[Month, MonthFlow]:
    """One pot from several cards' flows (a merged card group)."""
    out: dict[Month, MonthFlow] = {}
    for flows in flow_sets:
        for month, flow in flows.items():
            out[month] = out.get(month, MonthFlow()) + flow
    return out


def year_returns(opening_idr: int, flows_in_year: Mapping[int, MonthFlow], rate_bp: int) -> int:
    """One year's return: floor(rate/12 * sum of the 12 month balances), never negative."""
    month_balances_sum = opening_idr * MONTHS + sum(
        flow.net_idr * (MONTHS - month) for month, flow in flows_in_year.items()
    )
    return max(0, month_balances_sum * rate_bp // (MONTHS * BASIS_POINTS))


def compute_figures(flows: Mapping[Month, MonthFlow], rates: RateTable, as_of: date) -> Figures:
    """Contributions, credited returns and withdrawals of one pot as of a date."""
    cutoff: Month = (as_of.year, as_of.month)
    seen = {m: f for m, f in flows.items() if m <= cutoff}
    credited_through = as_of.year - 1
    contributions = sum(f.contributions_idr for f in seen.values())
    withdrawn = sum(f.withdrawals_idr for f in seen.values())
    if not seen:
        return Figures(credited_through=credited_through)

    by_year: dict[int, dict[int, MonthFlow]] = {}
    for (year, month), flow in seen.items():
        by_year.setdefault(year, {})[month] = flow

    opening = 0
    returns_total = 0
    credits: list[YearCredit] = []
    for year in range(min(by_year), credited_through + 1):
        in_year = by_year.get(year, {})
        rate = rates.rate_bp(year)
        credited = year_returns(opening, in_year, rate)
        credits.append(YearCredit(year, opening, rate, credited))
        returns_total += credited
        opening += sum(f.net_idr for f in in_year.values()) + credited
    return Figures(
        contributions_idr=contributions,
        returns_idr=returns_total,
        withdrawn_idr=withdrawn,
        credited_through=credited_through,
        years=tuple(credits),
    )
