"""Manual review decisions, SLA escalation and the field-by-field identity checks (pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from jmo_claims.domain.claim import Claim, Status
from jmo_claims.domain.escalation import escalation_due_at, level_due
from jmo_claims.domain.mismatches import MATCH, MISMATCH, UNKNOWN, IdentityFacts, check_fields, nik_birth
from jmo_claims.domain.model import BankAccount, Estimate
from jmo_claims.domain.policy import ClaimPolicy
from jmo_claims.domain.review import AlreadyDecided, NotInReview, ReviewDecision, UnknownReviewReason
from jmo_claims.domain.sla import sla_due_at

ACCOUNT = BankAccount("014", "1234567890", "SITI AMINAH", "SITI AMINAH")
# Monday 5 January 2026, 09:00 WIB; 6 January is a Tuesday, no holidays that week.
T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
POLICY = ClaimPolicy(public_holidays=frozenset({date(2026, 1, 1)}))


def claim_in_review(gross: int = 20_000_000) -> Claim:
    claim = Claim.submit(
        claim_id="c-1",
        member_id="m-1",
        nik="3174015506900001",
        kpj="12345678901",
        reason="resignation",
        document_ids=("d-1",),
        verification_id="v-1",
        submitted_at=T0,
        sla_due_at=sla_due_at(T0, gross, POLICY),
        estimated=Estimate(gross, 0, gross),
        beneficiary_name="SITI AMINAH",
        bank_account=ACCOUNT,
    )
    claim.balance_reserved(gross, T0 + timedelta(minutes=1), POLICY)
    assert claim.verify(T0 + timedelta(minutes=2), POLICY, ACCOUNT) is False
    claim.changes.clear()
    return claim


def decision(
    kind: str = "approve",
    code: str = "identity_confirmed",
    officer: str = "officer-1",
    note: str = "Checked by video call.",
) -> ReviewDecision:
    return ReviewDecision.taken(kind, code, note, officer, T0 + timedelta(hours=1))


# --- manual review -------------------------------------------------------------


def test_an_approval_moves_the_claim_on_with_the_officer_kept_off_the_members_note() -> None:
    claim = claim_in_review()
    assert claim.decide_review(decision()) is True
    assert claim.status == Status.APPROVED and claim.reason_code == "identity_confirmed"
    entry = claim.timeline[-1]
    assert entry.actor == "officer-1" and "officer-1" not in entry.note
    assert "Checked by video call." in entry.note and entry.note.startswith("Approved after review")
    # Published as a status change like any other move.
    assert [e.status for e in claim.changes] == [Status.APPROVED]


def test_a_rejection_closes_the_claim_and_frees_the_slot() -> None:
    claim = claim_in_review()
    assert claim.decide_review(decision("reject", "documents_invalid", note="The KTP photo is unreadable.")) is True
    assert claim.status == Status.REJECTED and not claim.open
    assert "released" in claim.timeline[-1].note and claim.reason_code == "documents_invalid"


def test_the_same_officer_repeating_the_decision_changes_nothing() -> None:
    claim = claim_in_review()
    claim.decide_review(decision())
    timeline = list(claim.timeline)
    assert claim.decide_review(decision(note="sent twice")) is False
    assert claim.timeline == timeline and claim.review is not None and claim.review.note == "Checked by video call."


@pytest.mark.parametrize(
    "second",
    [
        decision("reject", "documents_invalid"),  # the other way
        decision(officer="officer-2"),  # another officer, even agreeing
        decision(code="documents_verified"),  # another reason
    ],
)
def test_a_second_different_decision_is_refused(second: ReviewDecision) -> None:
    claim = claim_in_review()
    claim.decide_review(decision())
    with pytest.raises(AlreadyDecided) as refused:
        claim.decide_review(second)
    assert refused.value.code == "claim_already_decided" and refused.value.decided == decision()
    assert claim.status == Status.APPROVED


def test_a_claim_not_waiting_for_review_cannot_be_decided() -> None:
    claim = Claim.submit(
        claim_id="c-2",
        member_id="m-1",
        nik="3174015506900001",
        kpj="12345678901",
        reason="resignation",
        document_ids=("d-1",),
        verification_id="v-1",
        submitted_at=T0,
        sla_due_at=T0 + timedelta(days=1),
        estimated=Estimate(1, 0, 1),
        beneficiary_name="SITI AMINAH",
        bank_account=ACCOUNT,
    )
    with pytest.raises(NotInReview):
        claim.decide_review(decision())
    claim.balance_reserved(1, T0, POLICY)
    claim.verify(T0, POLICY, ACCOUNT)  # approved automatically
    with pytest.raises(AlreadyDecided):
        claim.decide_review(decision())


@pytest.mark.parametrize(
    "kind,code",
    [
        ("approve", "documents_invalid"),
        ("reject", "identity_confirmed"),
        ("approve", "nonsense"),
        ("maybe", "identity_confirmed"),
    ],
)
def test_reason_codes_belong_to_their_decision(kind: str, code: str) -> None:
    with pytest.raises(UnknownReviewReason):
        ReviewDecision.taken(kind, code, "", "officer-1", T0)


# --- SLA escalation ------------------------------------------------------------


def test_the_sla_is_breached_once_then_escalated_per_step_of_working_days() -> None:
    claim = claim_in_review()
    due = claim.sla_due_at
    # Five working days from Monday 5 January: Monday 12 January, 09:00 WIB.
    assert due == datetime(2026, 1, 12, 2, 0, tzinfo=UTC) and claim.next_escalation_at == due
    assert claim.escalate(due - timedelta(seconds=1), POLICY) is None
    assert claim.sla_breached_at is None and claim.escalation_level == 0

    first = claim.escalate(due + timedelta(minutes=5), POLICY)
    assert first is not None and (first.level, first.first_breach) == (1, True)
    assert claim.sla_breached_at == due + timedelta(minutes=5)
    assert claim.escalated_to == POLICY.sla_escalation_targets[0]
    entry = claim.timeline[-1]
    assert entry.kind == "sla_breach" and entry.status == Status.NEEDS_REVIEW and entry.reason_code == "sla_breached"
    assert entry.note.startswith("We are late") and POLICY.sla_escalation_targets[0] in entry.note
    # Not a move of the state machine: nothing to publish as ClaimStatusChanged.
    assert claim.changes == [] and claim.status == Status.NEEDS_REVIEW
    # Next level two working days later: Wednesday 14 January, same time.
    assert claim.next_escalation_at == datetime(2026, 1, 14, 2, 0, tzinfo=UTC)
    assert claim.escalate(due + timedelta(days=1), POLICY) is None

    second = claim.escalate(datetime(2026, 1, 14, 2, 0, tzinfo=UTC), POLICY)
    assert second is not None and (second.level, second.first_breach) == (2, False)
    assert claim.sla_breached_at == due + timedelta(minutes=5)  # the first breach stays
    assert claim.timeline[-1].reason_code == "sla_escalated" and claim.next_escalation_at is None
    assert claim.escalate(datetime(2026, 3, 1, tzinfo=UTC), POLICY) is None  # past the last level


def test_a_sweep_that_was_down_lands_on_the_level_due_now_in_one_step() -> None:
    claim = claim_in_review()
    late = claim.escalate(claim.sla_due_at + timedelta(days=30), POLICY)
    assert late is not None and late.level == 2 and late.first_breach
    assert [e.kind for e in claim.timeline].count("sla_breach") == 1


def test_weekends_and_holidays_do_not_count_towards_escalation() -> None:
    friday = datetime(2026, 1, 9, 2, 0, tzinfo=UTC)
    assert escalation_due_at(friday, 1, POLICY) == friday
    assert escalation_due_at(friday, 2, POLICY) == datetime(2026, 1, 13, 2, 0, tzinfo=UTC)  # Tuesday
    assert escalation_due_at(friday, 3, POLICY) is None
    assert level_due(friday, 0, friday + timedelta(days=3), POLICY) == 1  # Monday: still level 1


def test_a_late_paid_claim_keeps_its_breach_and_a_closed_one_is_never_escalated() -> None:
    claim = claim_in_review()
    claim.escalate(claim.sla_due_at + timedelta(hours=1), POLICY)
    claim.decide_review(decision())
    claim.payout_initiated("p-1", 20_000_000, 0, 20_000_000, claim.sla_due_at + timedelta(hours=2))
    claim.paid(20_000_000, 0, 20_000_000, claim.sla_due_at + timedelta(hours=3))
    assert claim.status == Status.PAID and claim.sla_breached_at is not None and claim.escalation_level == 1
    assert claim.escalate(claim.sla_due_at + timedelta(days=10), POLICY) is None and claim.escalation_level == 1


# --- field-by-field checks -------------------------------------------------------


def test_nik_encodes_birth_date_and_sex() -> None:
    assert nik_birth("3174015506900001") == (15, 6, 90, "F")  # day 55 = 15 + 40: a woman
    assert nik_birth("3174011506900001") == (15, 6, 90, "M")
    assert nik_birth("3174019906900001") is None and nik_birth("31740155069000x1") is None


def test_every_field_is_compared_with_its_sources() -> None:
    facts = IdentityFacts(
        claim_nik="3174015506900001",
        ktp_name="Siti Aminah",
        ktp_birth_date=date(1990, 6, 15),
        ktp_sex="F",
        card_nik="3174015506900001",
        card_name="SITI  AMINAH",
        card_birth_date=date(1990, 6, 16),
        profile_name="SITI AMINAH",
        claim_account=BankAccount("014", "1234567890", "SITI AMINAH", "SITI AMINA"),
        current_account=BankAccount("008", "9999999999999", "SITI AMINAH", "SITI AMINAH"),
    )
    checks = {c.field: c for c in check_fields(facts)}
    assert list(checks) == [
        "full_name",
        "birth_date",
        "nik",
        "nik_birth_date",
        "bank_account_holder_name",
        "bank_account",
    ]
    assert checks["full_name"].result == MATCH  # case and spacing do not count
    assert checks["birth_date"].result == MISMATCH and "1990-06-16" in checks["birth_date"].message
    assert checks["nik"].result == MATCH and checks["nik_birth_date"].result == MATCH
    assert checks["bank_account_holder_name"].result == MISMATCH
    assert dict(checks["bank_account_holder_name"].values) == {"bank_inquiry": "SITI AMINA", "ktp": "Siti Aminah"}
    assert checks["bank_account"].result == MISMATCH


def test_missing_sources_are_unknown_not_a_match() -> None:
    checks = {c.field: c for c in check_fields(IdentityFacts(claim_nik="3174011506900001", card_name="BUDI"))}
    assert checks["full_name"].result == UNKNOWN and "ktp" in checks["full_name"].message
    assert checks["nik_birth_date"].result == UNKNOWN
    sex = check_fields(IdentityFacts(claim_nik="3174011506900001", ktp_birth_date=date(1990, 6, 15), ktp_sex="F"))
    assert {c.field: c.result for c in sex}["nik_birth_date"] == MISMATCH  # a man's NIK on a woman's KTP
