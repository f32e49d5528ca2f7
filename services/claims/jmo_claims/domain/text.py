"""How dates and amounts read in messages to members."""

from __future__ import annotations

from datetime import date, datetime

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def day(d: date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def moment(at: datetime) -> str:
    return f"{day(at.date())} {at:%H:%M}"


def rupiah(amount_idr: int) -> str:
    # Indonesian grouping: Rp15.000.000
    return "Rp" + f"{amount_idr:,}".replace(",", ".")
