"""Events of the identity service (topic identity.events, keyed by member id)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ..topics import IDENTITY_EVENTS
from .base import EventData

Purpose = Literal["profile_update", "claim", "balance_merge", "login", "bank_account_change"]


class AccountRegistered(EventData):
    event_type = "jht.identity.AccountRegistered.v1"
    topic = IDENTITY_EVENTS
    key_field = "member_id"
    summary = "A member opened an app account, matched against the membership and population registries."

    member_id: str
    nik: str = Field(pattern=r"^\d{16}$")
    kpj_numbers: list[str]
    full_name: str
    email: str
    phone: str
    registered_at: datetime
    # The client's address as identity saw it (for the risk service's burst rules); absent from older events.
    client_address: str | None = None


class FaceVerified(EventData):
    event_type = "jht.identity.FaceVerified.v1"
    topic = IDENTITY_EVENTS
    key_field = "member_id"
    summary = "A selfie matched the member's KTP photo for a purpose; valid until expires_at."

    verification_id: str
    member_id: str
    nik: str = Field(pattern=r"^\d{16}$")
    purpose: Purpose
    score: float
    threshold: float
    model_version: str
    verified_at: datetime
    expires_at: datetime

    def metric_detail(self) -> str:
        return self.purpose


class ContactChanged(EventData):
    event_type = "jht.identity.ContactChanged.v1"
    topic = IDENTITY_EVENTS
    key_field = "member_id"
    summary = (
        "A member's confirmed e-mail or phone changed. After an account recovery, money may not be "
        "redirected (bank-account change) before restricted_until."
    )

    member_id: str
    nik: str = Field(pattern=r"^\d{16}$")
    email: str
    phone: str
    cause: Literal["confirmation", "recovery"]
    changed_at: datetime
    restricted_until: datetime | None = None

    def metric_detail(self) -> str:
        return self.cause


class FaceMatchRefused(EventData):
    event_type = "jht.identity.FaceMatchRefused.v1"
    topic = IDENTITY_EVENTS
    key_field = "member_id"
    summary = (
        "A selfie did not match the member's KTP photo, or was refused as a copy (the KTP photo itself, "
        "a replayed selfie). For the risk service's burst rules; a bad capture is not one."
    )

    member_id: str
    nik: str = Field(pattern=r"^\d{16}$")
    purpose: Purpose
    outcome: Literal["not_matched", "selfie_is_reference_photo", "selfie_replayed"]
    client_address: str | None = None
    refused_at: datetime

    def metric_detail(self) -> str:
        return self.outcome
