from datetime import date

import pytest

from jmo_payout.domain.tax import Bracket, TaxPolicy, assess_pph21, calendar_year_of_payment
from jmo_payout.settings import PayoutSettings

POLICY = PayoutSettings().tax_policy()
ENTITLED = date(2025, 3, 10)
SAME_YEAR = date(2025, 6, 1)
THIRD_YEAR = date(2027, 1, 1)


@pytest.mark.parametrize(
    ("gross", "npwp", "tax"),
    [
        (0, True, 0),
        (10_000_000, False, 0),
        (50_000_000, True, 0),
        (50_000_000, False, 0),
        # One rupiah above the exempt band: 5% (or 6%) of Rp1 floors to 0.
        (50_000_001, True, 0),
        (50_000_001, False, 0),
        (50_000_019, True, 0),  # 0.95
        (50_000_020, True, 1),  # 1.00
        (50_000_016, False, 0),  # 0.96
        (50_000_017, False, 1),  # 1.02
        (60_000_000, True, 500_000),
        (60_000_000, False, 600_000),
        (250_000_000, True, 10_000_000),
        (250_000_000, False, 12_000_000),
    ],
)
def test_lump_sum_within_two_calendar_years(gross: int, npwp: bool, tax: int) -> None:
    result = assess_pph21(gross, npwp, ENTITLED, SAME_YEAR, POLICY)
    assert result.regime == "lump_sum_final"
    assert (result.tax_idr, result.net_idr) == (tax, gross - tax)


@pytest.mark.parametrize(
    ("gross", "npwp", "tax"),
    [
        (50_000_000, True, 2_500_000),  # no exempt band in the progressive regime
        (60_000_000, True, 3_000_000),
        (60_000_000, False, 3_600_000),
        (60_000_001, True, 3_000_000),  # 15% of Rp1 floors to 0
        (60_000_007, True, 3_000_001),  # 1.05
        (300_000_000, True, 44_000_000),  # 3M + 28.5M + 12.5M
        (300_000_000, False, 52_800_000),
        (6_000_000_000, True, 1_794_000_000),  # 3M + 28.5M + 62.5M + 1,350M + 350M
    ],
)
def test_progressive_from_the_third_calendar_year(gross: int, npwp: bool, tax: int) -> None:
    result = assess_pph21(gross, npwp, ENTITLED, THIRD_YEAR, POLICY)
    assert result.regime == "progressive"
    assert (result.tax_idr, result.net_idr) == (tax, gross - tax)


def test_window_counts_calendar_years_not_anniversaries() -> None:
    late_december = date(2024, 12, 31)
    assert calendar_year_of_payment(late_december, date(2025, 12, 31)) == 2
    assert assess_pph21(60_000_000, True, late_december, date(2025, 12, 31), POLICY).regime == "lump_sum_final"
    # Barely a year after the entitlement, but already its third calendar year.
    assert assess_pph21(60_000_000, True, late_december, date(2026, 1, 1), POLICY).tax_idr == 3_000_000


def test_payment_dated_before_entitlement_counts_as_first_year() -> None:
    assert calendar_year_of_payment(date(2025, 5, 1), date(2024, 12, 1)) == 1


def test_negative_gross_is_refused() -> None:
    with pytest.raises(ValueError):
        assess_pph21(-1, True, ENTITLED, SAME_YEAR, POLICY)


def test_brackets_must_rise_and_end_open() -> None:
    with pytest.raises(ValueError):
        TaxPolicy(2, 0, 500, (Bracket(10, 100), Bracket(5, 200), Bracket(None, 300)), 20)
    with pytest.raises(ValueError):
        TaxPolicy(2, 0, 500, (Bracket(10, 100),), 20)


def test_rates_come_from_settings() -> None:
    doubled = PayoutSettings(tax_lump_sum_rate_bp=1000, tax_lump_sum_exempt_idr=0).tax_policy()
    assert assess_pph21(1_000_000, True, ENTITLED, SAME_YEAR, doubled).tax_idr == 100_000
