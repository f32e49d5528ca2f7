"""Sending one-time codes and taking them back: shared by contact confirmation, reset and recovery."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jmo_shared.errors import DomainError, ErrorKind, FieldError
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..domain.codes import CONFIRM_CONTACT, PASSWORD_RESET, Challenge, Outcome, code_matches, hash_code, new_code
from ..domain.contact import mask_contact
from ..metrics import CODE_CHECKS, CODES_SENT
from .context import IdentityContext
from .ports import Notification

log = get_logger(__name__)

_TEXT = {
    CONFIRM_CONTACT: "Kode konfirmasi JMO Anda: {code}. Berlaku {minutes} menit. "
    "(Your JMO confirmation code; valid {minutes} minutes.)",
    PASSWORD_RESET: "Kode reset kata sandi JMO: {code}. Berlaku {minutes} menit. Jika Anda tidak memintanya, "
    "abaikan pesan ini. (Your JMO password reset code.)",
}
_RECOVERY_TEXT = (
    "Kode pemulihan akun JMO: {code}. Berlaku {minutes} menit. Kontak ini akan menggantikan "
    "kontak lama akun Anda. (Your JMO account recovery code.)"
)
_NEVER_SHARE = " Jangan berikan kode ini kepada siapa pun, termasuk petugas BPJS Ketenagakerjaan."


@dataclass(frozen=True)
class Issued:
    challenge: Challenge
    code: str


@dataclass(frozen=True)
class CodeSent:
    challenge_id: str
    channel: str
    sent_to: list[str]  # masked
    expires_at: datetime
    resend_after: int  # seconds


async def issue(
    ctx: IdentityContext,
    tx: Tx,
    *,
    challenge_id: str,
    member_id: str,
    purpose: str,
    channel: str,
    destinations: Sequence[tuple[str, str]],
    verification_id: str | None = None,
) -> Issued | timedelta:
    """A new code for the challenge (replacing an earlier one), or how long until one may be sent."""
    now = ctx.clock.now()
    previous = await ctx.challenges.get(challenge_id, tx.session)
    wait = ctx.code_policy.send_refused_for(previous, now, destinations)
    if wait is not None:
        return wait
    code = new_code()
    challenge = Challenge(
        challenge_id=challenge_id,
        member_id=member_id,
        purpose=purpose,
        channel=channel,
        destinations=tuple(destinations),
        code_hash=hash_code(ctx.code_pepper, challenge_id, code),
        attempts=0,
        created_at=now,
        expires_at=now + ctx.code_policy.ttl,
        sent_at=ctx.code_policy.sends_after(previous, now),
        verification_id=verification_id,
    )
    await ctx.challenges.save(challenge, tx.session)
    return Issued(challenge, code)


async def deliver(ctx: IdentityContext, issued: Issued) -> CodeSent:
    """Hand the code to the notification port, once per destination (after the challenge committed)."""
    c = issued.challenge
    minutes = max(1, round(ctx.code_policy.ttl.total_seconds() / 60))
    template = _TEXT.get(c.purpose, _RECOVERY_TEXT) + _NEVER_SHARE
    now = ctx.clock.now()
    for channel, address in c.destinations:
        await ctx.notifier.send(
            Notification(
                member_id=c.member_id,
                channel=channel,
                destination=address,
                purpose=c.purpose,
                code=issued.code,
                text=template.format(code=issued.code, minutes=minutes),
                expires_at=c.expires_at,
            ),
            now,
        )
        CODES_SENT.labels(c.purpose, channel).inc()
    return CodeSent(
        challenge_id=c.challenge_id,
        channel=c.channel,
        sent_to=[mask_contact(channel, address) for channel, address in c.destinations],
        expires_at=c.expires_at,
        resend_after=math.ceil(ctx.code_policy.resend_cooldown.total_seconds()),
    )


def resend_refused(wait: timedelta) -> DomainError:
    seconds = max(1, math.ceil(wait.total_seconds()))
    return DomainError(
        "code_resend_too_soon",
        f"a code was sent recently; you can ask for another in {seconds} seconds",
        ErrorKind.RATE_LIMITED,
        headers={"Retry-After": str(seconds)},
        extra={"retry_after": seconds},
    )


@dataclass(frozen=True)
class Redeemed:
    outcome: Outcome
    challenge: Challenge | None
    attempts_left: int


async def redeem(
    ctx: IdentityContext,
    tx: Tx,
    challenge_id: str,
    code: str,
    *,
    purpose: str,
    member_id: str | None = None,
) -> Redeemed:
    """Check a presented code inside the caller's transaction: spent on success, a try used when wrong.

    The caller makes its change in the same transaction when the outcome is OK,
    and raises `refused(...)` after the commit otherwise (so a wrong try is kept).
    """
    now = ctx.clock.now()
    challenge = await ctx.challenges.get(challenge_id, tx.session)
    if challenge is None or challenge.purpose != purpose or (member_id and challenge.member_id != member_id):
        return Redeemed(Outcome.MISSING, None, 0)
    matches = code_matches(ctx.code_pepper, challenge_id, code, challenge.code_hash)
    outcome = ctx.code_policy.judge(challenge, matches, now)
    left = ctx.code_policy.attempts_left(challenge.attempts)
    if outcome is Outcome.WRONG:
        left = ctx.code_policy.attempts_left(await ctx.challenges.count_wrong(challenge_id, tx.session))
    elif outcome is Outcome.OK:
        await ctx.challenges.consume(challenge_id, now, tx.session)
    return Redeemed(outcome, challenge, left)


_REFUSALS = {
    Outcome.MISSING: (ErrorKind.NOT_FOUND, "no code is waiting to be confirmed here; ask for a new code"),
    Outcome.WRONG: (ErrorKind.INVALID, "the code is wrong"),
    Outcome.EXPIRED: (ErrorKind.INVALID, "the code has expired; ask for a new code"),
    Outcome.EXHAUSTED: (ErrorKind.INVALID, "the code was entered wrongly too often; ask for a new code"),
    Outcome.USED: (ErrorKind.INVALID, "this code was already used; ask for a new code if needed"),
}


def record(purpose: str, outcome: Outcome) -> None:
    CODE_CHECKS.labels(purpose, outcome.value).inc()


def refused(redeemed: Redeemed, purpose: str) -> DomainError:
    record(purpose, redeemed.outcome)
    kind, message = _REFUSALS[redeemed.outcome]
    extra: dict[str, object] = {}
    if redeemed.outcome is Outcome.WRONG:
        extra["attempts_left"] = redeemed.attempts_left
        if redeemed.attempts_left == 0:
            message = "the code is wrong, and that was the last try; ask for a new code"
    return DomainError(
        redeemed.outcome.value, message, kind, [FieldError("code", redeemed.outcome.value, message)], extra=extra
    )


def accepted(purpose: str) -> None:
    record(purpose, Outcome.OK)
