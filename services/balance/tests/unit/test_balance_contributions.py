"""A run of contributions reduced to one posting per card and month, what it adds to each card, and
the card document as the ledger's write will leave it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from jmo_balance.adapters.repository import (
    card_from_doc,
    card_updates,
    hold_increments,
    posted_periods,
    with_credits,
    with_increments,
    withdrawal_increments,
)
from jmo_balance.domain.contributions import Posting, card_credits, new_postings
from jmo_balance.domain.model import balance_sheet
from jmo_balance.domain.returns import MonthFlow, RateTable

A, B, C = "11111111111", "22222222222", "33333333333"


def test_the_first_posting_of_a_card_and_month_stands_and_later_ones_are_repeats() -> None:
    run = [
        Posting(A, "2026-01", 114_000),
        Posting(A, "2026-02", 114_000),
        Posting(A, "2026-01", 140_000),  # re-posted under a new event id: the first stands
        Posting(B, "2026-01", 57_000),  # same month, another card: not a repeat
        Posting(A, "2026-01", 114_000),
    ]
    assert new_postings(run, {}) == [0, 1, 3]


def test_months_the_card_had_before_the_run_are_not_credited_again() -> None:
    run = [
        Posting(A, "2025-12", 114_000),
        Posting(A, "2026-01", 114_000),
        Posting(B, "2025-12", 57_000),
        Posting(A, "2025-12", 120_000),
    ]
    assert new_postings(run, {A: {"2025-12"}, B: set()}) == [1, 2]
    assert new_postings(run, {A: {"2025-12", "2026-01"}, B: {"2025-12"}}) == []


def test_an_empty_run_has_nothing() -> None:
    assert new_postings([], {A: {"2026-01"}}) == []
    assert card_credits([], []) == {}


def test_credits_add_only_the_given_postings_per_card_and_month() -> None:
    run = [
        Posting(A, "2026-01", 114_000),
        Posting(B, "2026-03", 57_000),
        Posting(A, "2026-02", 120_000),
        Posting(C, "2025-12", 90_000),  # a month C had: not credited
    ]
    assert card_credits(run, [2, 0, 1]) == {A: {"2026-01": 114_000, "2026-02": 120_000}, B: {"2026-03": 57_000}}


def test_cards_come_in_the_order_of_their_first_credited_posting() -> None:
    run = [Posting(C, "2026-01", 1), Posting(B, "2026-01", 1), Posting(C, "2026-02", 1), Posting(A, "2026-01", 1)]
    assert list(card_credits(run, {3, 2, 1})) == [B, C, A]
    assert list(card_credits(run, range(4))) == [C, B, A]


def test_a_month_given_twice_is_summed_not_dropped() -> None:
    # new_postings never gives a month twice; the sum keeps the arithmetic honest if a caller did.
    run = [Posting(A, "2026-01", 100), Posting(A, "2026-01", 50)]
    assert card_credits(run, [0, 1]) == {A: {"2026-01": 150}}


# --- the card documents (adapters): what was posted, and the card after its credits ----------------


def test_a_month_counts_as_posted_once_it_has_a_contribution_even_a_zero_one() -> None:
    doc = {
        "_id": A,
        "flows": {
            "2025-01": {"c": 114_000},
            "2025-02": {"c": 0},
            "2025-03": {"d": 50_000},
            "2025-04": {"c": 114_000, "d": 10_000},
        },
    }
    assert posted_periods(doc) == {"2025-01", "2025-02", "2025-04"}  # 2025-03: a withdrawal only
    assert posted_periods({"_id": A}) == set() == posted_periods(None)


def test_credits_add_to_the_months_as_the_database_inc_does_without_touching_the_read_document() -> None:
    doc = {
        "_id": A,
        "nik": "3174011201900001",
        "registered": True,
        "registered_on": "2015-01-05",
        "flows": {"2025-01": {"c": 114_000}, "2025-03": {"d": 50_000}},
        "version": 4,
        "figures": {"balance_idr": 1},
    }
    after = with_credits(doc, {"2025-02": 100_000, "2025-03": 20_000, "2025-01": 1_000})
    assert after["flows"] == {
        "2025-01": {"c": 115_000},
        "2025-02": {"c": 100_000},
        "2025-03": {"d": 50_000, "c": 20_000},
    }
    assert doc["flows"] == {"2025-01": {"c": 114_000}, "2025-03": {"d": 50_000}}
    assert (after["version"], after["figures"]) == (4, {"balance_idr": 1})  # what decides the next version
    assert with_credits(doc, None) is doc and with_credits(doc, {}) is doc
    card = card_from_doc(after)
    assert card.flows[(2025, 3)] == MonthFlow(20_000, 50_000)
    (figures,) = balance_sheet([card], RateTable({}, 0), date(2025, 12, 31))
    assert figures.balance_idr == 115_000 + 100_000 + 20_000 - 50_000


def test_a_card_gets_one_update_with_its_credits_and_its_figures() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    figures = {A: {"version": 3, "status": "active"}, C: {"version": 8, "status": "active"}}
    ops = card_updates({A: {"2026-01": 5}, B: {"2026-02": 7}}, figures, now)
    assert list(ops) == [A, B, C]
    assert ops[A] == {
        "$inc": {"flows.2026-01.c": 5},
        "$set": {"updated_at": now, "version": 3, "status": "active"},
        "$setOnInsert": {"registered": False, "reserved_idr": 0, "merge_sources": []},
    }
    # A card not there yet starts unregistered, at version 0, nobody merged into it.
    assert ops[B]["$setOnInsert"] == {"registered": False, "reserved_idr": 0, "version": 0, "merge_sources": []}
    assert ops[C] == {"$set": {"version": 8, "status": "active"}}  # a pot's other card: figures only


def test_a_hold_and_a_withdrawal_go_in_the_same_update_as_the_figures_they_change() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    doc = {"_id": A, "reserved_idr": 300_000, "flows": {"2026-11": {"c": 114_000}}, "version": 2}
    withdrawal = withdrawal_increments("2026-12", 250_000, 300_000)
    after = with_increments(doc, withdrawal)
    assert after["reserved_idr"] == 0
    assert after["flows"] == {"2026-11": {"c": 114_000}, "2026-12": {"d": 250_000}}
    # The document as read is left alone: it says what decides the next version.
    assert doc == {"_id": A, "reserved_idr": 300_000, "flows": {"2026-11": {"c": 114_000}}, "version": 2}
    held = with_increments({"_id": B}, hold_increments(75_000))  # a card that never had a hold
    assert held["reserved_idr"] == 75_000
    assert with_increments(doc, {}) is doc

    figures = {A: {"version": 3, "figures": {"reserved_idr": 0}}}
    ops = card_updates({}, figures, now, {A: withdrawal, B: hold_increments(75_000)})
    assert ops[A] == {
        "$inc": {"flows.2026-12.d": 250_000, "reserved_idr": -300_000},
        "$set": {"updated_at": now, "version": 3, "figures": {"reserved_idr": 0}},
    }
    # Incremented only (its figures did not move): the $inc still goes, and no card is created.
    assert ops[B] == {"$inc": {"reserved_idr": 75_000}, "$set": {"updated_at": now}}
    # A credited card's increments join its credits in the one $inc.
    both = card_updates({A: {"2026-12": 5}}, {}, now, {A: {**hold_increments(-10), "flows.2026-12.c": 2}})
    assert both[A]["$inc"] == {"flows.2026-12.c": 7, "reserved_idr": -10}
