"""Request and response bodies of identity's HTTP API (the mobile gateway's contract, v1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Purpose = Literal["profile_update", "claim", "balance_merge", "login", "bank_account_change"]

# What the examples of the answers below are made of: one member, tokens and keys as identity signs
# them (a throw-away key), 10:15 WIB on 2 March 2026.
_MEMBER_ID = "8f14e45fceea467a9b2c3d4e5f607182"
_ACCESS_TOKEN = (
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtMSDZoMm9hS2ZnNWVqTE1vQ2V6XzA2NzZkWFBEY1VaWTJmRDQ1UkwxZTgiLCJ0eXAiOiJKV1QifQ"
    ".eyJpc3MiOiJqbW8taWRlbnRpdHkiLCJhdWQiOiJqbW8tbW9iaWxlIiwic3ViIjoiOGYxNGU0NWZjZWVhNDY3YTliMmMzZDRlNWY2MDcxODIi"
    "LCJuaWsiOiIzMTcxMDExNzA4NDUwMDAxIiwicm9sZXMiOlsibWVtYmVyIl0sInR5cCI6ImFjY2VzcyIsImp0aSI6ImM5ZjBmODk1ZmI5OGFi"
    "OTE1OWY1MWZkMDI5N2UyMzZkIiwiaWF0IjoxNzcyNDIxMzAwLCJuYmYiOjE3NzI0MjEzMDAsImV4cCI6MTc3MjQyMTkwMH0"
    ".Vc2QwwclMHYoN-9UzvWtNebvCG5iG51jZLz6H04-uaRCwHGL0poDFiQSL9fOgzJySjTpL3BprvKfUDgvG6_B3w"
)
_FACE_ASSERTION = (
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtMSDZoMm9hS2ZnNWVqTE1vQ2V6XzA2NzZkWFBEY1VaWTJmRDQ1UkwxZTgiLCJ0eXAiOiJKV1QifQ"
    ".eyJpc3MiOiJqbW8taWRlbnRpdHkiLCJhdWQiOiJqbW8tZmFjZS12ZXJpZmljYXRpb24iLCJ0eXAiOiJmYWNlX3ZlcmlmaWNhdGlvbiIsImp0"
    "aSI6IjQ1YzQ4Y2NlMmUyZDdmYmRlYTFhZmM1MWM3YzZhZDI2Iiwic3ViIjoiOGYxNGU0NWZjZWVhNDY3YTliMmMzZDRlNWY2MDcxODIiLCJu"
    "aWsiOiIzMTcxMDExNzA4NDUwMDAxIiwicHVycG9zZSI6ImNsYWltIiwic2NvcmUiOjAuNzgyLCJtb2RlbCI6Inl1bmV0LTIwMjNtYXItaW50"
    "OGJxK3NmYWNlLTIwMjFkZWMtaW50OGJxIiwiaWF0IjoxNzcyNDIxMzAwLCJuYmYiOjE3NzI0MjEzMDAsImV4cCI6MTc3MjQyMTkwMH0"
    ".wUi57ajoxHsjAOagwcLe124GC5K4PCVEfQsbMxmawsm7PAHwTjrZd3RjetU6tcof-GEBTHKRJBCVKkPJIiDNiA"
)
_TOKENS = {
    "access_token": _ACCESS_TOKEN,
    "token_type": "Bearer",
    "expires_in": 600,
    "refresh_token": "qj0d8goIeMhCPgHfOcppCqLNRK_lwQFFH7tHQkC-Vhk",
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """A response model's examples, in its JSON schema (so in the OpenAPI document)."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


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
    model_config = _examples({"member_id": _MEMBER_ID})

    member_id: str


class LoginRequest(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class TokenResponse(BaseModel):
    model_config = _examples(_TOKENS)

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str


class Jwks(BaseModel):
    model_config = _examples(
        {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "x": "v1oXFpfmpiV_KQ6YJgguWosGZ8kuZChg1UcdnJnP9gk",
                    "y": "EeClJPa_No2nRHHTAoCYbln9N6GojzBh_F7jEoqRzCw",
                    "kid": "kLH6h2oaKfg5ejLMoCez_0676dXPDcUZY2fD45RL1e8",
                    "use": "sig",
                    "alg": "ES256",
                }
            ]
        }
    )

    keys: list[dict[str, Any]]


class VerificationResponse(BaseModel):
    model_config = _examples(
        {
            "verification_id": _FACE_ASSERTION,
            "matched": True,
            "score": 0.782,
            "threshold": 0.5,
            "quality": {
                "roll_deg": -2.314,
                "eye_distance_px": 96.402,
                "yaw_ratio": 0.508,
                "pitch_ratio": 0.497,
                "faces_detected": 1,
                "detector_score": 0.912,
                "face_width_px": 231.0,
                "face_relative_size": 0.321,
                "eye_span_ratio": 0.417,
                "brightness": 128.6,
                "overexposed_fraction": 0.004,
                "sharpness": 187.25,
                "rotation_applied_deg": 0,
                "image_width": 720,
                "image_height": 960,
                "image_format": "JPEG",
            },
            "expires_at": "2026-03-02T03:25:00Z",
            "model_version": "yunet-2023mar-int8bq+sface-2021dec-int8bq",
        }
    )

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
    model_config = _examples(
        {
            "channel": "email",
            "sent_to": ["si***@example.co.id"],
            "expires_at": "2026-03-02T03:25:00Z",
            "resend_after": 60,
        }
    )

    channel: str
    sent_to: list[str] = Field(description="Where the code went, masked.")
    expires_at: datetime
    resend_after: int = Field(description="Seconds before another code can be asked for.")


class PendingContact(BaseModel):
    model_config = _examples(
        {"channel": "email", "sent_to": "si***@example.co.id", "expires_at": "2026-03-02T03:25:00Z"}
    )

    channel: str
    sent_to: str
    expires_at: datetime


class AccountResponse(BaseModel):
    # Shortly after recovering a lost phone, with an e-mail change waiting for its code. (The document
    # drops nulls from examples, so a field always sent, even as null, is shown with a value.)
    model_config = _examples(
        {
            "member_id": _MEMBER_ID,
            "email": "siti.nurhaliza@example.co.id",
            "email_confirmed": True,
            "phone": "+6281398764321",
            "phone_confirmed": True,
            "pending_confirmations": [
                {"channel": "email", "sent_to": "si***@gmail.com", "expires_at": "2026-03-02T03:32:00Z"}
            ],
            "restricted_until": "2026-03-05T03:17:00Z",
        }
    )

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
    model_config = _examples(
        {"detail": "if an account has this e-mail and a confirmed contact, a code was sent there", "expires_in": 600}
    )

    detail: str
    expires_in: int = Field(description="Seconds a code sent now stays valid.")


class PasswordResetConfirm(BaseModel):
    email: str = Field(max_length=254)
    code: str = _code()
    new_password: str = Field(max_length=256)


class RecoveryStarted(BaseModel):
    model_config = _examples(
        {
            "recovery_id": "d3d9446802a44259b5f3c6e1a0b7c8d9",
            "channel": "phone",
            "sent_to": ["+62813****4321"],
            "expires_at": "2026-03-02T03:25:00Z",
        }
    )

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
    model_config = _examples(
        {
            "member_id": _MEMBER_ID,
            "email": "siti.nurhaliza@example.co.id",
            "phone": "+6281398764321",
            "restricted_until": "2026-03-05T03:17:00Z",
            "sessions_ended": 2,
        }
    )

    member_id: str
    email: str
    phone: str
    restricted_until: datetime | None
    sessions_ended: int
