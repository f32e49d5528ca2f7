"""Preconditions of a claim submission: each refusal with its code."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from jmo_claims.domain.model import BankAccount, Card, Document, Employment, FaceMatch, Member, Profile
from jmo_claims.domain.policy import ClaimPolicy
from jmo_claims.domain.submission import ClaimRefused, SubmissionFacts, SubmitClaim, decide
from jmo_shared.errors import ErrorKind

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
POLICY = ClaimPolicy()
KPJ = "12345678901"
ENDED = Employment(ended_on=date(2026, 1, 15), cause="resignation", letter_date=date(2026, 1, 10))
ACCOUNT = BankAccount("014", "1234567890", "SITI AMINAH", "SITI AMINAH", changed_at=NOW - timedelta(days=30))
CMD = SubmitClaim(
    member_id="m-1",
    nik="3174011506850001",
    reason="resignation",
    kpj=KPJ,
    document_ids=("d-1", "d-2", "d-3"),
    verification_id="v-1",
)


def facts(**changes) -> SubmissionFacts:
    base = SubmissionFacts(
        member=Member(
            nik=CMD.nik,
            birth_date=date(1985, 6, 15),
            cards=(Card(KPJ, date(2015, 1, 1), "PT Maju", ENDED, 8_000_000, 8_000_000),),
        ),
        profile=Profile(data_update_completed=True, full_name="SITI AMINAH", npwp=None, bank_account=ACCOUNT),
        face=FaceMatch("v-1", "m-1", "claim", NOW + timedelta(minutes=5)),
        face_already_used=False,
        documents={
            "d-1": Document("d-1", "kpj_card", "m-1"),
            "d-2": Document("d-2", "ktp", "m-1"),
            "d-3": Document("d-3", "resignation_letter", "m-1"),
        },
    )
    return replace(base, **changes)


def refused(f: SubmissionFacts, cmd: SubmitClaim = CMD) -> list[str]:
    with pytest.raises(ClaimRefused) as info:
        decide(cmd, f, NOW, POLICY)
    return [r.code for r in info.value.refusals]


def test_all_preconditions_met() -> None:
    assessment = decide(CMD, facts(), NOW, POLICY)
    assert assessment.eligible and assessment.estimated.gross_idr == 8_000_000


def test_card_of_someone_else() -> None:
    assert refused(facts(), replace(CMD, kpj="99999999999")) == ["card_not_found"]


def test_open_claim_is_a_conflict() -> None:
    with pytest.raises(ClaimRefused) as info:
        decide(CMD, facts(has_open_claim=True), NOW, POLICY)
    assert info.value.refusals[0].code == "open_claim_exists" and info.value.refusals[0].kind is ErrorKind.CONFLICT


def test_not_eligible_yet() -> None:
    member = facts().member
    early = replace(member, cards=(replace(member.cards[0], employment=replace(ENDED, letter_date=date(2026, 2, 20))),))
    assert refused(facts(member=early)) == ["waiting_period"]


def test_documents_missing_or_not_owned() -> None:
    docs = facts().documents | {"d-3": Document("d-3", "resignation_letter", "m-2")}
    assert refused(facts(documents=docs)) == ["document_not_found", "documents_missing"]


def test_data_update_bank_account_and_cooling_off() -> None:
    assert refused(facts(profile=None)) == ["data_update_required"]
    profile = facts().profile
    assert refused(facts(profile=replace(profile, data_update_completed=False))) == ["data_update_required"]
    assert refused(facts(profile=replace(profile, bank_account=None))) == ["bank_account_missing"]
    unconfirmed = replace(ACCOUNT, inquiry_name=None)
    assert refused(facts(profile=replace(profile, bank_account=unconfirmed))) == ["bank_account_unconfirmed"]
    fresh = replace(ACCOUNT, changed_at=NOW - timedelta(days=2, hours=23))
    assert refused(facts(profile=replace(profile, bank_account=fresh))) == ["bank_account_cooling_off"]
    # Three days later it is usable; or at once when a face match confirmed the change.
    decide(
        CMD,
        facts(profile=replace(profile, bank_account=replace(fresh, changed_at=NOW - timedelta(days=3)))),
        NOW,
        POLICY,
    )
    decide(CMD, facts(profile=replace(profile, bank_account=replace(fresh, face_verification_id="v-0"))), NOW, POLICY)


def test_face_match_rules() -> None:
    face = facts().face
    assert refused(facts(face=None)) == ["verification_not_found"]
    assert refused(facts(face=replace(face, member_id="m-2"))) == ["verification_not_found"]
    assert refused(facts(face=replace(face, purpose="profile_update"))) == ["verification_wrong_purpose"]
    assert refused(facts(face=replace(face, expires_at=NOW))) == ["verification_expired"]
    assert refused(facts(face_already_used=True)) == ["verification_already_used"]


def test_npwp_above_fifty_million() -> None:
    member = facts().member
    rich = replace(member, cards=(replace(member.cards[0], balance_idr=50_000_001, available_idr=50_000_001),))
    assert refused(facts(member=rich)) == ["npwp_required"]
    decide(CMD, facts(member=rich, profile=replace(facts().profile, npwp="3174011506850001")), NOW, POLICY)
    exactly = replace(member, cards=(replace(member.cards[0], balance_idr=50_000_000, available_idr=50_000_000),))
    decide(CMD, facts(member=exactly), NOW, POLICY)


def test_partial_percent_must_match_the_reason() -> None:
    assert "partial_percent_not_allowed" in refused(facts(), replace(CMD, partial_percent=10))


def test_every_refusal_is_reported_at_once() -> None:
    codes = refused(facts(profile=None, face=None, documents={}))
    assert codes == [
        "document_not_found",
        "document_not_found",
        "document_not_found",
        "documents_missing",
        "data_update_required",
        "verification_not_found",
    ]
