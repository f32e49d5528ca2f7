"""Cards, merged pots, the primary card and the masked NIK."""

from __future__ import annotations

from datetime import date

from jmo_balance.domain.model import (
    ACTIVE,
    ENDED,
    MERGED,
    Card,
    balance_sheet,
    mask_nik,
    primary_card,
    total_idr,
)
from jmo_balance.domain.returns import MonthFlow, RateTable

RATES = RateTable(by_year={2020: 563}, default_bp=563)
NIK = "3174011201900001"


def card(kpj: str, **kw) -> Card:
    defaults = dict(nik=NIK, full_name="Budi", employer_name=f"PT {kpj}", registered_on=date(2019, 1, 1))
    return Card(kpj=kpj, **{**defaults, **kw})


def test_unregistered_cards_hold_money_but_are_not_shown() -> None:
    pending = Card(kpj="11111111111", flows={(2020, 1): MonthFlow(1_000)})
    assert balance_sheet([pending], RATES, date(2021, 1, 1)) == []


def test_holds_reduce_what_is_available_today_only() -> None:
    a = card("11111111111", flows={(2020, 1): MonthFlow(1_000_000)}, reserved_idr=400_000)
    (today,) = balance_sheet([a], RATES, date(2021, 1, 1))
    assert (today.balance_idr, today.reserved_idr, today.available_idr) == (1_051_608, 400_000, 651_608)
    (past,) = balance_sheet([a], RATES, date(2021, 1, 1), include_holds=False)
    assert past.available_idr == 1_051_608


def test_a_merged_card_pools_on_its_target_from_the_merge_day() -> None:
    a = card("11111111111", flows={(2020, 1): MonthFlow(1_000_000)})
    b = card("22222222222", flows={(2020, 1): MonthFlow(500_000)}, merged_into=a.kpj, merged_on=date(2021, 1, 1))
    before = {f.kpj: f for f in balance_sheet([a, b], RATES, date(2020, 12, 31))}
    assert before[b.kpj].status == ACTIVE and before[b.kpj].contributions_idr == 500_000
    after = {f.kpj: f for f in balance_sheet([a, b], RATES, date(2021, 1, 1))}
    assert after[b.kpj].status == MERGED and after[b.kpj].balance_idr == 0
    assert after[b.kpj].merged_into == a.kpj
    # The pot is floored once a year: 1,500,000 * 11/12 * 5.63% = 77,412.5 -> 77,412
    # (apart: 51,608 + 25,804 = 77,412; pooling can only gain the fractions, never lose).
    assert (after[a.kpj].contributions_idr, after[a.kpj].returns_idr) == (1_500_000, 77_412)
    assert total_idr(list(after.values())) == 1_577_412


def test_status_follows_the_day() -> None:
    a = card("11111111111", ended_on=date(2024, 3, 1))
    assert a.status_on(date(2024, 2, 29)) == ACTIVE
    assert a.status_on(date(2024, 3, 1)) == ENDED


def test_mask_nik() -> None:
    assert mask_nik("3174011201900001") == "3174********0001"


def test_primary_card_is_the_latest_merge_target() -> None:
    old = card("11111111111", registered_on=date(2010, 1, 1))
    new = card("22222222222", registered_on=date(2020, 1, 1))
    merged = card("33333333333", merged_into=old.kpj, merged_on=date(2024, 1, 1))
    assert primary_card([old, new, merged], date(2025, 1, 1)).kpj == old.kpj


def test_primary_card_is_the_most_recent_active_one_otherwise() -> None:
    old = card("11111111111", registered_on=date(2010, 1, 1))
    newer_ended = card("22222222222", registered_on=date(2022, 1, 1), ended_on=date(2023, 1, 1))
    assert primary_card([old, newer_ended], date(2025, 1, 1)).kpj == old.kpj
    assert primary_card([newer_ended], date(2025, 1, 1)).kpj == newer_ended.kpj
    assert primary_card([], date(2025, 1, 1)) is None


def test_the_books_turn_the_year_in_jakarta_time() -> None:
    from datetime import UTC, datetime

    from jmo_balance.service_layer.calendar import Calendar
    from jmo_shared.clock import FixedClock

    # 18:00 UTC on 31 December is 01:00 WIB on 1 January: last year's returns are due.
    calendar = Calendar(FixedClock(datetime(2025, 12, 31, 18, 0, tzinfo=UTC)), "Asia/Jakarta")
    assert calendar.today() == date(2026, 1, 1)
    a = card("11111111111", flows={(2025, 1): MonthFlow(1_200_000)})
    (figures,) = balance_sheet([a], RatesFor2025, calendar.today())
    # 1,200,000 * 11/12 * 5% = 55,000
    assert figures.returns_idr == 55_000


RatesFor2025 = RateTable(by_year={2025: 500}, default_bp=0)
