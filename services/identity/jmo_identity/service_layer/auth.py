"""Logging in, refreshing and logging out."""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass
from datetime import timedelta

from jmo_shared.auth import unauthorized
from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.account_store import login_key
from ..domain.accounts import Account
from ..domain.contact import normalise_email
from ..domain.refresh import (
    RefreshDecision,
    RefreshFamily,
    StoredRefreshToken,
    decide_refresh,
    hash_refresh_token,
    new_refresh_token,
)
from ..metrics import LOGINS, REFRESHES
from . import throttling
from .context import IdentityContext

log = get_logger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    token_type: str = "Bearer"


def invalid_credentials() -> DomainError:
    return unauthorized("the e-mail address or password is wrong", code="invalid_credentials")


def account_locked(retry_after: timedelta) -> DomainError:
    seconds = max(1, math.ceil(retry_after.total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    return DomainError(
        "account_locked",
        f"too many failed logins: try again in {minutes} minute(s), or unlock it now by resetting your "
        "password (POST /v1/auth/password-reset: a code goes to your confirmed e-mail or phone)",
        ErrorKind.LOCKED,
        headers={"Retry-After": str(seconds)},
        extra={"retry_after": seconds, "unlock": "password_reset"},
    )


async def login(ctx: IdentityContext, email: str, password: str, client: str) -> TokenPair:
    # Failures are counted per e-mail whether or not an account has it, so the
    # answers (401, then 423) never tell which addresses are registered; and
    # per client address, so one address cannot try a password on many e-mails.
    await throttling.check(ctx, throttling.LOGIN, client)
    canonical = normalise_email(email) or email.strip().lower()
    key = login_key(canonical)
    now = ctx.clock.now()
    failed_before = await ctx.login_failures.failures(key)
    locked_for = ctx.lockout.retry_after(failed_before, now)
    if locked_for is not None:
        LOGINS.labels("locked").inc()
        raise account_locked(locked_for)

    account = await ctx.accounts.by_email(canonical)
    if account is None:
        await ctx.hashing.burn(password)
        ok = False
    else:
        ok = await ctx.hashing.verify(account.password_hash, password)
    if not ok:
        failures = await ctx.login_failures.record(key, now, ctx.lockout.keep(), ctx.lockout.window)
        await throttling.count(ctx, throttling.LOGIN, client)
        await asyncio.sleep(ctx.lockout.delay_seconds(failures, now))
        LOGINS.labels("invalid_credentials").inc()
        raise invalid_credentials()

    assert account is not None
    if failed_before:
        # Most logins follow no failure: nothing to clear, no delete sent. A failure recorded by a
        # concurrent wrong guess after the read above stays counted.
        await ctx.login_failures.clear(key)
    await _upgrade_hash(ctx, account, password)
    LOGINS.labels("success").inc()
    return await start_session(ctx, account)


async def _upgrade_hash(ctx: IdentityContext, account: Account, password: str) -> None:
    # Raising argon2's cost later upgrades each hash at the member's next login.
    if ctx.hashing.needs_rehash(account.password_hash):
        await ctx.accounts.set_password_hash(account.member_id, await ctx.hashing.hash(password))


async def start_session(ctx: IdentityContext, account: Account) -> TokenPair:
    """A new refresh family (one per login) and its first tokens."""
    now = ctx.clock.now()
    family = RefreshFamily(
        family_id=uuid.uuid4().hex, member_id=account.member_id, expires_at=now + ctx.session_max, revoked_at=None
    )
    secret = new_refresh_token()
    token = StoredRefreshToken(
        token_hash=hash_refresh_token(secret),
        family_id=family.family_id,
        member_id=account.member_id,
        expires_at=min(now + ctx.refresh_ttl, family.expires_at),
        used_at=None,
    )

    async def work(tx: Tx) -> None:
        await ctx.tokens.add_family(family, account.nik, now, tx.session)
        await ctx.tokens.add_token(token, family.expires_at, now, tx.session)

    await ctx.db.transaction(work)
    access = ctx.access_tokens.issue(account.member_id, account.nik)
    return TokenPair(access_token=access.token, expires_in=access.expires_in, refresh_token=secret)


_REFUSALS = {
    RefreshDecision.REUSED: (
        "refresh_token_reused",
        "this refresh token was already used: every session of this login is ended; log in again",
    ),
    RefreshDecision.REVOKED: ("refresh_token_revoked", "this session has ended; log in again"),
    RefreshDecision.EXPIRED: ("refresh_token_expired", "this session has expired; log in again"),
}


async def refresh(ctx: IdentityContext, refresh_token: str) -> TokenPair:
    """Spend a refresh token for a new pair; a spent one presented again revokes its family."""
    presented = hash_refresh_token(refresh_token)
    successor = new_refresh_token()
    now = ctx.clock.now()

    async def work(tx: Tx) -> tuple[RefreshDecision, str, str] | None:
        token = await ctx.tokens.token(presented, tx.session)
        found = await ctx.tokens.family(token.family_id, tx.session) if token else None
        if token is None or found is None:
            return None
        family, nik = found
        decision = decide_refresh(token, family, now)
        if decision is RefreshDecision.ROTATE:
            successor_hash = hash_refresh_token(successor)
            if not await ctx.tokens.spend(presented, successor_hash, now, tx.session):
                decision = RefreshDecision.REUSED
            else:
                await ctx.tokens.add_token(
                    StoredRefreshToken(
                        token_hash=successor_hash,
                        family_id=family.family_id,
                        member_id=family.member_id,
                        expires_at=min(now + ctx.refresh_ttl, family.expires_at),
                        used_at=None,
                    ),
                    family.expires_at,
                    now,
                    tx.session,
                )
        if decision is RefreshDecision.REUSED:
            await ctx.tokens.revoke_family(family.family_id, "reused", now, tx.session)
        return decision, family.member_id, nik

    # The revocation after a reuse must commit even though the caller gets a refusal.
    outcome = await ctx.db.transaction(work)
    if outcome is None:
        REFRESHES.labels("unknown").inc()
        raise unauthorized("unknown refresh token", code="invalid_refresh_token")
    decision, member_id, nik = outcome
    REFRESHES.labels(decision.value).inc()
    if decision is not RefreshDecision.ROTATE:
        if decision is RefreshDecision.REUSED:
            log.warning("refresh_token_reused", member_id=member_id)
        code, detail = _REFUSALS[decision]
        raise unauthorized(detail, code=code)
    access = ctx.access_tokens.issue(member_id, nik)
    return TokenPair(access_token=access.token, expires_in=access.expires_in, refresh_token=successor)


async def logout(ctx: IdentityContext, refresh_token: str) -> None:
    """End the login the token belongs to (its whole family). Unknown tokens are ignored."""
    presented = hash_refresh_token(refresh_token)
    now = ctx.clock.now()

    async def work(tx: Tx) -> None:
        token = await ctx.tokens.token(presented, tx.session)
        if token is not None:
            await ctx.tokens.revoke_family(token.family_id, "logout", now, tx.session)

    await ctx.db.transaction(work)
