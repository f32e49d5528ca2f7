"""Request bodies and answers of the notify API (each answer with an example a client can code against)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from jmo_shared.paging import Page

# Times are ISO-8601 strings as the service layer writes them (UTC, `+00:00`).
Time = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class QuietHoursBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(examples=["21:00"], description="HH:MM, WIB")
    end: str = Field(examples=["07:00"], description="HH:MM, WIB")


class PreferencesBody(BaseModel):
    """What the member changes; a field left out stays as it was. `quiet_hours: null` turns them off."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(default=None, examples=["id"])
    channels: dict[str, list[str]] | None = Field(default=None, examples=[{"claim_paid": ["email", "push"]}])
    quiet_hours: QuietHoursBody | None = None


# --- answers ------------------------------------------------------------------------------

_NOTIFICATION = {
    "notification_id": "0b7e3c52-6f4a-4d1e-9a8b-2c5d7e9f1a3b",
    "kind": "claim_paid",
    "title": "Klaim JHT Anda telah dibayar",
    "body": "Rp14.250.000 dari klaim JHT Anda CLM-7F3A9C21 telah dibayarkan ke rekening BNI 0123****89 "
    "pada 3 Maret 2026 10.15 WIB.",
    "lang": "id",
    "claim_id": "CLM-7F3A9C21",
    "created_at": "2026-03-03T03:15:07+00:00",
    "read": True,
    "read_at": "2026-03-03T04:02:11+00:00",
}


class NotificationAnswer(BaseModel):
    """One notice in the member's inbox; `claim_id` or `ticket` names what it is about, when it is about one."""

    model_config = ConfigDict(json_schema_extra={"examples": [_NOTIFICATION]})

    notification_id: str
    kind: str = Field(description="claim_submitted, claim_paid, complaint_answered, security_contact_changed, ...")
    title: str
    body: str
    lang: str = Field(description="`id` or `en`")
    claim_id: str | None = Field(default=None, description="the claim it is about (claims' notices only)")
    ticket: str | None = Field(default=None, description="the complaint it is about (complaint_answered only)")
    created_at: Time
    read: bool
    read_at: Time | None


class NotificationPage(Page[NotificationAnswer]):
    """The member's notifications, newest first, and how many are unread."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_NOTIFICATION], "page": 1, "page_size": 20, "total": 1, "unread": 0}]
        }
    )

    unread: int = Field(ge=0, description="unread notifications in the whole inbox")


class QuietHours(BaseModel):
    start: str = Field(description="HH:MM, WIB")
    end: str = Field(description="HH:MM, WIB")


class KindInfo(BaseModel):
    urgent: bool = Field(description="sent at once, also during quiet hours")
    configurable: bool = Field(description="whether the member may choose its channels")


class PreferencesAnswer(BaseModel):
    """The member's choices (the defaults where they chose nothing), and what each kind of notice allows."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "language": "id",
                    "channels": {
                        "claim_submitted": ["email", "push"],
                        "claim_paid": ["push"],
                        "payout_failed": ["email", "sms", "push"],
                        "security_contact_changed": ["email", "sms"],
                    },
                    "quiet_hours": {"start": "21:00", "end": "07:00"},
                    "kinds": {
                        "claim_submitted": {"urgent": False, "configurable": True},
                        "claim_paid": {"urgent": False, "configurable": True},
                        "payout_failed": {"urgent": True, "configurable": True},
                        "security_contact_changed": {"urgent": True, "configurable": False},
                    },
                }
            ]
        }
    )

    language: str
    channels: dict[str, list[str]] = Field(description="the channels of every kind (email, sms, push)")
    quiet_hours: QuietHours | None
    kinds: dict[str, KindInfo]


_DEAD_LETTER = {
    "delivery_id": "0b7e3c52-6f4a-4d1e-9a8b-2c5d7e9f1a3b:email",
    "notification_id": "0b7e3c52-6f4a-4d1e-9a8b-2c5d7e9f1a3b",
    "member_id": "m-5d1c0a8e2b44",
    "kind": "complaint_answered",
    "channel": "email",
    "destination": "s***@example.co.id",
    "attempts": 8,
    "last_error": "ConnectionRefusedError: [Errno 111] Connection refused",
    "created_at": "2026-03-03T03:15:07+00:00",
    "dead_at": "2026-03-03T03:36:12+00:00",
    "replays": 0,
}


class DeadLetterAnswer(BaseModel):
    """A delivery that failed every attempt; the contact masked (a push token as it is)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DEAD_LETTER]})

    delivery_id: str
    notification_id: str
    member_id: str
    kind: str
    channel: str = Field(description="email, sms or push")
    destination: str
    attempts: int
    last_error: str | None
    created_at: Time
    dead_at: Time | None
    replays: int = Field(description="how often operators replayed it")


class DeadLetterPage(Page[DeadLetterAnswer]):
    """Dead letters, newest first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_DEAD_LETTER], "page": 1, "page_size": 20, "total": 1}]}
    )


class ReplayAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "delivery_id": "0b7e3c52-6f4a-4d1e-9a8b-2c5d7e9f1a3b:email",
                    "status": "pending",
                    "next_attempt_at": "2026-03-03T05:00:00+00:00",
                }
            ]
        }
    )

    delivery_id: str
    status: str = Field(description="`pending` again")
    next_attempt_at: Time
