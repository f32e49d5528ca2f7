"""Account recovery for a member who lost their phone or e-mail.

Proof of who they are: the NIK, the birth date, and a selfie that matches the
KTP photo (the stricter `account_recovery` threshold, replayed and copied photos
refused). Proof that the new contact is theirs: a code sent there. Then the new
contact replaces the old one, every session ends, and ContactChanged
(cause "recovery") tells the other services that money may not be redirected
before `restricted_until`: whoever passed these checks might still not be the member.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from pymongo.errors import DuplicateKeyError

from jmo_shared.errors import DomainError, ErrorKind, FieldError
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.account_store import login_key
from ..domain.accounts import Account, recovery_restriction
from ..domain.biometrics import ACCOUNT_RECOVERY
from ..domain.codes import RECOVERY, Outcome
from ..domain.contact import normalise_contact
from ..domain.registry import validate_nik
from ..metrics import RECOVERIES
from . import biometrics, codes, throttling
from .codes import CodeSent, Issued
from .contact import contact_changed
from .context import IdentityContext
from .passwords import check_new_password

log = get_logger(__name__)


@dataclass(frozen=True)
class Recovered:
    account: Account
    sessions_ended: int


def _invalid(field: str, code: str, message: str) -> DomainError:
    return DomainError(
        "validation_failed", "the request has invalid fields", ErrorKind.INVALID, [FieldError(field, code, message)]
    )


async def start(
    ctx: IdentityContext,
    *,
    nik: str,
    birth_date: date,
    channel: str,
    contact: str,
    selfie: bytes,
    client: str,
) -> CodeSent:
    """Check who is asking; send a code to the new contact. The code's challenge id is the recovery id."""
    await throttling.check_and_count(ctx, throttling.RECOVERY, client)
    valid_nik = validate_nik(nik)
    if valid_nik is None:
        raise _invalid("nik", "invalid_nik", "not a valid NIK")
    new_contact = normalise_contact(channel, contact)
    if new_contact is None:
        raise _invalid(
            "contact",
            f"invalid_{channel}",
            "not a valid e-mail address" if channel == "email" else "not a valid Indonesian mobile number",
        )

    account = await ctx.accounts.by_nik(valid_nik)
    if account is None or account.birth_date != birth_date:
        RECOVERIES.labels("identity_mismatch").inc()
        # One answer for "no account" and "wrong birth date": neither may be learnt from here.
        raise DomainError(
            "recovery_identity_mismatch",
            "the NIK and birth date do not match an account; check them against your KTP",
            ErrorKind.INVALID,
        )
    if channel == "email" and await ctx.accounts.email_taken_by_other(new_contact, account.member_id):
        message = "this e-mail address belongs to another account"
        raise DomainError("email_taken", message, ErrorKind.CONFLICT, [FieldError("contact", "email_taken", message)])

    verification = await biometrics.compare(
        ctx,
        member_id=account.member_id,
        nik=account.nik,
        purpose=ACCOUNT_RECOVERY,
        selfie=selfie,
        emit=False,
    )
    if not verification.matched:
        RECOVERIES.labels("face_not_matched").inc()
        message = (
            "the selfie does not match your KTP photo; take it again facing the camera in good light, "
            "or verify with a video call"
        )
        raise DomainError(
            "face_not_matched",
            message,
            ErrorKind.INVALID,
            [FieldError("selfie", "face_not_matched", message)],
            extra={"fallback": "video_call"},
        )

    async def work(tx: Tx):
        return await codes.issue(
            ctx,
            tx,
            challenge_id=uuid.uuid4().hex,
            member_id=account.member_id,
            purpose=RECOVERY,
            channel=channel,
            destinations=[(channel, new_contact)],
            verification_id=verification.verification_id,
        )

    issued = await ctx.db.transaction(work)
    assert isinstance(issued, Issued)  # a fresh challenge id has no earlier sends
    sent = await codes.deliver(ctx, issued)
    RECOVERIES.labels("code_sent").inc()
    log.info(
        "account_recovery_started",
        member_id=account.member_id,
        channel=channel,
        verification_id=verification.verification_id,
    )
    return sent


async def confirm(
    ctx: IdentityContext,
    *,
    recovery_id: str,
    code: str,
    new_password: str | None,
    client: str,
) -> Recovered:
    """The code from the new contact: it replaces the old one; every session ends; ContactChanged goes out."""
    await throttling.check(ctx, throttling.RECOVERY, client)
    challenge = await ctx.challenges.get(recovery_id)
    account = await ctx.accounts.by_id(challenge.member_id) if challenge and challenge.purpose == RECOVERY else None
    if challenge is None or account is None:
        await throttling.count(ctx, throttling.RECOVERY, client)
        raise codes.refused(codes.Redeemed(Outcome.MISSING, None, 0), RECOVERY)
    new_hash = None
    if new_password is not None:
        check_new_password(ctx, new_password, nik=account.nik, email=account.email, field="new_password")
        new_hash = await ctx.hashing.hash(new_password)
    now = ctx.clock.now()
    until = recovery_restriction(now, ctx.recovery_cooling_off)

    async def work(tx: Tx) -> tuple[codes.Redeemed, Recovered | None]:
        redeemed = await codes.redeem(ctx, tx, recovery_id, code, purpose=RECOVERY, member_id=account.member_id)
        if redeemed.outcome is not Outcome.OK:
            return redeemed, None
        channel, address = challenge.destinations[0]
        await ctx.accounts.set_contact(account.member_id, channel, address, now, tx.session)
        await ctx.accounts.restrict_until(account.member_id, until, tx.session)
        if new_hash is not None:
            await ctx.accounts.set_password_hash(account.member_id, new_hash, tx.session)
        ended = await ctx.tokens.revoke_member(account.member_id, "account_recovery", now, tx.session)
        after = await ctx.accounts.by_id(account.member_id, tx.session)
        assert after is not None
        tx.emit(
            contact_changed(after, "recovery", now, restricted_until=after.restricted_until), subject=account.member_id
        )
        return redeemed, Recovered(after, ended)

    try:
        redeemed, recovered = await ctx.db.transaction(work)
    except DuplicateKeyError:
        message = "this e-mail address now belongs to another account; start again with another"
        raise DomainError(
            "email_taken", message, ErrorKind.CONFLICT, [FieldError("code", "email_taken", message)]
        ) from None
    if recovered is None:
        await throttling.count(ctx, throttling.RECOVERY, client)
        RECOVERIES.labels("code_refused").inc()
        raise codes.refused(redeemed, RECOVERY)
    codes.accepted(RECOVERY)
    # Whoever recovered the account can log in at once, with the old password or the new one.
    for email in {account.email, recovered.account.email}:
        await ctx.login_failures.clear(login_key(email))
    RECOVERIES.labels("recovered").inc()
    log.info(
        "account_recovered",
        member_id=account.member_id,
        channel=challenge.channel,
        sessions_ended=recovered.sessions_ended,
        restricted_until=until.isoformat(),
    )
    return recovered
