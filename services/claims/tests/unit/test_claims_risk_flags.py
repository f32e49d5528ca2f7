"""Flags from the risk service on a claim: review before payout, follow-up after, the hold for a verdict."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from jmo_claims.domain.claim import Claim, Status
from jmo_claims.domain.model import BankAccount, Estimate
from jmo_claims.domain.policy import ClaimPolicy
from jmo_claims.domain.review import ReviewDecision, RiskFlagsOpen
from jmo_claims.domain.risk import RISK_REVIEW, RISK_UNAVAILABLE, RiskFlag

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
ACCOUNT = BankAccount("014", "1234567890", "SITI AMINAH", "SITI AMINAH")
POLICY = ClaimPolicy()
FLAG = RiskFlag("f-1", "account_many_members", T0, {"distinct_members": 3})


def new_claim() -> Claim:
    return Claim.submit(
        claim_id="c-1",
        member_id="m-1",
        nik="3174011506850001",
        kpj="12345678901",
        reason="resignation",
        document_ids=("d-1",),
        verification_id="v-1",
        submitted_at=T0,
        sla_due_at=T0 + timedelta(days=1),
        estimated=Estimate(8_000_000, 0, 8_000_000),
        beneficiary_name="SITI AMINAH",
        bank_account=ACCOUNT,
    )


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_flag_before_the_balance_is_held_sends_the_claim_to_review_without_the_rule_for_the_member() -> None:
    claim = new_claim()
    assert claim.risk_flagged(FLAG, at(1)) == "held"
    claim.balance_reserved(8_000_000, at(2), POLICY)
    assert claim.verify(at(2), POLICY, ACCOUNT) is False
    assert (claim.status, claim.reason_code) == (Status.NEEDS_REVIEW, RISK_REVIEW)
    assert "account_many_members" not in claim.timeline[-1].note and "bank account" not in claim.timeline[-1].note


def test_a_flag_while_held_for_a_verdict_is_the_verdict() -> None:
    claim = new_claim()
    claim.balance_reserved(8_000_000, at(1), POLICY)
    assert claim.hold_for_verdict(at(1), 30) is True and claim.verdict_due_at == at(1) + timedelta(seconds=30)
    assert claim.risk_flagged(FLAG, at(2)) == "review"
    assert claim.status == Status.NEEDS_REVIEW and claim.verdict_due_at is None


def test_a_flag_is_kept_once() -> None:
    claim = new_claim()
    claim.risk_flagged(FLAG, at(1))
    assert claim.risk_flagged(FLAG, at(2)) == "repeated" and len(claim.risk_flags) == 1


@pytest.mark.parametrize("step", ["approved", "paying", "paid"])
def test_a_flag_after_approval_for_payment_is_recorded_for_follow_up(step: str) -> None:
    claim = new_claim()
    claim.balance_reserved(8_000_000, at(1), POLICY)
    claim.verify(at(1), POLICY, ACCOUNT)
    if step in ("paying", "paid"):
        claim.payout_initiated("p-1", 8_000_000, 0, 8_000_000, at(2))
    if step == "paid":
        claim.paid(8_000_000, 0, 8_000_000, at(3))
    status = claim.status
    assert claim.risk_flagged(FLAG, at(4)) == "after_payout"
    assert claim.status == status and claim.risk_flags[0].after_payout and claim.open_risk_flags == []


def test_an_officer_approves_only_once_the_flags_are_cleared() -> None:
    claim = new_claim()
    claim.risk_flagged(FLAG, at(1))
    claim.balance_reserved(8_000_000, at(2), POLICY)
    claim.verify(at(2), POLICY, ACCOUNT)
    decision = ReviewDecision.taken("approve", "identity_confirmed", "", "officer-1", at(3))
    with pytest.raises(RiskFlagsOpen):
        claim.decide_review(decision)
    assert claim.risk_flag_cleared("f-1", "officer-1", "same family account", at(4)) is True
    assert claim.risk_flag_cleared("f-1", "officer-1", "again", at(5)) is False
    assert claim.decide_review(replace(decision, decided_at=at(6))) is True
    assert claim.status == Status.APPROVED


def test_a_claim_never_waits_without_a_configured_wait_and_a_missing_verdict_follows_the_settings() -> None:
    claim = new_claim()
    claim.balance_reserved(8_000_000, at(1), POLICY)
    assert claim.hold_for_verdict(at(1), 0) is False
    assert claim.hold_for_verdict(at(1), 10) is True
    assert claim.verdict_missing(at(2), POLICY, ACCOUNT, proceed=True) is True and claim.status == Status.APPROVED
    other = new_claim()
    other.balance_reserved(8_000_000, at(1), POLICY)
    other.hold_for_verdict(at(1), 10)
    assert other.verdict_missing(at(2), POLICY, ACCOUNT, proceed=False) is False
    assert (other.status, other.reason_code) == (Status.NEEDS_REVIEW, RISK_UNAVAILABLE)
