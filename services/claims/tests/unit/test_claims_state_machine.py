"""The claim's state machine: legal moves, refused moves, repeats, the review rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jmo_claims.domain.claim import ALLOWED, Claim, IllegalTransition, Status
from jmo_claims.domain.model import BankAccount, Estimate
from jmo_claims.domain.policy import ClaimPolicy

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
ACCOUNT = BankAccount("014", "1234567890", "SITI AMINAH", "SITI AMINAH")
POLICY = ClaimPolicy()


def new_claim(reason: str = "resignation", gross: int = 8_000_000) -> Claim:
    return Claim.submit(
        claim_id="c-1",
        member_id="m-1",
        nik="3174011506850001",
        kpj="12345678901",
        reason=reason,
        document_ids=("d-1",),
        verification_id="v-1",
        submitted_at=T0,
        sla_due_at=T0 + timedelta(days=1),
        estimated=Estimate(gross, 0, gross),
        beneficiary_name="SITI AMINAH",
        bank_account=ACCOUNT,
    )


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_happy_path_keeps_a_timeline_in_order() -> None:
    claim = new_claim()
    claim.balance_reserved(8_000_000, at(1), POLICY)
    assert claim.verify(at(2), POLICY, ACCOUNT) is True
    claim.payout_initiated("p-1", 8_000_000, 0, 8_000_000, at(3))
    claim.paid(8_000_000, 0, 8_000_000, at(4))
    assert [e.status for e in claim.timeline] == [
        Status.SUBMITTED,
        Status.VERIFYING,
        Status.APPROVED,
        Status.PAYING,
        Status.PAID,
    ]
    assert [e.at for e in claim.timeline] == [T0, at(1), at(2), at(3), at(4)]
    assert claim.changes == claim.timeline
    assert not claim.open and claim.net_idr == 8_000_000 and claim.payout_id == "p-1"


def test_amounts_follow_the_claim_from_estimate_to_payout() -> None:
    claim = new_claim(gross=60_000_000)
    assert (claim.gross_idr, claim.amounts_source) == (60_000_000, "estimate")
    claim.balance_reserved(60_000_000, at(1), POLICY)
    # Without an NPWP the held amount is taxed at 6% above Rp50,000,000.
    assert (claim.gross_idr, claim.tax_idr, claim.net_idr) == (60_000_000, 600_000, 59_400_000)
    assert claim.amounts_source == "reservation"
    claim.status = Status.APPROVED
    claim.payout_initiated("p-1", 60_000_000, 500_000, 59_500_000, at(2))
    assert (claim.tax_idr, claim.amounts_source) == (500_000, "payout")


def test_above_the_app_cap_goes_to_review_not_refusal() -> None:
    claim = new_claim(gross=15_000_001)
    claim.balance_reserved(15_000_001, at(1), POLICY)
    assert claim.verify(at(2), POLICY, ACCOUNT) is False
    assert claim.status == Status.NEEDS_REVIEW and claim.reason_code == "above_app_cap"
    assert "Rp15.000.000" in claim.timeline[-1].note and claim.open


def test_exactly_the_cap_is_approved() -> None:
    claim = new_claim(gross=15_000_000)
    claim.balance_reserved(15_000_000, at(1), POLICY)
    assert claim.verify(at(2), POLICY, ACCOUNT) and claim.status == Status.APPROVED


def test_death_claims_and_changed_accounts_are_reviewed() -> None:
    death = new_claim(reason="death")
    death.balance_reserved(1_000, at(1), POLICY)
    death.verify(at(2), POLICY, ACCOUNT)
    assert death.reason_code == "heir_payee_review"
    moved = new_claim()
    moved.balance_reserved(1_000, at(1), POLICY)
    moved.verify(at(2), POLICY, BankAccount("008", "1234567890123", "SITI AMINAH", "SITI AMINAH"))
    assert moved.status == Status.NEEDS_REVIEW and moved.reason_code == "bank_account_changed"


def test_rejection_keeps_its_reason_code() -> None:
    claim = new_claim()
    claim.reject("no_balance", "nothing to pay", at(1))
    assert claim.status == Status.REJECTED and claim.reason_code == "no_balance" and not claim.open
    assert claim.timeline[-1].reason_code == "no_balance"


def test_payout_failure_tells_the_member_what_to_fix() -> None:
    claim = new_claim()
    claim.balance_reserved(1_000, at(1), POLICY)
    claim.verify(at(2), POLICY, ACCOUNT)
    claim.payout_initiated("p-1", 1_000, 0, 1_000, at(3))
    claim.payout_failed("AC01", "account not found", at(4))
    assert claim.status == Status.PAYOUT_FAILED and claim.reason_code == "AC01"
    assert "does not exist" in claim.timeline[-1].note and "tax-bank" in claim.timeline[-1].note


@pytest.mark.parametrize("current", list(Status))
def test_every_move_not_in_the_table_is_refused(current: Status) -> None:
    for target in Status:
        claim = new_claim()
        claim.status = current
        if target in ALLOWED[current]:
            claim.move(target, at(1))
            assert claim.status == target
        else:
            with pytest.raises(IllegalTransition):
                claim.move(target, at(1))
            assert claim.status == current


def test_paid_is_final() -> None:
    claim = new_claim()
    claim.status = Status.PAID
    with pytest.raises(IllegalTransition):
        claim.payout_failed("AC04", "", at(1))


def test_repeated_or_late_steps_are_recognised() -> None:
    claim = new_claim()
    claim.status = Status.PAID
    assert claim.has_reached(Status.PAYING) and claim.has_reached(Status.PAID)
    assert claim.has_reached(Status.VERIFYING)
    assert not claim.has_reached(Status.PAYOUT_FAILED)
    claim.status = Status.NEEDS_REVIEW
    assert claim.has_reached(Status.VERIFYING) and not claim.has_reached(Status.PAYING)
