"""Development returns, checked against figures computed by hand (see each test's arithmetic)."""

from __future__ import annotations

from datetime import date

from jmo_balance.domain.returns import MonthFlow, RateTable, compute_figures, parse_period, year_returns

RATES = RateTable(by_year={2016: 719, 2017: 600, 2020: 563}, default_bp=563)


def c(amount: int) -> MonthFlow:
    return MonthFlow(contributions_idr=amount)


def test_a_january_contribution_earns_eleven_twelfths_of_the_year() -> None:
    # 1,000,000 * 5.63% * 11/12 = 51,608.33 -> floor 51,608
    f = compute_figures({(2020, 1): c(1_000_000)}, RATES, date(2021, 1, 1))
    assert (f.contributions_idr, f.returns_idr, f.balance_idr) == (1_000_000, 51_608, 1_051_608)
    assert f.credited_through == 2020


def test_a_december_contribution_earns_nothing_that_year() -> None:
    f = compute_figures({(2020, 12): c(1_000_000)}, RATES, date(2021, 1, 1))
    assert f.returns_idr == 0


def test_the_current_year_is_not_credited_until_it_ends() -> None:
    f = compute_figures({(2020, 1): c(1_000_000)}, RATES, date(2020, 12, 31))
    assert (f.contributions_idr, f.returns_idr, f.credited_through) == (1_000_000, 0, 2019)


def test_returns_compound_year_on_year() -> None:
    # 2016: 1,200,000 * 7.19% * 11/12 = 79,090 exactly
    # 2017: (1,200,000 + 79,090) * 6.00% = 76,745.4 -> 76,745
    flows = {(2016, 1): c(1_200_000)}
    assert compute_figures(flows, RATES, date(2017, 6, 30)).returns_idr == 79_090
    f = compute_figures(flows, RATES, date(2018, 3, 15))
    assert f.returns_idr == 79_090 + 76_745
    assert f.balance_idr == 1_355_835
    assert [(y.year, y.opening_idr, y.rate_bp, y.returns_idr) for y in f.years] == [
        (2016, 0, 719, 79_090),
        (2017, 1_279_090, 600, 76_745),
    ]


def test_a_year_of_monthly_contributions() -> None:
    # 100,000 a month: month m earns 12-m months; 11+10+...+0 = 66 month-amounts
    # 100,000 * 66 * 5.63% / 12 = 30,965 exactly
    flows = {(2020, m): c(100_000) for m in range(1, 13)}
    f = compute_figures(flows, RATES, date(2021, 2, 1))
    assert (f.contributions_idr, f.returns_idr) == (1_200_000, 30_965)


def test_rounding_is_a_floor_per_year_and_unlisted_years_use_the_default_rate() -> None:
    # 2019 (default 5.63%): 1,000 * 11/12 * 5.63% = 51.6 -> 51
    # 2020 (5.63%): 1,051 * 5.63% = 59.17 -> 59
    f = compute_figures({(2019, 1): c(1_000)}, RATES, date(2021, 5, 1))
    assert [y.returns_idr for y in f.years] == [51, 59]
    assert f.returns_idr == 110


def test_a_withdrawal_stops_earning_from_the_end_of_its_month() -> None:
    # December 2020 contribution: nothing in 2020. 2021 (default 5.63%): the 1,000,000 is
    # on the card for January-June (6 months): 1,000,000 * 6/12 * 5.63% = 28,150.
    flows = {(2020, 12): c(1_000_000), (2021, 6): MonthFlow(withdrawals_idr=1_000_000)}
    f = compute_figures(flows, RATES, date(2022, 1, 1))
    assert (f.contributions_idr, f.withdrawn_idr, f.returns_idr) == (1_000_000, 1_000_000, 28_150)
    assert f.balance_idr == 28_150


def test_flows_after_the_as_of_month_are_not_counted() -> None:
    flows = {(2020, 1): c(1_000_000), (2021, 3): c(500_000), (2021, 4): c(500_000)}
    f = compute_figures(flows, RATES, date(2021, 3, 1))
    assert f.contributions_idr == 1_500_000
    assert f.returns_idr == 51_608


def test_order_of_arrival_does_not_matter() -> None:
    months = [(2018, 7), (2016, 2), (2019, 12), (2017, 5)]
    forward = compute_figures({m: c(250_000) for m in months}, RATES, date(2026, 1, 1))
    backward = compute_figures({m: c(250_000) for m in reversed(months)}, RATES, date(2026, 1, 1))
    assert forward == backward


def test_no_flows_no_money() -> None:
    f = compute_figures({}, RATES, date(2026, 1, 1))
    assert (f.balance_idr, f.credited_through) == (0, 2025)


def test_a_year_return_is_never_negative() -> None:
    assert year_returns(0, {1: MonthFlow(withdrawals_idr=10)}, 563) == 0


def test_parse_period() -> None:
    assert parse_period("2024-03") == (2024, 3)
