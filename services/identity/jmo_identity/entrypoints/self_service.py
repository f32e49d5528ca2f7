"""The member's own account (contact confirmation and change, password change) and account recovery."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from jmo_shared.http import CurrentMember

from ..service_layer import contact as contact_handlers
from ..service_layer import passwords as password_handlers
from ..service_layer import recovery as recovery_handlers
from ..service_layer.codes import CodeSent
from .deps import PROBLEM, ClientAddress, Identity, tokens
from .schemas import (
    AccountResponse,
    Channel,
    CodeSentResponse,
    ContactChangeRequest,
    ContactCodeRequest,
    ContactConfirmRequest,
    PasswordChangeRequest,
    PendingContact,
    RecoveryConfirm,
    RecoveryDone,
    RecoveryStarted,
    TokenResponse,
)

RECOVERY_PATH = "/v1/accounts/recovery"

me = APIRouter(prefix="/v1/accounts/me", tags=["accounts"])


def _sent(sent: CodeSent) -> CodeSentResponse:
    return CodeSentResponse(
        channel=sent.channel, sent_to=sent.sent_to, expires_at=sent.expires_at, resend_after=sent.resend_after
    )


async def _account(ctx, member_id: str) -> AccountResponse:
    view = await contact_handlers.view(ctx, member_id)
    a = view.account
    return AccountResponse(
        member_id=a.member_id,
        email=a.email,
        email_confirmed=a.confirmed("email"),
        phone=a.phone,
        phone_confirmed=a.confirmed("phone"),
        pending_confirmations=[PendingContact(**p) for p in view.pending],
        restricted_until=a.restricted_until,
    )


@me.get("", response_model=AccountResponse)
async def get_my_account(member: CurrentMember, ctx: Identity) -> AccountResponse:
    """The member's contacts, whether each is confirmed, and codes waiting to be typed back."""
    return await _account(ctx, member.member_id)


@me.post(
    "/contact/verifications",
    status_code=202,
    response_model=CodeSentResponse,
    responses={
        409: {"description": "contact_already_confirmed", **PROBLEM},
        429: {"description": "code_resend_too_soon (retry_after)", **PROBLEM},
    },
)
async def send_contact_code(body: ContactCodeRequest, member: CurrentMember, ctx: Identity) -> CodeSentResponse:
    """(Re)send the confirmation code for the e-mail or phone (to the new one while a change waits)."""
    return _sent(await contact_handlers.send_code(ctx, member.member_id, body.channel))


@me.post(
    "/contact/verifications/confirm",
    response_model=AccountResponse,
    responses={
        404: {"description": "no_code_pending", **PROBLEM},
        409: {"description": "email_taken", **PROBLEM},
        422: {"description": "code_invalid (attempts_left) / code_expired / code_attempts_exhausted", **PROBLEM},
    },
)
async def confirm_contact(body: ContactConfirmRequest, member: CurrentMember, ctx: Identity) -> AccountResponse:
    """Type back the code: the contact is confirmed (a changed one replaces the old; ContactChanged)."""
    await contact_handlers.confirm(ctx, member.member_id, body.channel, body.code)
    return await _account(ctx, member.member_id)


@me.post(
    "/contact/changes",
    status_code=202,
    response_model=CodeSentResponse,
    responses={
        409: {"description": "email_taken / contact_unchanged", **PROBLEM},
        422: {"description": "current_password_wrong / validation_failed", **PROBLEM},
        423: {"description": "account_locked", **PROBLEM},
        429: {"description": "code_resend_too_soon", **PROBLEM},
    },
)
async def change_contact(body: ContactChangeRequest, member: CurrentMember, ctx: Identity) -> CodeSentResponse:
    """A new e-mail or phone: a code goes there; it replaces the current one once confirmed."""
    return _sent(await contact_handlers.change_contact(ctx, member.member_id, body.channel, body.value, body.password))


@me.post(
    "/password",
    response_model=TokenResponse,
    responses={
        422: {"description": "current_password_wrong / validation_failed / password_unchanged", **PROBLEM},
        423: {"description": "account_locked", **PROBLEM},
    },
)
async def change_password(body: PasswordChangeRequest, member: CurrentMember, ctx: Identity) -> TokenResponse:
    """Change the password (the current one is required). Every login ends; this answer is a new one."""
    return tokens(
        await password_handlers.change_password(ctx, member.member_id, body.current_password, body.new_password)
    )


recovery = APIRouter(prefix=RECOVERY_PATH, tags=["accounts"])


@recovery.post(
    "",
    status_code=202,
    response_model=RecoveryStarted,
    responses={
        409: {"description": "email_taken / needs_video_call / no_reference_photo", **PROBLEM},
        422: {
            "description": "recovery_identity_mismatch / face_not_matched / selfie_replayed / "
            "selfie_is_reference_photo / a bad capture (with a hint)",
            **PROBLEM,
        },
        429: {"description": "too_many_attempts from this client address", **PROBLEM},
    },
)
async def start_recovery(
    ctx: Identity,
    client: ClientAddress,
    nik: Annotated[str, Form(max_length=32)],
    birth_date: Annotated[date, Form()],
    channel: Annotated[Channel, Form(description="Which contact was lost and is replaced")],
    contact: Annotated[str, Form(max_length=254, description="The new e-mail address or mobile number")],
    selfie: Annotated[UploadFile, File(description="JPEG or PNG selfie, at most 10 MB")],
) -> RecoveryStarted:
    """Lost phone or e-mail: NIK + birth date + a selfie matching the KTP photo; a code goes to the new contact."""
    sent = await recovery_handlers.start(
        ctx, nik=nik, birth_date=birth_date, channel=channel, contact=contact, selfie=await selfie.read(), client=client
    )
    return RecoveryStarted(
        recovery_id=sent.challenge_id, channel=sent.channel, sent_to=sent.sent_to, expires_at=sent.expires_at
    )


@recovery.post(
    "/{recovery_id}/confirm",
    response_model=RecoveryDone,
    responses={
        404: {"description": "no_code_pending", **PROBLEM},
        409: {"description": "email_taken", **PROBLEM},
        422: {"description": "code_invalid / code_expired / code_attempts_exhausted", **PROBLEM},
        429: {"description": "too_many_attempts from this client address", **PROBLEM},
    },
)
async def confirm_recovery(
    recovery_id: str, body: RecoveryConfirm, ctx: Identity, client: ClientAddress
) -> RecoveryDone:
    """The code from the new contact: it replaces the old one, every session ends, bank-account changes
    wait until restricted_until (ContactChanged, cause recovery)."""
    done = await recovery_handlers.confirm(
        ctx, recovery_id=recovery_id, code=body.code, new_password=body.new_password, client=client
    )
    a = done.account
    return RecoveryDone(
        member_id=a.member_id,
        email=a.email,
        phone=a.phone,
        restricted_until=a.restricted_until,
        sessions_ended=done.sessions_ended,
    )


ROUTERS = [me, recovery]
