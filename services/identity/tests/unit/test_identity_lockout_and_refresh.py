from datetime import UTC, datetime, timedelta

from jmo_identity.domain.biometrics import FacePolicy
from jmo_identity.domain.lockout import LockoutPolicy
from jmo_identity.domain.refresh import (
    RefreshDecision,
    RefreshFamily,
    StoredRefreshToken,
    decide_refresh,
    hash_refresh_token,
    new_refresh_token,
)
from jmo_shared.clock import FixedClock

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
policy = LockoutPolicy(max_failures=5, window=timedelta(minutes=15))


def test_four_failures_do_not_lock_the_fifth_does():
    clock = FixedClock(T0)
    failures = []
    for _ in range(4):
        failures.append(clock.now())
        clock.advance(timedelta(seconds=30))
    assert policy.retry_after(failures, clock.now()) is None
    failures.append(clock.now())
    # Opens when the first of the five leaves the 15-minute window.
    assert policy.retry_after(failures, clock.now()) == timedelta(minutes=15) - timedelta(minutes=2)


def test_the_lock_is_temporary():
    failures = [T0 + timedelta(seconds=i) for i in range(5)]
    assert policy.retry_after(failures, T0 + timedelta(minutes=14)) is not None
    assert policy.retry_after(failures, T0 + timedelta(minutes=15, seconds=1)) is None


def test_failures_outside_the_window_do_not_count():
    old = [T0 - timedelta(minutes=20 + i) for i in range(10)]
    assert policy.retry_after(old + [T0], T0) is None


def test_failures_slow_down_before_the_lock():
    assert policy.delay_seconds([T0], T0) == 0
    assert policy.delay_seconds([T0] * 2, T0) == 0
    assert policy.delay_seconds([T0] * 4, T0) > policy.delay_seconds([T0] * 3, T0) > 0


def _family(revoked=None, expires=T0 + timedelta(days=90)):
    return RefreshFamily("fam", "member", expires_at=expires, revoked_at=revoked)


def _token(used=None, expires=T0 + timedelta(days=30)):
    return StoredRefreshToken("h", "fam", "member", expires_at=expires, used_at=used)


def test_a_fresh_token_rotates():
    assert decide_refresh(_token(), _family(), T0) is RefreshDecision.ROTATE


def test_a_spent_token_is_a_reuse():
    assert decide_refresh(_token(used=T0), _family(), T0 + timedelta(seconds=5)) is RefreshDecision.REUSED


def test_a_revoked_family_refuses_every_token_in_it():
    assert decide_refresh(_token(), _family(revoked=T0), T0) is RefreshDecision.REVOKED
    assert decide_refresh(_token(used=T0), _family(revoked=T0), T0) is RefreshDecision.REVOKED


def test_expiry_of_the_token_or_the_whole_login():
    assert decide_refresh(_token(expires=T0), _family(), T0) is RefreshDecision.EXPIRED
    assert decide_refresh(_token(), _family(expires=T0), T0) is RefreshDecision.EXPIRED


def test_refresh_tokens_are_random_and_stored_only_hashed():
    a, b = new_refresh_token(), new_refresh_token()
    assert a != b and len(a) >= 43
    assert hash_refresh_token(a) == hash_refresh_token(a) != hash_refresh_token(b)
    assert a not in hash_refresh_token(a)


def test_face_thresholds_per_purpose_and_the_budget_day():
    faces = FacePolicy(default_threshold=0.5, thresholds={"bank_account_change": 0.6}, daily_non_match_budget=5)
    assert faces.threshold("claim") == 0.5 and faces.threshold("bank_account_change") == 0.6
    assert faces.matched(0.55, "claim") and not faces.matched(0.55, "bank_account_change")
    # 18:00 UTC is already the next day in Jakarta (UTC+7).
    assert faces.budget_day(datetime(2025, 5, 1, 18, 0, tzinfo=UTC)).isoformat() == "2025-05-02"
    assert faces.budget_resets_in(datetime(2025, 5, 1, 16, 0, tzinfo=UTC)) == timedelta(hours=1)
    assert not faces.budget_exhausted(4) and faces.budget_exhausted(5)
