"""Opening an app account for a member the registries know.

A refusal names the fields that differ from the registries: a member who mistyped learns what to
correct, and so would anyone testing which NIK, KPJ, name and birth date go together. Refusals are
therefore counted per client address and per NIK; past either limit a registration is answered 429
before the registries are consulted, until the oldest counted refusal leaves the window.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from pymongo.errors import DuplicateKeyError

from jmo_shared.errors import DomainError, ErrorKind, FieldError, conflict
from jmo_shared.events import AccountRegistered
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.attempt_store import nik_key
from ..domain.accounts import Account, parse_registration
from ..domain.registry import Applicant, discrepancies, not_in_registry
from ..metrics import REGISTRATION_REFUSALS, REGISTRATIONS
from . import contact, throttling
from .codes import Issued
from .context import IdentityContext

log = get_logger(__name__)


async def register_account(
    ctx: IdentityContext,
    *,
    nik: str,
    kpj: str,
    full_name: str,
    birth_date: date,
    email: str,
    phone: str,
    password: str,
    client: str,
) -> str:
    """Check the applicant against the registries, store the account, emit AccountRegistered; the member id."""
    reg, errors = parse_registration(
        nik=nik,
        kpj=kpj,
        full_name=full_name,
        birth_date=birth_date,
        email=email,
        phone=phone,
        password=password,
        policy=ctx.password_policy,
    )
    if reg is None:
        REGISTRATIONS.labels("validation_failed").inc()
        raise DomainError("validation_failed", "the request has invalid fields", ErrorKind.INVALID, errors)

    await _refuse_while_throttled(ctx, reg.nik, client)
    entry = await ctx.registry.entry(reg.nik)
    missing = not_in_registry(entry)
    if missing or entry is None:
        await _refused(ctx, "not_in_registry", reg.nik, client)
        raise DomainError(
            "not_in_registry",
            "this NIK is not (yet) known to the membership and population registries; "
            "if you were registered recently, try again later",
            ErrorKind.INVALID,
            missing,
        )
    differing = discrepancies(Applicant(reg.nik, reg.kpj, reg.full_name, reg.birth_date), entry)
    if differing:
        await _refused(ctx, "registry_mismatch", reg.nik, client)
        raise DomainError(
            "registry_mismatch",
            "some data differs from the registries; correct the marked fields as written on your KTP and KPJ card",
            ErrorKind.INVALID,
            differing,
        )
    # Only after the applicant proved they know the registry data: whether a NIK has an account is not public.
    await _refuse_taken(ctx, reg.nik, reg.email)

    now = ctx.clock.now()
    account = Account(
        member_id=uuid.uuid4().hex,
        nik=reg.nik,
        email=reg.email,
        phone=reg.phone,
        full_name=entry.registered_name,
        birth_date=reg.birth_date,
        kpj_numbers=tuple(entry.kpj_numbers),
        password_hash=await ctx.hashing.hash(reg.password),
        created_at=now,
    )

    async def work(tx: Tx) -> list[Issued]:
        await ctx.accounts.add(account, tx.session)
        tx.emit(
            AccountRegistered(
                member_id=account.member_id,
                nik=account.nik,
                kpj_numbers=list(account.kpj_numbers),
                full_name=account.full_name,
                email=account.email,
                phone=account.phone,
                registered_at=now,
                client_address=client,
            ),
            subject=account.member_id,
        )
        # The member proves the e-mail and phone are theirs by typing back the codes sent there.
        return await contact.issue_registration_codes(ctx, tx, account)

    try:
        issued = await ctx.db.transaction(work)
    except DuplicateKeyError:
        # A concurrent registration won the race; answer as if we had seen it first.
        await _refuse_taken(ctx, reg.nik, reg.email)
        raise
    REGISTRATIONS.labels("registered").inc()
    await contact.deliver_all(ctx, issued)
    return account.member_id


async def _refuse_while_throttled(ctx: IdentityContext, nik: str, client: str) -> None:
    """429 while the client address or the NIK has had too many refused registrations lately."""
    wait = await throttling.retry_after(ctx, throttling.REGISTRATION, client)
    if wait is not None:
        _throttled("client_address_limit", wait)
        raise throttling.too_many_attempts(wait)
    limit = ctx.registration_nik_limit
    wait = limit.retry_after(await ctx.registration_refusals.failures(nik_key(nik)), ctx.clock.now())
    if wait is not None:
        _throttled("nik_limit", wait)
        raise throttling.too_many_attempts(wait, "for this NIK")


def _throttled(limit: str, wait: timedelta) -> None:
    REGISTRATION_REFUSALS.labels(limit).inc()
    log.info("registration_throttled", limit=limit, retry_after=round(wait.total_seconds()))


async def _refused(ctx: IdentityContext, reason: str, nik: str, client: str) -> None:
    """Count a refusal of the registry check against the address and the NIK."""
    REGISTRATIONS.labels(reason).inc()
    REGISTRATION_REFUSALS.labels(reason).inc()
    await throttling.count(ctx, throttling.REGISTRATION, client)
    limit = ctx.registration_nik_limit
    await ctx.registration_refusals.record(nik_key(nik), ctx.clock.now(), limit.keep(), limit.window)


async def _refuse_taken(ctx: IdentityContext, nik: str, email: str) -> None:
    if await ctx.accounts.nik_taken(nik):
        REGISTRATIONS.labels("account_exists").inc()
        raise conflict("account_exists", "this NIK already has an account; log in, or reset the password")
    if await ctx.accounts.email_taken(email):
        REGISTRATIONS.labels("email_taken").inc()
        raise DomainError(
            "email_taken",
            "this e-mail address belongs to another account",
            ErrorKind.CONFLICT,
            [FieldError("email", "email_taken", "this e-mail address belongs to another account")],
        )
