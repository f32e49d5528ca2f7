from datetime import UTC, datetime, timedelta

import pytest

from jmo_profile.domain.errors import Refusal
from jmo_profile.domain.wizard import STEPS, Update, check_face_verification

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def new_update() -> Update:
    return Update(update_id="u1", member_id="m1", nik="3171011708450001", created_at=NOW)


def test_steps_are_entered_in_order_and_named_when_skipped():
    update = new_update()
    assert update.next_step == "membership"
    with pytest.raises(Refusal) as refused:
        update.enter("contact", {}, NOW)
    assert refused.value.code == "step_out_of_order" and refused.value.kind == "conflict"
    assert refused.value.extra == {"next_step": "membership"}
    update.enter("membership", {"confirmed": True}, NOW)
    assert update.step_statuses()[:3] == [
        {"step": "membership", "status": "completed"},
        {"step": "face", "status": "current"},
        {"step": "contact", "status": "pending"},
    ]


def test_a_done_step_may_be_entered_again():
    update = new_update()
    update.enter("membership", {"confirmed": True}, NOW)
    update.enter("face", {"verification_id": "v1"}, NOW)
    update.enter("membership", {"confirmed": True, "again": True}, NOW)
    assert update.data("membership")["again"] is True
    assert update.next_step == "contact"


def test_confirm_needs_every_step_and_closes_the_update():
    update = new_update()
    with pytest.raises(Refusal) as refused:
        update.confirm(NOW, {})
    assert refused.value.code == "update_incomplete"
    for step in STEPS:
        update.enter(step, {}, NOW)
    update.confirm(NOW, {"status": "confirmed"})
    assert update.status == "confirmed"
    with pytest.raises(Refusal) as refused:
        update.enter("contact", {}, NOW)
    assert refused.value.code == "update_closed"


def verification(**overrides):
    doc = {
        "member_id": "m1",
        "nik": "3171011708450001",
        "purpose": "profile_update",
        "verified_at": NOW,
        "expires_at": NOW + timedelta(minutes=10),
    }
    doc.update(overrides)
    return doc


@pytest.mark.parametrize(
    "doc, code",
    [
        (None, "verification_not_found"),
        (verification(member_id="m2"), "verification_not_found"),
        (verification(nik="3171011708450002"), "verification_not_found"),
        (verification(purpose="claim"), "verification_wrong_purpose"),
        (verification(expires_at=NOW), "verification_expired"),
        (verification(used_by_update="u0"), "verification_already_used"),
    ],
)
def test_face_verification_must_be_the_members_own_fresh_one(doc, code):
    with pytest.raises(Refusal) as refused:
        check_face_verification(doc, "m1", "3171011708450001", NOW, "u1")
    assert refused.value.code == code
    assert refused.value.errors[0].field == "verification_id"


def test_a_valid_face_verification_passes_even_if_used_by_this_update():
    check_face_verification(verification(used_by_update="u1"), "m1", "3171011708450001", NOW, "u1")
