"""Events of the profile service (topic profile.events, keyed by member id)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ..topics import PROFILE_EVENTS
from .base import EventData


class BankAccount(BaseModel):
    bank_code: str = Field(pattern=r"^\d{3}$")
    account_number: str = Field(pattern=r"^\d{6,20}$")
    account_name: str
    # Set when the bank's account inquiry confirmed the holder name.
    inquiry_name: str | None = None
    changed_at: datetime | None = None
    # The face verification that confirmed the change, if any (lifts the cooling-off).
    face_verification_id: str | None = None


class ProfileUpdated(EventData):
    event_type = "jht.profile.ProfileUpdated.v1"
    topic = PROFILE_EVENTS
    key_field = "member_id"
    summary = "A member confirmed a pengkinian data update: what changed and the resulting claim-relevant data."

    member_id: str
    nik: str = Field(pattern=r"^\d{16}$")
    update_id: str
    changed_fields: list[str]
    data_update_completed: bool
    full_name: str
    email: str | None = None
    phone: str | None = None
    npwp: str | None = None
    bank_account: BankAccount | None = None
    bank_account_changed: bool = False
    confirmed_at: datetime
