"""Reservation, debit, release and merge rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from jmo_balance.domain.merges import Verification, check_verification, merge_id_for, plan_merge
from jmo_balance.domain.model import Card, CardFigures
from jmo_balance.domain.reservations import (
    CARD_MERGED,
    CARD_NOT_FOUND,
    DEBITED,
    NO_BALANCE,
    OPEN,
    OPEN_CLAIM_EXISTS,
    RELEASED,
    Refuse,
    Reservation,
    Reserve,
    can_release,
    decide_reservation,
    settle,
)
from jmo_shared.errors import DomainError, ErrorKind

NIK = "3174011201900001"
OTHER = "3174011201900002"
TODAY = date(2026, 6, 1)


def card(kpj: str = "11111111111", nik: str = NIK, **kw) -> Card:
    base = dict(nik=nik, full_name="Budi", employer_name="PT A", registered_on=date(2015, 1, 1))
    return Card(kpj=kpj, **{**base, **kw})


def figures(balance: int, reserved: int = 0, status: str = "active") -> CardFigures:
    return CardFigures(
        kpj="11111111111",
        employer="PT A",
        status=status,
        contributions_idr=balance,
        returns_idr=0,
        withdrawn_idr=0,
        balance_idr=balance,
        reserved_idr=reserved,
        merged_into="22222222222" if status == "merged" else None,
        credited_through=2025,
    )


# --- reservation ---------------------------------------------------------------


def test_a_full_claim_holds_the_available_balance() -> None:
    assert decide_reservation(card(), figures(10_000_000), NIK, None, None) == Reserve(10_000_000, 10_000_000)


def test_a_partial_claim_holds_a_floored_percentage() -> None:
    # 10% of 10,000,005 = 1,000,000.5 -> 1,000,000
    assert decide_reservation(card(), figures(10_000_005), NIK, None, 10) == Reserve(1_000_000, 10_000_005)
    assert decide_reservation(card(), figures(10_000_005), NIK, None, 30).amount_idr == 3_000_001


def test_a_partial_claim_never_holds_more_than_is_available() -> None:
    assert decide_reservation(card(), figures(1_000, reserved=900), NIK, None, 30).amount_idr == 100


@pytest.mark.parametrize(
    ("the_card", "the_figures", "open_claim", "code"),
    [
        (None, None, None, CARD_NOT_FOUND),
        (card(nik=OTHER), figures(1_000), None, CARD_NOT_FOUND),
        (Card(kpj="11111111111"), figures(1_000), None, CARD_NOT_FOUND),  # contributions, no registration yet
        (card(), figures(0, status="merged"), None, CARD_MERGED),
        (card(), figures(1_000), "claim-1", OPEN_CLAIM_EXISTS),
        (card(), figures(0), None, NO_BALANCE),
        (card(), figures(1_000, reserved=1_000), None, NO_BALANCE),
    ],
)
def test_refusals(the_card, the_figures, open_claim, code) -> None:
    decision = decide_reservation(the_card, the_figures, NIK, open_claim, None)
    assert isinstance(decision, Refuse) and decision.reason_code == code


# --- debit and release ---------------------------------------------------------


def hold(status: str = OPEN, amount: int = 5_000_000) -> Reservation:
    return Reservation(claim_id="c-1", member_id="m-1", nik=NIK, kpj="11111111111", amount_idr=amount, status=status)


def test_a_settled_payout_debits_an_open_hold_once() -> None:
    debit = settle(hold(), 5_000_000)
    assert debit is not None and debit.amount_idr == 5_000_000 and debit.anomaly is None
    assert settle(hold(status=DEBITED), 5_000_000) is None
    assert settle(None, 5_000_000) is None
    assert settle(hold(status=RELEASED), 5_000_000) is None


def test_a_payout_above_the_hold_is_debited_and_flagged() -> None:
    debit = settle(hold(amount=100), 150)
    assert debit.amount_idr == 150 and debit.anomaly


def test_only_an_open_hold_is_released() -> None:
    assert can_release(hold())
    assert not can_release(hold(status=DEBITED))
    assert not can_release(None)


# --- merges --------------------------------------------------------------------

A, B, C = "11111111111", "22222222222", "33333333333"


def cards(**overrides: Card) -> dict[str, Card]:
    base = {A: card(A), B: card(B, registered_on=date(2018, 1, 1)), C: card(C, registered_on=date(2012, 1, 1))}
    base.update(overrides)
    return base


def test_the_first_card_receives_the_money_when_active() -> None:
    plan = plan_merge([B, A, C], cards(), NIK, TODAY, set())
    assert (plan.target, plan.sources) == (B, (A, C))


def test_an_ended_first_card_gives_way_to_the_oldest_active_one() -> None:
    ended = cards(**{B: card(B, ended_on=date(2020, 1, 1))})
    plan = plan_merge([B, A, C], ended, NIK, TODAY, set())
    assert (plan.target, plan.sources) == (C, (B, A))


@pytest.mark.parametrize(
    ("requested", "the_cards", "held", "code", "kind"),
    [
        ([A, A], cards(), set(), "duplicate_kpj", ErrorKind.INVALID),
        ([A], cards(), set(), "too_few_cards", ErrorKind.INVALID),
        ([A, "44444444444"], cards(), set(), "card_not_found", ErrorKind.NOT_FOUND),
        ([A, B], cards(**{B: card(B, nik=OTHER)}), set(), "card_not_found", ErrorKind.NOT_FOUND),
        (
            [A, B],
            cards(**{B: card(B, merged_into=C, merged_on=date(2025, 1, 1))}),
            set(),
            "card_already_merged",
            ErrorKind.CONFLICT,
        ),
        ([A, B], cards(), {B}, "open_claim_reservation", ErrorKind.CONFLICT),
    ],
)
def test_merge_refusals(requested, the_cards, held, code, kind) -> None:
    with pytest.raises(DomainError) as err:
        plan_merge(requested, the_cards, NIK, TODAY, held)
    assert (err.value.code, err.value.kind) == (code, kind)


NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)


def verification(**kw) -> Verification:
    base = dict(
        verification_id="v-1", member_id="m-1", nik=NIK, purpose="balance_merge", expires_at=NOW + timedelta(minutes=5)
    )
    return Verification(**{**base, **kw})


def test_a_fresh_verification_of_this_member_for_a_merge_passes() -> None:
    check_verification(verification(), "m-1", NIK, NOW, "mrg_1")
    check_verification(verification(used_by="mrg_1"), "m-1", NIK, NOW, "mrg_1")


@pytest.mark.parametrize(
    ("v", "code"),
    [
        (None, "verification_not_found"),
        (verification(member_id="m-2"), "verification_not_found"),
        (verification(purpose="claim"), "verification_wrong_purpose"),
        (verification(expires_at=NOW), "verification_expired"),
        (verification(used_by="mrg_other"), "verification_used"),
    ],
)
def test_verification_refusals(v, code) -> None:
    with pytest.raises(DomainError) as err:
        check_verification(v, "m-1", NIK, NOW, "mrg_1")
    assert err.value.code == code


def test_the_merge_id_follows_from_the_verification() -> None:
    assert merge_id_for(NIK, "v-1") == merge_id_for(NIK, "v-1")
    assert merge_id_for(NIK, "v-1") != merge_id_for(NIK, "v-2")
    assert merge_id_for(NIK, "v-1") != merge_id_for(OTHER, "v-1")
