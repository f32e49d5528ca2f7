"""Confirming a member's e-mail and phone by one-time code, and changing them.

A contact is unconfirmed until the member types the code sent there. What
that blocks: secrets (password-reset codes) only go to confirmed contacts,
and a new e-mail or phone replaces the old one only once confirmed. Login
and everything else keep working with unconfirmed contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from jmo_shared.errors import DomainError, ErrorKind, FieldError, not_found
from jmo_shared.events import ContactChanged
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..domain.accounts import Account
from ..domain.codes import CONFIRM_CONTACT, Outcome
from ..domain.contact import mask_contact, normalise_contact
from . import codes
from .codes import CodeSent, Issued
from .context import IdentityContext
from .passwords import check_current_password

log = get_logger(__name__)


def challenge_id(member_id: str, channel: str) -> str:
    return f"{member_id}:{CONFIRM_CONTACT}:{channel}"


async def issue_registration_codes(ctx: IdentityContext, tx: Tx, account: Account) -> list[Issued]:
    """Inside the registration's transaction: a code for the e-mail and one for the phone."""
    issued = []
    for channel in ("email", "phone"):
        result = await codes.issue(
            ctx,
            tx,
            challenge_id=challenge_id(account.member_id, channel),
            member_id=account.member_id,
            purpose=CONFIRM_CONTACT,
            channel=channel,
            destinations=[(channel, account.contact(channel))],
        )
        if isinstance(result, Issued):
            issued.append(result)
    return issued


async def deliver_all(ctx: IdentityContext, issued: list[Issued]) -> None:
    for one in issued:
        try:
            await codes.deliver(ctx, one)
        except Exception as exc:  # the account exists; the member can ask for the code again
            log.error("notification_failed", purpose=one.challenge.purpose, error=repr(exc))


async def _account(ctx: IdentityContext, member_id: str) -> Account:
    account = await ctx.accounts.by_id(member_id)
    if account is None:
        raise not_found("account", code="account_not_found")
    return account


async def send_code(ctx: IdentityContext, member_id: str, channel: str) -> CodeSent:
    """(Re)send the code for the channel: to the new address while a change waits, else the current one."""
    account = await _account(ctx, member_id)
    pending = await ctx.challenges.get(challenge_id(member_id, channel))
    now = ctx.clock.now()
    waiting = pending is not None and pending.consumed_at is None and pending.expires_at > now
    if waiting:
        destination = pending.destinations[0][1]
    elif account.confirmed(channel):
        raise DomainError("contact_already_confirmed", f"your {channel} is already confirmed", ErrorKind.CONFLICT)
    else:
        destination = account.contact(channel)
    return await _send(ctx, member_id, channel, destination)


async def change_contact(ctx: IdentityContext, member_id: str, channel: str, value: str, password: str) -> CodeSent:
    """Send a code to a new address; it replaces the current one only when the code comes back."""
    account = await _account(ctx, member_id)
    await check_current_password(ctx, account, password, field="password")
    new = normalise_contact(channel, value)
    if new is None:
        code, what = ("invalid_email", "e-mail address") if channel == "email" else ("invalid_phone", "mobile number")
        raise DomainError(
            "validation_failed",
            "the request has invalid fields",
            ErrorKind.INVALID,
            [FieldError("value", code, f"not a valid {what}")],
        )
    if new == account.contact(channel) and account.confirmed(channel):
        raise DomainError("contact_unchanged", f"this is already your confirmed {channel}", ErrorKind.CONFLICT)
    if channel == "email" and await ctx.accounts.email_taken_by_other(new, member_id):
        raise _email_taken("value")
    return await _send(ctx, member_id, channel, new)


async def _send(ctx: IdentityContext, member_id: str, channel: str, destination: str) -> CodeSent:
    async def work(tx: Tx):
        return await codes.issue(
            ctx,
            tx,
            challenge_id=challenge_id(member_id, channel),
            member_id=member_id,
            purpose=CONFIRM_CONTACT,
            channel=channel,
            destinations=[(channel, destination)],
        )

    result = await ctx.db.transaction(work)
    if not isinstance(result, Issued):
        raise codes.resend_refused(result)
    return await codes.deliver(ctx, result)


async def confirm(ctx: IdentityContext, member_id: str, channel: str, code: str) -> Account:
    """The code sent to the channel's address: that address becomes the member's, confirmed."""
    now = ctx.clock.now()

    async def work(tx: Tx) -> tuple[codes.Redeemed, bool]:
        redeemed = await codes.redeem(
            ctx, tx, challenge_id(member_id, channel), code, purpose=CONFIRM_CONTACT, member_id=member_id
        )
        if redeemed.outcome is not Outcome.OK:
            return redeemed, False
        assert redeemed.challenge is not None
        account = await ctx.accounts.by_id(member_id, tx.session)
        if account is None:
            raise not_found("account", code="account_not_found")
        address = redeemed.challenge.destinations[0][1]
        changed = address != account.contact(channel)
        await ctx.accounts.set_contact(member_id, channel, address, now, tx.session)
        if changed:
            after = await ctx.accounts.by_id(member_id, tx.session)
            assert after is not None
            tx.emit(contact_changed(after, "confirmation", now), subject=member_id)
        return redeemed, changed

    try:
        redeemed, changed = await ctx.db.transaction(work)
    except DuplicateKeyError:
        raise _email_taken("code") from None
    if redeemed.outcome is not Outcome.OK:
        raise codes.refused(redeemed, CONFIRM_CONTACT)
    codes.accepted(CONFIRM_CONTACT)
    log.info("contact_confirmed", member_id=member_id, channel=channel, changed=changed)
    return await _account(ctx, member_id)


def contact_changed(
    account: Account, cause: str, now: datetime, restricted_until: datetime | None = None
) -> ContactChanged:
    return ContactChanged(
        member_id=account.member_id,
        nik=account.nik,
        email=account.email,
        phone=account.phone,
        cause=cause,
        changed_at=now,
        restricted_until=restricted_until,
    )


def _email_taken(field: str) -> DomainError:
    message = "this e-mail address belongs to another account"
    return DomainError("email_taken", message, ErrorKind.CONFLICT, [FieldError(field, "email_taken", message)])


@dataclass(frozen=True)
class AccountView:
    account: Account
    pending: list[dict]


async def view(ctx: IdentityContext, member_id: str) -> AccountView:
    account = await _account(ctx, member_id)
    pending = [
        {"channel": c.channel, "sent_to": mask_contact(c.channel, c.destinations[0][1]), "expires_at": c.expires_at}
        for c in await ctx.challenges.pending_for(member_id, ctx.clock.now())
        if c.purpose == CONFIRM_CONTACT
    ]
    return AccountView(account, pending)
