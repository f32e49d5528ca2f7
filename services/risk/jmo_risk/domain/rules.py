"""The risk rules: pure functions from what a table holds and one signal to the table's next value and a flag.

Each rule says in one sentence why it exists (RULES). Counts are sets of ids, not counters:
a signal delivered twice (faust is at-least-once) adds nothing, and a flag's id is made of
the rule, the subject, the window and the claim, so a replay cannot flag twice either.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ACCOUNT_MANY_MEMBERS = "account_many_members"
ACCOUNT_CHANGED_BEFORE_CLAIM = "account_changed_before_claim"
FACE_REFUSALS_NIK = "face_refusals_nik"
FACE_REFUSALS_ADDRESS = "face_refusals_address"
EMPLOYER_CLAIM_WAVE = "employer_claim_wave"
REGISTRATIONS_ADDRESS = "registrations_address"

# Why each rule exists (shown to officers with a flag, never to the member).
RULES: dict[str, str] = {
    ACCOUNT_MANY_MEMBERS: "One bank account receiving the JHT of several members is how mule accounts collect "
    "claims made with stolen or bought identities.",
    ACCOUNT_CHANGED_BEFORE_CLAIM: "A bank account changed shortly before a claim is the classic account-takeover "
    "pattern: the money is redirected just before it leaves.",
    FACE_REFUSALS_NIK: "Many failed or copied face matches on one NIK mean someone is trying photos of that "
    "member until one passes.",
    FACE_REFUSALS_ADDRESS: "Many failed or copied face matches from one client address mean one device is "
    "trying faces of many members.",
    EMPLOYER_CLAIM_WAVE: "A day with far more claims on one employer's cards than its usual rate is a wave of "
    "fake resignations, or an employer reporting terminations it did not make.",
    REGISTRATIONS_ADDRESS: "Many app registrations from one client address in an hour are accounts opened in bulk "
    "with identity data from elsewhere.",
}

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RiskPolicy:
    account_members_threshold: int = 3
    account_members_window_days: int = 30
    account_change_claim_window_hours: int = 72
    face_refusals_per_nik_hour: int = 5
    face_refusals_per_address_hour: int = 10
    employer_claims_min_per_day: int = 20
    employer_claims_factor: float = 5.0
    employer_baseline_days: int = 30
    registrations_per_address_hour: int = 20


@dataclass(frozen=True)
class Flag:
    rule: str
    subject: str
    window_start: datetime
    flagged_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    member_id: str | None = None
    nik: str | None = None
    claim_id: str | None = None

    @property
    def flag_id(self) -> str:
        """Deterministic: the same rule, subject, window and claim always give the same id."""
        raw = f"{self.rule}|{self.subject}|{self.window_start.isoformat()}|{self.claim_id or ''}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


def hash_account(key: bytes, bank_code: str, account_number: str) -> str:
    """A bank account as the rules see it: keyed hash of bank code and number, never the number itself."""
    return hmac.new(key, f"{bank_code}:{account_number}".encode(), hashlib.sha256).hexdigest()[:32]


def aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def window_start(at: datetime, size: timedelta) -> datetime:
    """The start of the epoch-aligned window of `size` holding `at` (faust's tumbling windows align so too)."""
    at = aware(at)
    seconds = size.total_seconds()
    return _EPOCH + timedelta(seconds=((at - _EPOCH).total_seconds() // seconds) * seconds)


# --- one bank account, many members ------------------------------------------------------------------


def account_members(
    policy: RiskPolicy,
    seen: dict[str, str] | None,
    account: str,
    member_id: str,
    at: datetime,
    claim_id: str | None,
    nik: str | None,
) -> tuple[dict[str, str], Flag | None]:
    """Members whose claims or credits went to `account` in the window (member -> last time), and a flag
    for this claim when they reach the threshold."""
    at = aware(at)
    window = timedelta(days=policy.account_members_window_days)
    members = {m: t for m, t in (seen or {}).items() if aware(datetime.fromisoformat(t)) > at - window}
    previous = members.get(member_id)
    if previous is None or aware(datetime.fromisoformat(previous)) < at:
        members[member_id] = at.isoformat()
    flag = None
    if len(members) >= policy.account_members_threshold:
        flag = Flag(
            ACCOUNT_MANY_MEMBERS,
            f"account:{account}",
            window_start(at - window, DAY),
            at,
            {
                "account_hash": account,
                "distinct_members": len(members),
                "threshold": policy.account_members_threshold,
                "window_days": policy.account_members_window_days,
                "member_ids": sorted(members),
            },
            member_id=member_id,
            nik=nik,
            claim_id=claim_id,
        )
    return members, flag


# --- a bank-account change followed by a claim ---------------------------------------------------------


def member_account(state: dict[str, Any] | None, account: str, changed: bool, at: datetime) -> dict[str, Any]:
    """The member's current (hashed) account and when it last changed.

    The first account risk sees is not a change: every member registers one before the first claim.
    """
    state = dict(state or {})
    if changed and state.get("account") not in (None, account):
        state["changed_at"] = aware(at).isoformat()
    state["account"] = account
    return state


def account_changed_before_claim(
    policy: RiskPolicy, state: dict[str, Any] | None, member_id: str, at: datetime, claim_id: str, nik: str | None
) -> Flag | None:
    changed = (state or {}).get("changed_at")
    if not changed:
        return None
    changed_at, at = aware(datetime.fromisoformat(changed)), aware(at)
    window = timedelta(hours=policy.account_change_claim_window_hours)
    if not (changed_at <= at <= changed_at + window):
        return None
    return Flag(
        ACCOUNT_CHANGED_BEFORE_CLAIM,
        f"member:{member_id}",
        changed_at,
        at,
        {
            "account_changed_at": changed_at.isoformat(),
            "claim_submitted_at": at.isoformat(),
            "hours_between": round((at - changed_at).total_seconds() / 3600, 1),
            "window_hours": policy.account_change_claim_window_hours,
        },
        member_id=member_id,
        nik=nik,
        claim_id=claim_id,
    )


# --- bursts in an hour (face refusals, registrations) ---------------------------------------------------


def burst(
    rule: str,
    subject: str,
    ids: list[str] | None,
    event_id: str,
    threshold: int,
    at: datetime,
    size: timedelta = HOUR,
    member_id: str | None = None,
    nik: str | None = None,
) -> tuple[list[str], Flag | None]:
    """Add one event to its window's ids; a flag once, when the window first reaches the threshold."""
    before = list(ids or [])
    if event_id in before:
        return before, None
    after = [*before, event_id]
    if not (len(before) < threshold <= len(after)):
        return after, None
    start = window_start(at, size)
    return after, Flag(
        rule,
        subject,
        start,
        aware(at),
        {
            "count": len(after),
            "threshold": threshold,
            "window_start": start.isoformat(),
            "window_seconds": int(size.total_seconds()),
            "event_ids": after[-threshold:],
        },
        member_id=member_id,
        nik=nik,
    )


# --- a wave of claims on one employer's cards ------------------------------------------------------------


def employer_wave(
    policy: RiskPolicy,
    employer: str,
    today: list[str],
    previous_days: list[int],
    claim_id: str,
    member_id: str,
    nik: str | None,
    at: datetime,
) -> tuple[list[str], Flag | None]:
    """Today's claim ids of the employer, and a flag for this claim when the day is far above its usual rate."""
    ids = today if claim_id in today else [*today, claim_id]
    usual = sum(previous_days) / len(previous_days) if previous_days else 0.0
    limit = max(float(policy.employer_claims_min_per_day), policy.employer_claims_factor * usual)
    if len(ids) < limit:
        return ids, None
    return ids, Flag(
        EMPLOYER_CLAIM_WAVE,
        f"employer:{employer}",
        window_start(at, DAY),
        aware(at),
        {
            "employer_id": employer,
            "claims_today": len(ids),
            "usual_per_day": round(usual, 2),
            "baseline_days": len(previous_days),
            "limit": limit,
        },
        member_id=member_id,
        nik=nik,
        claim_id=claim_id,
    )
