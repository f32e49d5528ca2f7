"""Request and answer bodies of the claims API (the app's contract, v1)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from jmo_shared.events import ClaimReason
from jmo_shared.face_assertion import VERIFICATION_ID_MAX_LENGTH

KPJ_PATTERN = r"^\d{11}$"


class ClaimRequest(BaseModel):
    reason: ClaimReason
    kpj: str = Field(pattern=KPJ_PATTERN)
    document_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=20)
    verification_id: str = Field(
        min_length=1,
        max_length=VERIFICATION_ID_MAX_LENGTH,
        description="as identity answered the face match (purpose claim), unchanged",
    )
    partial_percent: int | None = Field(default=None, ge=1, le=100)


class Amounts(BaseModel):
    gross_idr: int
    tax_idr: int
    net_idr: int


class Unmet(BaseModel):
    code: str
    message: str


class ConditionalDocument(BaseModel):
    kind: str
    when: str


class ReasonAnswer(BaseModel):
    kpj: str
    reason: ClaimReason
    eligible: bool
    eligible_from: str | None
    unmet: list[Unmet]
    required_documents: list[str]
    conditional_documents: list[ConditionalDocument]
    estimated: Amounts
    partial_percent: int | None
    paid_to: str


class CardAnswer(BaseModel):
    kpj: str
    employer_name: str | None
    registered_on: str | None
    active: bool
    ended_on: str | None
    end_cause: str | None
    balance_idr: int | None
    available_idr: int | None


class EligibilityAnswer(BaseModel):
    as_of: str
    cards: list[CardAnswer]
    reasons: list[ReasonAnswer]
    blockers: list[Unmet]


class DocumentAnswer(BaseModel):
    document_id: str
    kind: str
    size: int
    sha256: str
    content_type: str


class SubmitAnswer(BaseModel):
    claim_id: str
    status: str
    reason: ClaimReason
    kpj: str
    sla_due_at: str
    estimated: Amounts
    partial_percent: int | None


class TimelineEntry(BaseModel):
    status: str
    at: str
    note: str
    reason_code: str | None
    # "status": a transition of the claim; "complaint": a complaint filed about it; "sla_breach": the claim
    # is late and was escalated (for both, status = the claim's status then).
    kind: str = "status"
    ticket: str | None = None


class ComplaintRef(BaseModel):
    ticket: str
    category: str
    filed_at: str


class ClaimAnswer(BaseModel):
    claim_id: str
    status: str
    reason_code: str | None
    reason: ClaimReason
    kpj: str
    partial_percent: int | None
    gross_idr: int | None
    tax_idr: int | None
    net_idr: int | None
    amounts_source: str
    estimated: Amounts
    document_ids: list[str]
    submitted_at: str
    sla_due_at: str
    payout_id: str | None
    # Set once when the claim was still unfinished at sla_due_at; kept however the claim ends.
    sla_breached_at: str | None = None
    escalation_level: int = 0
    escalated_to: str | None = None
    timeline: list[TimelineEntry]
    # Complaints the member filed about this claim at the helpdesk (from ComplaintFiled events).
    complaints: list[ComplaintRef] = []


class ClaimList(BaseModel):
    claims: list[ClaimAnswer]
