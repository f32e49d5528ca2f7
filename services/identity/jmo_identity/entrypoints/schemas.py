"""Request and response bodies of identity's HTTP API (the mobile gateway's contract, v1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Purpose = Literal["profile_update", "claim", "balance_merge", "login", "bank_account_change"]


class RegisterAccountRequest(BaseModel):
    nik: str = Field(max_length=32, examples=["3171011708450001"])
    kpj: str = Field(max_length=32, examples=["12345678901"])
    full_name: str = Field(max_length=200, description="As written on the KTP.")
    birth_date: date
    email: str = Field(max_length=254)
    phone: str = Field(max_length=32, description="Indonesian mobile number; stored in E.164 (+628...).")
    password: str = Field(
        max_length=256, description="At least 10 characters, not only digits, not your NIK or e-mail."
    )


class RegisterAccountResponse(BaseModel):
    member_id: str


class LoginRequest(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str


class Jwks(BaseModel):
    keys: list[dict[str, Any]]


class VerificationResponse(BaseModel):
    verification_id: str = Field(
        description="what profile, balance and claims take: for a match a signed "
        "assertion of it (a JWT), usable at once; pass it unchanged"
    )
    matched: bool
    score: float
    threshold: float
    quality: dict[str, Any]
    expires_at: datetime
    model_version: str


Channel = Literal["email", "phone"]


def _code() -> Any:
    return Field(min_length=1, max_length=16, description="The 6-digit code from the message.")


class ContactCodeRequest(BaseModel):
    channel: Channel


class ContactConfirmRequest(BaseModel):
    channel: Channel
    code: str = _code()


class ContactChangeRequest(BaseModel):
    channel: Channel
    value: str = Field(max_length=254, description="The new e-mail address or Indonesian mobile number.")
    password: str = Field(max_length=256, description="The account's password, asked again for this change.")


class CodeSentResponse(BaseModel):
    channel: str
    sent_to: list[str] = Field(description="Where the code went, masked.")
    expires_at: datetime
    resend_after: int = Field(description="Seconds before another code can be asked for.")


class PendingContact(BaseModel):
    channel: str
    sent_to: str
    expires_at: datetime


class AccountResponse(BaseModel):
    member_id: str
    email: str
    email_confirmed: bool
    phone: str
    phone_confirmed: bool
    pending_confirmations: list[PendingContact]
    restricted_until: datetime | None = Field(
        description="After an account recovery: no bank-account change before this time."
    )


class PasswordChangeRequest(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class PasswordResetRequest(BaseModel):
    email: str = Field(max_length=254)


class PasswordResetAccepted(BaseModel):
    detail: str
    expires_in: int = Field(description="Seconds a code sent now stays valid.")


class PasswordResetConfirm(BaseModel):
    email: str = Field(max_length=254)
    code: str = _code()
    new_password: str = Field(max_length=256)


class RecoveryStarted(BaseModel):
    recovery_id: str
    channel: str
    sent_to: list[str]
    expires_at: datetime


class RecoveryConfirm(BaseModel):
    code: str = _code()
    new_password: str | None = Field(
        default=None, max_length=256, description="Optional: a new password, if the old one is forgotten too."
    )


class RecoveryDone(BaseModel):
    member_id: str
    email: str
    phone: str
    restricted_until: datetime | None
    sessions_ended: int
