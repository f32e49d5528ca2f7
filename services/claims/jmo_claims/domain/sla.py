"""Working-day SLA of a claim: weekends and the configured public holidays do not count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from .policy import ClaimPolicy


def is_working_day(day: date, policy: ClaimPolicy) -> bool:
    return day.weekday() < 5 and day not in policy.public_holidays


def add_working_days(start: date, days: int, policy: ClaimPolicy) -> date:
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, policy):
            counted += 1
    return day


def sla_working_days(gross_idr: int, policy: ClaimPolicy) -> int:
    """The app promises one working day for small claims; the regulation allows five."""
    if gross_idr <= policy.sla_fast_max_idr:
        return policy.sla_fast_working_days
    return policy.sla_standard_working_days


def working_days_after(at: datetime, days: int, policy: ClaimPolicy) -> datetime:
    """The same local time, that many working days later (in UTC).

    Days are counted in Jakarta time, where the holidays and office days are.
    """
    local = at.astimezone(policy.tz)
    day = add_working_days(local.date(), days, policy)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=policy.tz).astimezone(UTC)


def sla_due_at(submitted_at: datetime, gross_idr: int, policy: ClaimPolicy) -> datetime:
    """Due at the same local time, that many working days after submission."""
    return working_days_after(submitted_at, sla_working_days(gross_idr, policy), policy)
