"""Changing a password (signed in, old password required) and resetting a forgotten one by code.

Both end other logins: a change keeps only the session that made it (a new
pair is returned), a reset ends every session. A reset also lifts the
login lock on the e-mail: it is the unlock path the 423 answer names.
"""

from __future__ import annotations

from jmo_shared.errors import DomainError, ErrorKind, FieldError
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.account_store import login_key
from ..domain.accounts import Account
from ..domain.codes import PASSWORD_RESET, Outcome
from ..domain.contact import normalise_email
from ..metrics import PASSWORD_CHANGES
from . import codes, throttling
from .auth import TokenPair, account_locked, start_session
from .codes import Issued
from .context import IdentityContext

log = get_logger(__name__)


async def check_current_password(ctx: IdentityContext, account: Account, password: str, *, field: str) -> None:
    """The account's password, asked again before a sensitive change; wrong tries count towards the login lock."""
    key = login_key(account.email)
    now = ctx.clock.now()
    locked_for = ctx.lockout.retry_after(await ctx.login_failures.failures(key), now)
    if locked_for is not None:
        raise account_locked(locked_for)
    if not await ctx.hashing.verify(account.password_hash, password):
        await ctx.login_failures.record(key, now, ctx.lockout.keep(), ctx.lockout.window)
        message = "the current password is wrong"
        raise DomainError(
            "current_password_wrong", message, ErrorKind.INVALID, [FieldError(field, "current_password_wrong", message)]
        )


def check_new_password(ctx: IdentityContext, password: str, *, nik: str, email: str, field: str) -> None:
    problems = ctx.password_policy.problems(password, nik=nik, email=email)
    if problems:
        raise DomainError(
            "validation_failed",
            "the new password is not acceptable",
            ErrorKind.INVALID,
            [FieldError(field, p.code, p.message) for p in problems],
        )


async def change_password(ctx: IdentityContext, member_id: str, current: str, new: str) -> TokenPair:
    account = await ctx.accounts.by_id(member_id)
    if account is None:
        raise DomainError("account_not_found", "account not found", ErrorKind.NOT_FOUND)
    await check_current_password(ctx, account, current, field="current_password")
    check_new_password(ctx, new, nik=account.nik, email=account.email, field="new_password")
    if new == current:
        raise DomainError(
            "password_unchanged",
            "choose a password different from the current one",
            ErrorKind.INVALID,
            [FieldError("new_password", "password_unchanged", "same as the current password")],
        )
    new_hash = await ctx.hashing.hash(new)
    now = ctx.clock.now()

    async def work(tx: Tx) -> int:
        await ctx.accounts.set_password_hash(member_id, new_hash, tx.session)
        return await ctx.tokens.revoke_member(member_id, "password_changed", now, tx.session)

    ended = await ctx.db.transaction(work)
    PASSWORD_CHANGES.labels("change", "changed").inc()
    log.info("password_changed", member_id=member_id, sessions_ended=ended)
    # Every login ended, this device continues with a fresh one.
    return await start_session(ctx, account)


async def request_reset(ctx: IdentityContext, email: str, client: str) -> int:
    """Send a reset code to the account's confirmed contacts, if there is such an account.

    The answer never says whether there is: every request gets the same one
    (the code's validity in seconds), throttled by client address only.
    """
    await throttling.check_and_count(ctx, throttling.PASSWORD_RESET, client)
    ttl = int(ctx.code_policy.ttl.total_seconds())
    canonical = normalise_email(email)
    if canonical is None:
        raise DomainError(
            "validation_failed",
            "the request has invalid fields",
            ErrorKind.INVALID,
            [FieldError("email", "invalid_email", "not a valid e-mail address")],
        )
    account = await ctx.accounts.by_email(canonical)
    if account is None:
        PASSWORD_CHANGES.labels("reset_request", "no_account").inc()
        return ttl
    destinations = account.confirmed_contacts()
    if not destinations:
        # Nowhere safe to send a secret: the member recovers the account instead.
        PASSWORD_CHANGES.labels("reset_request", "no_confirmed_contact").inc()
        log.info("password_reset_without_confirmed_contact", member_id=account.member_id)
        return ttl

    async def work(tx: Tx):
        return await codes.issue(
            ctx,
            tx,
            challenge_id=f"{account.member_id}:{PASSWORD_RESET}",
            member_id=account.member_id,
            purpose=PASSWORD_RESET,
            channel="confirmed",
            destinations=destinations,
        )

    issued = await ctx.db.transaction(work)
    if isinstance(issued, Issued):
        await codes.deliver(ctx, issued)
        PASSWORD_CHANGES.labels("reset_request", "sent").inc()
    else:
        PASSWORD_CHANGES.labels("reset_request", "cooling_down").inc()
    return ttl


def _reset_refused() -> DomainError:
    # One answer for every way it fails (unknown e-mail, no code, wrong, expired, used up): the
    # member asks for a new code either way, and nobody learns which addresses have accounts.
    message = "the code is wrong, expired or used up; ask for a new code"
    return DomainError("code_invalid", message, ErrorKind.INVALID, [FieldError("code", "code_invalid", message)])


async def confirm_reset(ctx: IdentityContext, email: str, code: str, new_password: str, client: str) -> None:
    await throttling.check(ctx, throttling.PASSWORD_RESET, client)
    canonical = normalise_email(email) or email.strip().lower()
    account = await ctx.accounts.by_email(canonical)
    check_new_password(ctx, new_password, nik=account.nik if account else "", email=canonical, field="new_password")
    if account is None:
        await throttling.count(ctx, throttling.PASSWORD_RESET, client)
        raise _reset_refused()
    new_hash = await ctx.hashing.hash(new_password)
    now = ctx.clock.now()

    async def work(tx: Tx) -> codes.Redeemed:
        redeemed = await codes.redeem(
            ctx, tx, f"{account.member_id}:{PASSWORD_RESET}", code, purpose=PASSWORD_RESET, member_id=account.member_id
        )
        if redeemed.outcome is Outcome.OK:
            await ctx.accounts.set_password_hash(account.member_id, new_hash, tx.session)
            await ctx.tokens.revoke_member(account.member_id, "password_reset", now, tx.session)
        return redeemed

    redeemed = await ctx.db.transaction(work)
    if redeemed.outcome is not Outcome.OK:
        codes.record(PASSWORD_RESET, redeemed.outcome)
        await throttling.count(ctx, throttling.PASSWORD_RESET, client)
        PASSWORD_CHANGES.labels("reset", "refused").inc()
        raise _reset_refused()
    codes.accepted(PASSWORD_RESET)
    # The reset is the unlock path: whoever holds the code may log in again at once.
    await ctx.login_failures.clear(login_key(account.email))
    PASSWORD_CHANGES.labels("reset", "reset").inc()
    log.info("password_reset", member_id=account.member_id)
