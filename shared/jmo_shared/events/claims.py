"""Events of the claims service (topic claims.events, keyed by member id)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from ..topics import CLAIMS_EVENTS
from .base import EventData
from .profile import BankAccount

ClaimReason = Literal[
    "retirement",
    "resignation",
    "termination",
    "contract_end",
    "leaving_indonesia",
    "disability",
    "death",
    "partial_10",
    "partial_30",
]


class ClaimSubmitted(EventData):
    event_type = "jht.claims.ClaimSubmitted.v1"
    topic = CLAIMS_EVENTS
    key_field = "member_id"
    summary = "A member submitted a JHT claim; the balance service reserves its amount."

    claim_id: str
    member_id: str
    nik: str
    kpj: str
    reason: ClaimReason
    partial_percent: int | None = Field(default=None, ge=1, le=100)
    document_ids: list[str]
    verification_id: str
    submitted_at: datetime
    sla_due_at: datetime


class ClaimApproved(EventData):
    event_type = "jht.claims.ClaimApproved.v1"
    topic = CLAIMS_EVENTS
    key_field = "member_id"
    summary = "A claim passed every rule; payout pays gross_idr (less PPh 21) to the bank account."

    claim_id: str
    member_id: str
    nik: str
    kpj: str
    reason: ClaimReason
    gross_idr: int = Field(ge=0)
    beneficiary_name: str
    bank_account: BankAccount
    npwp: str | None = None
    # Start of the two-calendar-year window of the lump-sum tax rate.
    entitlement_date: date
    approved_at: datetime


class ClaimRejected(EventData):
    event_type = "jht.claims.ClaimRejected.v1"
    topic = CLAIMS_EVENTS
    key_field = "member_id"
    summary = "A claim was refused, with a reason code the member can act on."

    claim_id: str
    member_id: str
    kpj: str
    reason_code: str
    message: str
    rejected_at: datetime

    def metric_detail(self) -> str:
        return self.reason_code


class ClaimStatusChanged(EventData):
    event_type = "jht.claims.ClaimStatusChanged.v1"
    topic = CLAIMS_EVENTS
    key_field = "member_id"
    summary = "A claim moved in its state machine (for notifications and the helpdesk)."

    claim_id: str
    member_id: str
    status: Literal["SUBMITTED", "VERIFYING", "APPROVED", "PAYING", "PAID", "REJECTED", "NEEDS_REVIEW", "PAYOUT_FAILED"]
    reason_code: str | None = None
    note: str = ""
    at: datetime

    def metric_detail(self) -> str:
        return self.status


class ClaimSlaBreached(EventData):
    event_type = "jht.claims.ClaimSlaBreached.v1"
    topic = CLAIMS_EVENTS
    key_field = "member_id"
    summary = (
        "A claim was still open at its SLA due time and was escalated (level 1); each further "
        "escalation of the still-late claim is published again with the next level."
    )

    claim_id: str
    member_id: str
    kpj: str
    reason: ClaimReason
    status: Literal["SUBMITTED", "VERIFYING", "APPROVED", "PAYING", "PAID", "REJECTED", "NEEDS_REVIEW", "PAYOUT_FAILED"]
    sla_due_at: datetime
    # When the claim was first found late; the same on every level.
    breached_at: datetime
    escalation_level: int = Field(ge=1)
    escalated_to: str
    escalated_at: datetime

    def metric_detail(self) -> str:
        return f"level_{self.escalation_level}"
