"""Preferences, quiet hours, contacts and who gets what; retries with backoff."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from jmo_notify.domain import kinds as k
from jmo_notify.domain.contacts import ContactChange, ContactPoint, MemberContacts, apply_news, changes_between
from jmo_notify.domain.delivery import DEAD, PENDING, RetryPolicy, delivery_id
from jmo_notify.domain.planning import is_stale, plan_deliveries, plan_security_notice
from jmo_notify.domain.preferences import (
    Preferences,
    PreferencesInvalid,
    QuietHours,
    parse_preferences,
    preferences_from_doc,
    preferences_to_doc,
)

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 WIB
NIGHT = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 22:30 WIB
QUIET = QuietHours(time(21, 0), time(7, 0))


def test_quiet_hours_span_midnight_in_wib() -> None:
    assert QUIET.contains(NIGHT)
    assert not QUIET.contains(T0)
    assert QUIET.end_after(NIGHT) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 07:00 WIB next day
    early = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 05:00 WIB on the 3rd
    assert QUIET.end_after(early) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert QUIET.end_after(T0) == T0
    day = QuietHours(time(12, 0), time(13, 0))
    assert day.contains(datetime(2026, 3, 2, 5, 30, tzinfo=UTC)) and not day.contains(NIGHT)


def test_quiet_hours_hold_only_what_is_not_urgent() -> None:
    prefs = Preferences(quiet_hours=QUIET)
    assert prefs.deliver_after(k.CLAIM_PAID, NIGHT) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert prefs.deliver_after(k.PAYOUT_FAILED, NIGHT) == NIGHT
    assert prefs.deliver_after(k.SECURITY_CONTACT_CHANGED, NIGHT) == NIGHT
    assert Preferences().deliver_after(k.CLAIM_PAID, NIGHT) == NIGHT


def test_a_put_changes_what_it_names_and_keeps_the_rest() -> None:
    first = parse_preferences(
        {
            "language": "en",
            "channels": {"claim_paid": ["sms", "sms", "email"]},
            "quiet_hours": {"start": "21:00", "end": "07:00"},
        }
    )
    assert first.language == "en" and first.channels_for(k.CLAIM_PAID) == ("sms", "email")
    assert first.channels_for(k.CLAIM_SUBMITTED) == k.KINDS[k.CLAIM_SUBMITTED].default_channels
    second = parse_preferences({"channels": {"claim_submitted": []}}, first)
    assert second.language == "en" and second.quiet_hours == QUIET and second.channels_for(k.CLAIM_SUBMITTED) == ()
    assert parse_preferences({"quiet_hours": None}, second).quiet_hours is None
    assert preferences_from_doc(preferences_to_doc(second)) == second


def test_a_put_is_refused_field_by_field() -> None:
    with pytest.raises(PreferencesInvalid) as refused:
        parse_preferences(
            {
                "language": "fr",
                "channels": {"nope": ["email"], "claim_paid": ["fax"], k.SECURITY_CONTACT_CHANGED: []},
                "quiet_hours": {"start": "25:00", "end": "07:00"},
            }
        )
    assert {(f, c) for f, c, _ in refused.value.problems} == {
        ("language", "unsupported_language"),
        ("channels.nope", "unknown_kind"),
        ("channels.claim_paid", "unknown_channel"),
        (f"channels.{k.SECURITY_CONTACT_CHANGED}", "not_configurable"),
        ("quiet_hours", "invalid_time"),
    }
    with pytest.raises(PreferencesInvalid):
        parse_preferences({"quiet_hours": {"start": "07:00", "end": "07:00"}})


def test_security_notices_cannot_be_turned_off() -> None:
    prefs = Preferences(channels={k.SECURITY_CONTACT_CHANGED: ()})
    assert prefs.channels_for(k.SECURITY_CONTACT_CHANGED) == ("email", "sms")


def point(address: str, confirmed: bool, at: datetime) -> ContactPoint:
    return ContactPoint(address, confirmed, at)


def test_contacts_confirmed_by_a_data_update_and_never_replaced_by_older_news() -> None:
    c = MemberContacts("m1")
    c = apply_news(c, "a@x.id", "+6281111111111", False, T0)  # registered
    assert c.usable("email") is None and c.usable("sms") is None
    c = apply_news(c, "a@x.id", "+6281111111111", True, T0 + timedelta(hours=1))  # pengkinian data
    assert c.usable("email").address == "a@x.id" and c.usable("sms").address == "+6281111111111"
    # A registration seen late (another topic) does not undo the confirmation.
    late = apply_news(c, "a@x.id", "+6281111111111", False, T0 - timedelta(minutes=5))
    assert late.usable("email") is not None
    # An older address never replaces a newer one; a newer one replaces and carries its own confirmation.
    assert apply_news(c, "old@x.id", None, True, T0 - timedelta(days=1)).email.address == "a@x.id"
    newer = apply_news(c, "b@x.id", None, False, T0 + timedelta(days=1))
    assert newer.email.address == "b@x.id" and newer.usable("email") is None
    assert newer.phone == c.phone


def test_which_contacts_a_contact_change_replaced() -> None:
    c = MemberContacts("m1", point("a@x.id", True, T0), point("+6281111111111", True, T0))
    assert changes_between(c, "b@x.id", "+6281111111111") == [ContactChange("email", "a@x.id", "b@x.id")]
    assert changes_between(c, "a@x.id", "+6281111111111") == []
    assert [x.channel for x in changes_between(MemberContacts("m1"), "b@x.id", "+6282")] == ["email", "phone"]


def test_ordinary_notices_go_only_to_confirmed_contacts_on_the_chosen_channels() -> None:
    contacts = MemberContacts("m1", point("a@x.id", True, T0), point("+6281111111111", False, T0))
    prefs = Preferences(channels={k.CLAIM_PAID: ("email", "sms", "push")})
    planned, skipped = plan_deliveries(k.CLAIM_PAID, "m1", contacts, prefs, T0)
    assert [(p.channel, p.destination) for p in planned] == [("email", "a@x.id"), ("push", "m1")]
    assert [(s.channel, s.reason) for s in skipped] == [("sms", "unconfirmed")]
    planned, skipped = plan_deliveries(k.CLAIM_PAID, "m1", None, Preferences(), T0)
    assert [p.channel for p in planned] == ["push"] and [s.reason for s in skipped] == ["no_contact"]
    held, _ = plan_deliveries(k.CLAIM_PAID, "m1", contacts, Preferences(quiet_hours=QUIET), NIGHT)
    assert {p.not_before for p in held} == {datetime(2026, 3, 3, 0, 0, tzinfo=UTC)}


def test_security_notice_goes_to_the_old_and_the_new_contact_at_once() -> None:
    planned = plan_security_notice(
        "m1", [ContactChange("email", "a@x.id", "b@x.id"), ContactChange("phone", None, "+6282222222222")], NIGHT
    )
    assert [(p.channel, p.destination, p.recipient) for p in planned] == [
        ("email", "a@x.id", "old"),
        ("email", "b@x.id", "new"),
        ("sms", "+6282222222222", "new"),
        ("push", "m1", "member"),
    ]
    assert {p.not_before for p in planned} == {NIGHT}
    assert len({delivery_id("e1", p.channel, p.recipient) for p in planned}) == 4


def test_backoff_doubles_to_its_cap_then_the_delivery_is_dead() -> None:
    policy = RetryPolicy(base_seconds=5, max_seconds=60, max_attempts=6)
    assert [policy.delay(n).total_seconds() for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert policy.after_failure(1, T0) == (PENDING, T0 + timedelta(seconds=5))
    assert policy.after_failure(6, T0) == (DEAD, None)
    assert delivery_id("e1", "email") == "e1:email" and delivery_id("e1", "email", "old") == "e1:email:old"


def test_old_news_is_not_sent_out() -> None:
    assert not is_stale(T0 - timedelta(hours=71), T0, timedelta(hours=72))
    assert is_stale(T0 - timedelta(hours=73), T0, timedelta(hours=72))
