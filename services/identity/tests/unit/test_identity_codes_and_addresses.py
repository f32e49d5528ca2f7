"""Pure rules: one-time codes, client addresses behind proxies, contact masking, copies of the KTP photo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jmo_identity.domain.accounts import Account, recovery_restriction
from jmo_identity.domain.biometrics import FacePolicy
from jmo_identity.domain.client_address import UNKNOWN, client_address, parse_networks
from jmo_identity.domain.codes import (
    Challenge,
    CodePolicy,
    Outcome,
    code_matches,
    hash_code,
    new_code,
)
from jmo_identity.domain.contact import mask_contact
from jmo_identity.domain.lockout import LockoutPolicy
from jmo_identity.face.fingerprint import hash_distance

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PEPPER = b"test-pepper"


def challenge(**overrides) -> Challenge:
    values = dict(
        challenge_id="m1:confirm_contact:email",
        member_id="m1",
        purpose="confirm_contact",
        channel="email",
        destinations=(("email", "a@example.com"),),
        code_hash=hash_code(PEPPER, "m1:confirm_contact:email", "123456"),
        attempts=0,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=10),
        sent_at=(NOW,),
    )
    values.update(overrides)
    return Challenge(**values)  # type: ignore[arg-type]


# --- codes -----------------------------------------------------------------


def test_codes_are_six_digits_and_vary():
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 190


def test_a_code_is_checked_against_its_keyed_hash_only():
    stored = hash_code(PEPPER, "c1", "042917")
    assert code_matches(PEPPER, "c1", " 042917 ", stored)
    assert not code_matches(PEPPER, "c1", "042918", stored)
    assert not code_matches(PEPPER, "c2", "042917", stored)  # bound to its challenge
    assert not code_matches(b"other-pepper", "c1", "042917", stored)  # and to the key
    assert not code_matches(PEPPER, "c1", "42917", stored)
    assert "042917" not in stored


@pytest.mark.parametrize(
    ("overrides", "at", "matches", "outcome"),
    [
        ({}, NOW + timedelta(minutes=9), True, Outcome.OK),
        ({}, NOW + timedelta(minutes=9), False, Outcome.WRONG),
        ({}, NOW + timedelta(minutes=10), True, Outcome.EXPIRED),
        ({"attempts": 5}, NOW, True, Outcome.EXHAUSTED),
        ({"attempts": 4}, NOW, True, Outcome.OK),
        ({"consumed_at": NOW}, NOW, True, Outcome.USED),
    ],
)
def test_judging_a_presented_code(overrides, at, matches, outcome):
    assert CodePolicy().judge(challenge(**overrides), matches, at) is outcome


def test_resending_waits_for_the_cool_down_then_the_hourly_cap():
    policy = CodePolicy(resend_cooldown=timedelta(seconds=60), max_sends=3, send_window=timedelta(hours=1))
    first = challenge(sent_at=(NOW,))
    assert policy.send_refused_for(first, NOW + timedelta(seconds=20)) == timedelta(seconds=40)
    assert policy.send_refused_for(first, NOW + timedelta(seconds=60)) is None
    # A code for another address (a contact change) skips the cool-down, not the cap.
    assert policy.send_refused_for(first, NOW + timedelta(seconds=5), [("email", "b@example.com")]) is None

    sends = (NOW, NOW + timedelta(minutes=2), NOW + timedelta(minutes=4))
    capped = challenge(sent_at=sends)
    assert policy.send_refused_for(capped, NOW + timedelta(minutes=10)) == timedelta(minutes=50)
    assert policy.send_refused_for(capped, NOW + timedelta(minutes=61)) is None
    assert policy.sends_after(capped, NOW + timedelta(minutes=61)) == (*sends[1:], NOW + timedelta(minutes=61))
    # A used challenge starts afresh.
    assert policy.send_refused_for(challenge(sent_at=sends, consumed_at=NOW), NOW) is None
    assert policy.send_refused_for(None, NOW) is None


# --- client addresses ------------------------------------------------------------

TRUSTED = parse_networks(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("203.0.113.5", [], "203.0.113.5"),
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # not our proxy: the header is the client's word
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.0.0.9"], "198.51.100.1"),  # forged left part ignored
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # several headers read as one list
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["garbage, 10.0.0.9"], "10.0.0.9"),
        ("10.0.0.2", ["[2001:db8::7]:443"], "2001:db8::7"),
        ("10.0.0.2", ["198.51.100.9:5123"], "198.51.100.9"),
        ("::ffff:203.0.113.5", [], "203.0.113.5"),
        (None, ["198.51.100.1"], UNKNOWN),
    ],
)
def test_the_client_address(peer, headers, expected):
    assert client_address(peer, headers, TRUSTED) == expected


def test_no_trusted_proxies_by_default_means_the_peer():
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


def test_a_bad_network_is_refused_by_the_settings():
    from jmo_identity.settings import IdentitySettings

    with pytest.raises(ValueError):
        IdentitySettings(trusted_proxies=["10.0.0.0/33"])


def test_the_address_limit_is_a_sliding_window_never_permanent():
    limit = LockoutPolicy(max_failures=3, window=timedelta(minutes=15), delay_step_seconds=0)
    hits = [NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)]
    assert limit.retry_after(hits[:2], NOW + timedelta(minutes=3)) is None
    assert limit.retry_after(hits, NOW + timedelta(minutes=3)) == timedelta(minutes=12)
    assert limit.retry_after(hits, NOW + timedelta(minutes=15)) is None


# --- contacts and accounts --------------------------------------------------------


def test_masked_contacts_are_recognisable_not_readable():
    assert mask_contact("email", "budi.santoso@example.co.id") == "bu***@example.co.id"
    masked = mask_contact("phone", "+6281234567890")
    assert masked.startswith("+62812") and masked.endswith("7890") and "3456" not in masked


def test_secrets_only_go_to_confirmed_contacts():
    account = Account(
        member_id="m",
        nik="3171011708450001",
        email="a@example.com",
        phone="+6281234567890",
        full_name="A",
        birth_date=NOW.date(),
        kpj_numbers=(),
        password_hash="x",
        created_at=NOW,
        phone_confirmed_at=NOW,
    )
    assert account.confirmed_contacts() == [("phone", "+6281234567890")]
    assert recovery_restriction(NOW, timedelta(hours=72)) == NOW + timedelta(days=3)


# --- copies of the KTP photo ---------------------------------------------------------


def test_a_copy_is_close_by_score_or_shares_the_photos_corners():
    policy = FacePolicy(copy_min_score=0.95, copy_min_matched_keypoints=50)
    assert policy.is_copy_of_reference(0.99, None)  # the reference has no fingerprint yet: the score alone
    assert policy.is_copy_of_reference(0.99, 3)
    assert policy.is_copy_of_reference(0.89, 50)  # a greyscale copy: lower score, the same corners
    assert policy.is_copy_of_reference(0.67, 66)  # a cropped copy, the lowest score measured for one
    assert not policy.is_copy_of_reference(0.94, 49)  # a new photo, however alike
    assert not policy.is_copy_of_reference(0.86, 11)
    assert not policy.is_copy_of_reference(0.86, None)


def test_the_copy_rule_follows_its_settings():
    strict = FacePolicy(copy_min_score=0.99, copy_min_matched_keypoints=120)
    assert not strict.is_copy_of_reference(0.97, 100)
    assert strict.is_copy_of_reference(0.97, 120)
    assert strict.is_copy_of_reference(0.99, 0)


def test_fingerprint_distance_counts_differing_bits():
    assert hash_distance("ffffffffffffffff", "ffffffffffffffff") == 0
    assert hash_distance("0000000000000000", "000000000000000f") == 4
    assert hash_distance("0000000000000000", "ffffffffffffffff") == 64
