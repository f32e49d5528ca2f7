"""Eligibility per claim reason, on fixed dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from jmo_claims.domain.eligibility import REASONS, assess, assess_member, local_today
from jmo_claims.domain.model import Card, Employment, Member
from jmo_claims.domain.policy import ClaimPolicy
from jmo_shared.clock import FixedClock

POLICY = ClaimPolicy()
KPJ = "12345678901"


def card(
    employment: Employment | None = None,
    registered_on: date | None = date(2010, 1, 4),
    balance: int | None = 20_000_000,
    available: int | None = None,
) -> Card:
    return Card(
        kpj=KPJ,
        registered_on=registered_on,
        employer_name="PT Maju",
        employment=employment,
        balance_idr=balance,
        available_idr=balance if available is None else available,
    )


def member(*cards: Card, birth_date: date | None = date(1985, 6, 15), **kw) -> Member:
    return Member(nik="3174011506850001", birth_date=birth_date, cards=cards or (card(),), **kw)


def on(day: date) -> date:
    # Through the clock, as the service does: 23:30 UTC is already the next day in Jakarta.
    return local_today(FixedClock(datetime.combine(day, datetime.min.time(), UTC)).now(), POLICY)


def check(m: Member, reason: str, today: date, npwp: bool = False):
    return assess(m, m.cards[0], reason, today, npwp, POLICY)


def codes(result) -> list[str]:
    return [u.code for u in result.unmet]


def test_today_is_a_jakarta_date() -> None:
    late_evening_utc = FixedClock(datetime(2026, 3, 9, 18, 0, tzinfo=UTC))
    assert local_today(late_evening_utc.now(), POLICY) == date(2026, 3, 10)


class TestRetirement:
    def test_eligible_on_the_56th_birthday_not_the_day_before(self) -> None:
        m = member(birth_date=date(1970, 3, 12))
        before = check(m, "retirement", on(date(2026, 3, 11)))
        assert not before.eligible and codes(before) == ["retirement_age_not_reached"]
        assert before.eligible_from == date(2026, 3, 12)
        assert "12 March 2026" in before.unmet[0].message
        assert check(m, "retirement", on(date(2026, 3, 12))).eligible

    def test_employer_reported_retirement_counts_before_56(self) -> None:
        ended = Employment(ended_on=date(2025, 12, 31), cause="retirement", letter_date=date(2025, 11, 1))
        m = member(card(ended), birth_date=date(1975, 1, 1))
        result = check(m, "retirement", date(2026, 1, 5))
        assert result.eligible and result.eligible_from == date(2025, 12, 31)

    def test_unknown_birth_date_says_so(self) -> None:
        result = check(member(birth_date=None), "retirement", date(2026, 1, 5))
        assert codes(result) == ["birth_date_unknown"] and result.eligible_from is None

    def test_leap_day_birthday(self) -> None:
        m = member(birth_date=date(1972, 2, 29))
        assert check(m, "retirement", date(2028, 2, 28)).eligible_from == date(2028, 2, 29)
        assert check(member(birth_date=date(1968, 2, 29)), "retirement", date(2024, 2, 28)).eligible_from == date(
            2024, 2, 29
        )


class TestAfterEmployment:
    resigned = Employment(ended_on=date(2026, 1, 31), cause="resignation", letter_date=date(2026, 1, 10))
    terminated = Employment(ended_on=date(2026, 1, 31), cause="termination", letter_date=date(2026, 1, 5))
    contract = Employment(ended_on=date(2026, 1, 31), cause="contract_end", letter_date=date(2026, 1, 31))

    def test_resignation_one_month_after_the_letter_date(self) -> None:
        m = member(card(self.resigned))
        waiting = check(m, "resignation", date(2026, 2, 9))
        assert codes(waiting) == ["waiting_period"] and waiting.eligible_from == date(2026, 2, 10)
        assert "10 February 2026" in waiting.unmet[0].message
        assert check(m, "resignation", date(2026, 2, 10)).eligible

    def test_termination_one_month_after_the_end_date(self) -> None:
        m = member(card(self.terminated))
        # 31 January + 1 month is the last day of February.
        assert check(m, "termination", date(2026, 2, 27)).eligible_from == date(2026, 2, 28)
        assert not check(m, "termination", date(2026, 2, 27)).eligible
        assert check(m, "termination", date(2026, 2, 28)).eligible

    def test_contract_end_the_day_after_it_ended(self) -> None:
        m = member(card(self.contract))
        assert codes(check(m, "contract_end", date(2026, 1, 31))) == ["waiting_period"]
        result = check(m, "contract_end", date(2026, 2, 1))
        assert result.eligible and result.eligible_from == date(2026, 2, 1)

    def test_still_employed(self) -> None:
        for reason in ("resignation", "termination", "contract_end"):
            assert codes(check(member(), reason, date(2026, 6, 1))) == ["employment_not_ended"]

    def test_another_cause_points_to_the_right_reason(self) -> None:
        result = check(member(card(self.terminated)), "resignation", date(2026, 6, 1))
        assert codes(result) == ["employment_ended_otherwise"] and "termination" in result.unmet[0].message


@pytest.mark.parametrize(
    "reason,docs",
    [
        ("leaving_indonesia", ("kpj_card", "passport", "no_longer_working_statement")),
        ("disability", ("kpj_card", "ktp", "doctor_statement")),
        ("death", ("kpj_card", "death_certificate", "heir_ktp", "heir_statement")),
    ],
)
def test_document_reasons_are_eligible_with_their_documents(reason: str, docs: tuple[str, ...]) -> None:
    result = check(member(), reason, date(2026, 6, 1))
    assert result.eligible and result.required_documents == docs
    assert result.paid_to == ("heirs" if reason == "death" else "member")


def test_death_lists_birth_certificates_when_heirs_are_children() -> None:
    result = check(member(), "death", date(2026, 6, 1))
    assert ("birth_certificate", "when the heirs are children") in result.conditional_documents


class TestPartial:
    def test_ten_years_from_the_first_card(self) -> None:
        older = Card(
            kpj="11111111111",
            registered_on=date(2015, 3, 2),
            balance_idr=1_000_000,
            available_idr=1_000_000,
            employment=Employment(date(2018, 1, 1), "resignation", date(2017, 12, 1)),
        )
        newer = card(registered_on=date(2019, 1, 1))
        m = Member(nik="3174011506850001", cards=(newer, older))
        too_early = assess(m, newer, "partial_10", date(2025, 3, 1), False, POLICY)
        assert codes(too_early) == ["membership_too_short"] and too_early.eligible_from == date(2025, 3, 2)
        assert assess(m, newer, "partial_10", date(2025, 3, 2), False, POLICY).eligible

    def test_only_while_working(self) -> None:
        ended = Employment(date(2024, 1, 1), "resignation", date(2023, 12, 1))
        assert "not_working" in codes(check(member(card(ended)), "partial_30", date(2026, 1, 5)))

    def test_once_only(self) -> None:
        assert codes(check(member(partial_taken=True), "partial_10", date(2026, 1, 5))) == ["partial_already_claimed"]

    def test_estimates_are_a_share_of_the_balance(self) -> None:
        m = member(card(balance=12_345_679))
        assert check(m, "partial_10", date(2026, 1, 5)).estimated.gross_idr == 1_234_567
        thirty = check(m, "partial_30", date(2026, 1, 5))
        assert thirty.estimated.gross_idr == 3_703_703 and thirty.partial_percent == 30
        assert "bank_housing_documents" in thirty.required_documents


def test_full_claim_estimate_is_the_available_balance_with_tax() -> None:
    m = member(
        card(balance=80_000_000, available=60_000_000, registered_on=date(2010, 1, 4)), birth_date=date(1960, 1, 1)
    )
    with_npwp = check(m, "retirement", date(2026, 1, 5), npwp=True).estimated
    assert (with_npwp.gross_idr, with_npwp.tax_idr, with_npwp.net_idr) == (60_000_000, 500_000, 59_500_000)
    assert check(m, "retirement", date(2026, 1, 5), npwp=False).estimated.tax_idr == 600_000


def test_no_balance_and_unknown_balance_block() -> None:
    m = member(birth_date=date(1960, 1, 1))
    assert codes(check(member(card(balance=0), birth_date=date(1960, 1, 1)), "retirement", date(2026, 1, 5))) == [
        "no_balance"
    ]
    assert codes(check(member(card(balance=None), birth_date=date(1960, 1, 1)), "retirement", date(2026, 1, 5))) == [
        "balance_unknown"
    ]
    assert check(m, "retirement", date(2026, 1, 5)).eligible


def test_every_reason_for_every_card() -> None:
    second = Card(kpj="22222222222", registered_on=date(2020, 1, 1), balance_idr=5, available_idr=5)
    m = member(card(), second)
    results = assess_member(m, date(2026, 1, 5), False, POLICY)
    assert len(results) == 2 * len(REASONS)
    assert {r.kpj for r in assess_member(m, date(2026, 1, 5), False, POLICY, kpj="22222222222")} == {"22222222222"}
