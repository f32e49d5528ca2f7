"""Throttling by client address: failed logins, password-reset requests, recovery attempts, refused
registrations.

Counted per scope and address in a sliding window; past the limit the
address waits until the oldest counted attempt leaves the window (429 with
Retry-After). Never permanent, and the per-e-mail lock is kept on top.
"""

from __future__ import annotations

import math
from datetime import timedelta

from jmo_shared.errors import DomainError, ErrorKind

from ..adapters.attempt_store import client_key
from ..metrics import CLIENT_THROTTLED
from .context import IdentityContext

LOGIN = "login"
PASSWORD_RESET = "password_reset"
RECOVERY = "account_recovery"
REGISTRATION = "registration"


def too_many_attempts(retry_after: timedelta, whose: str = "from your network") -> DomainError:
    seconds = max(1, math.ceil(retry_after.total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    return DomainError(
        "too_many_attempts",
        f"too many attempts {whose}; try again in {minutes} minute(s)",
        ErrorKind.RATE_LIMITED,
        headers={"Retry-After": str(seconds)},
        extra={"retry_after": seconds},
    )


async def retry_after(ctx: IdentityContext, scope: str, client: str) -> timedelta | None:
    """How long the address waits in this scope, or None while it is within the limit."""
    limit = ctx.client_limits[scope]
    return limit.retry_after(await ctx.client_attempts.failures(client_key(scope, client)), ctx.clock.now())


async def check(ctx: IdentityContext, scope: str, client: str) -> None:
    """429 while the address is over the scope's limit."""
    wait = await retry_after(ctx, scope, client)
    if wait is not None:
        CLIENT_THROTTLED.labels(scope).inc()
        raise too_many_attempts(wait)


async def count(ctx: IdentityContext, scope: str, client: str) -> None:
    limit = ctx.client_limits[scope]
    await ctx.client_attempts.record(client_key(scope, client), ctx.clock.now(), limit.keep(), limit.window)


async def check_and_count(ctx: IdentityContext, scope: str, client: str) -> None:
    """For requests that count whatever their outcome (their answer must not depend on it)."""
    await check(ctx, scope, client)
    await count(ctx, scope, client)
