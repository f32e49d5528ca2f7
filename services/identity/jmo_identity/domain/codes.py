"""One-time codes: six digits sent to a contact, stored keyed-hashed, short-lived, few tries.

A challenge is one outstanding code for one purpose (confirming a contact,
resetting a password, recovering an account). Sending again replaces the code
(and its tries) but only after a cool-down and a few times an hour, so neither
guessing nor flooding a member's phone pays.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

CODE_DIGITS = 6

# What a code is for; one outstanding challenge per member and purpose (and channel for contacts).
CONFIRM_CONTACT = "confirm_contact"
PASSWORD_RESET = "password_reset"
RECOVERY = "account_recovery"

CHANNELS = ("email", "phone")


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(pepper: bytes, challenge_id: str, code: str) -> str:
    # Keyed: a million codes are no work to hash through, so a copy of the
    # database alone must not give them away.
    return hmac.new(pepper, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(pepper: bytes, challenge_id: str, code: str, stored_hash: str) -> bool:
    candidate = code.strip()
    if len(candidate) != CODE_DIGITS or not candidate.isdigit():
        return False
    return hmac.compare_digest(hash_code(pepper, challenge_id, candidate), stored_hash)


@dataclass(frozen=True)
class Challenge:
    challenge_id: str
    member_id: str
    purpose: str
    channel: str  # "email" | "phone"; "confirmed" for a reset, sent to every confirmed contact
    destinations: tuple[tuple[str, str], ...]  # (channel, address)
    code_hash: str
    attempts: int
    created_at: datetime
    expires_at: datetime
    sent_at: tuple[datetime, ...]  # sends within the current window, oldest first
    consumed_at: datetime | None = None
    verification_id: str | None = None  # recovery: the face match that allowed it


class Outcome(enum.Enum):
    OK = "ok"
    MISSING = "no_code_pending"
    WRONG = "code_invalid"
    EXPIRED = "code_expired"
    EXHAUSTED = "code_attempts_exhausted"
    USED = "code_already_used"


@dataclass(frozen=True)
class CodePolicy:
    ttl: timedelta = timedelta(minutes=10)
    max_attempts: int = 5
    resend_cooldown: timedelta = timedelta(seconds=60)
    max_sends: int = 5
    send_window: timedelta = timedelta(hours=1)

    def recent_sends(self, sent_at: Sequence[datetime], now: datetime) -> list[datetime]:
        return sorted(t for t in sent_at if timedelta(0) <= now - t < self.send_window)

    def send_refused_for(
        self,
        previous: Challenge | None,
        now: datetime,
        destinations: Sequence[tuple[str, str]] = (),
    ) -> timedelta | None:
        """How long before another code may be sent, or None when one may go now.

        The cool-down protects an inbox from a burst; a code for another address
        (a contact change right after registration) skips it, not the hourly cap.
        """
        if previous is None or previous.consumed_at is not None:
            return None
        recent = self.recent_sends(previous.sent_at, now)
        same_place = not destinations or tuple(destinations) == previous.destinations
        if same_place and recent and now - recent[-1] < self.resend_cooldown:
            return recent[-1] + self.resend_cooldown - now
        if len(recent) >= self.max_sends:
            return recent[-self.max_sends] + self.send_window - now
        return None

    def sends_after(self, previous: Challenge | None, now: datetime) -> tuple[datetime, ...]:
        kept = [] if previous is None or previous.consumed_at is not None else self.recent_sends(previous.sent_at, now)
        return (*kept[-(self.max_sends - 1) :], now) if self.max_sends > 1 else (now,)

    def judge(self, challenge: Challenge, matches: bool, now: datetime) -> Outcome:
        """What a presented code does. A wrong one counts against the challenge's tries."""
        if challenge.consumed_at is not None:
            return Outcome.USED
        if now >= challenge.expires_at:
            return Outcome.EXPIRED
        if challenge.attempts >= self.max_attempts:
            return Outcome.EXHAUSTED
        return Outcome.OK if matches else Outcome.WRONG

    def attempts_left(self, attempts_after: int) -> int:
        return max(self.max_attempts - attempts_after, 0)
