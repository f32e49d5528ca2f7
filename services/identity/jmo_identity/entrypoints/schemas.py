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
    password: str = Field(max_length=256, description="At least 10 characters, not only digits, not your NIK or e-mail.")


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
    verification_id: str
    matched: bool
    score: float
    threshold: float
    quality: dict[str, Any]
    expires_at: datetime
    model_version: str
