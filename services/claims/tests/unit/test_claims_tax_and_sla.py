"""The PPh 21 lump-sum estimate and the working-day SLA."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from jmo_claims.domain.policy import ClaimPolicy
from jmo_claims.domain.sla import add_working_days, sla_due_at, sla_working_days
from jmo_claims.domain.tax import estimate, lump_sum_tax

POLICY = ClaimPolicy()


@pytest.mark.parametrize(
    "gross,npwp,tax",
    [
        (0, True, 0),
        (50_000_000, True, 0),
        (50_000_000, False, 0),
        (50_000_001, True, 0),  # 5% of Rp1 rounds down to nothing
        (50_000_001, False, 0),
        (50_000_017, True, 0),  # 0.85 -> 0
        (50_000_017, False, 1),  # 1.02 -> 1: the 20% surcharge shows
        (50_000_020, True, 1),
        (60_000_000, True, 500_000),
        (60_000_000, False, 600_000),
        (250_000_000, True, 10_000_000),
    ],
)
def test_lump_sum_tax(gross: int, npwp: bool, tax: int) -> None:
    assert lump_sum_tax(gross, npwp, POLICY) == tax


def test_estimate_nets_the_tax() -> None:
    e = estimate(60_000_001, False, POLICY)
    assert (e.gross_idr, e.tax_idr, e.net_idr) == (60_000_001, 600_000, 59_400_001)


def test_threshold_and_rates_come_from_the_policy() -> None:
    policy = ClaimPolicy(lump_sum_tax_free_idr=0, lump_sum_tax_rate_npwp_pct=10)
    assert lump_sum_tax(1_000, True, policy) == 100


def test_one_working_day_up_to_ten_million_five_above() -> None:
    assert sla_working_days(10_000_000, POLICY) == 1
    assert sla_working_days(10_000_001, POLICY) == 5


def test_friday_plus_one_working_day_is_monday() -> None:
    # Friday 9 January 2026, 10:00 WIB (03:00 UTC).
    submitted = datetime(2026, 1, 9, 3, 0, tzinfo=UTC)
    assert sla_due_at(submitted, 1_000_000, POLICY) == datetime(2026, 1, 12, 3, 0, tzinfo=UTC)


def test_weekend_and_holiday_are_skipped() -> None:
    policy = ClaimPolicy(public_holidays=frozenset({date(2026, 8, 17)}))
    # Friday 14 August 2026 + 1 working day: Saturday, Sunday, Monday 17 August (Independence Day) -> Tuesday.
    submitted = datetime(2026, 8, 14, 2, 30, tzinfo=UTC)
    assert sla_due_at(submitted, 5_000_000, policy) == datetime(2026, 8, 18, 2, 30, tzinfo=UTC)
    # Five working days from the same Friday: 18, 19, 20, 21, 24 August.
    assert sla_due_at(submitted, 20_000_000, policy) == datetime(2026, 8, 24, 2, 30, tzinfo=UTC)


def test_days_are_counted_in_jakarta_time() -> None:
    # Thursday 18:00 UTC is already Friday 01:00 WIB, so the next working day is Monday.
    submitted = datetime(2026, 1, 8, 18, 0, tzinfo=UTC)
    assert sla_due_at(submitted, 1_000_000, POLICY) == datetime(2026, 1, 11, 18, 0, tzinfo=UTC)


def test_default_holiday_list_has_idul_fitri_2026() -> None:
    from jmo_claims.settings import ClaimsSettings

    policy = ClaimsSettings().policy()
    # Friday 20 March 2026; 21-22 March (Idul Fitri) fall on the weekend, 23 March is a working day.
    assert add_working_days(date(2026, 3, 18), 1, policy) == date(2026, 3, 20)
    assert add_working_days(date(2026, 12, 24), 1, policy) == date(2026, 12, 28)
