"""Request and answer bodies of the officer API (manual review)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from jmo_shared.events import ClaimReason

from .schemas import ClaimAnswer, TimelineEntry


class DecisionRequest(BaseModel):
    decision: Literal["approve", "reject"]
    reason_code: str = Field(min_length=1, max_length=64, description="see GET /v1/review/reason-codes")
    # Shown to the member on the claim's timeline (without the officer's identity): write it for them.
    note: str = Field(default="", max_length=1000)


class DecisionAnswer(BaseModel):
    claim_id: str
    status: str
    decision: str
    reason_code: str
    note: str
    decided_by: str
    decided_at: str
    # True when this repeats a decision already taken (a retry): nothing changed.
    repeated: bool


class ReasonCode(BaseModel):
    code: str
    message: str


class ReasonCodes(BaseModel):
    approve: list[ReasonCode]
    reject: list[ReasonCode]


class QueueItem(BaseModel):
    claim_id: str
    member_id: str
    nik: str
    kpj: str
    reason: ClaimReason
    status: str
    reason_code: str | None
    gross_idr: int | None
    beneficiary_name: str
    submitted_at: str
    sla_due_at: str
    sla_breached_at: str | None
    escalation_level: int
    escalated_to: str | None


class Queue(BaseModel):
    items: list[QueueItem]
    page: int
    page_size: int
    total: int


class OfficerTimelineEntry(TimelineEntry):
    actor: str | None = None


class ReviewDocument(BaseModel):
    document_id: str
    kind: str
    kind_name: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: str | None
    download: str


class FieldValue(BaseModel):
    source: str
    value: str | None


class FieldCheck(BaseModel):
    field: str
    result: Literal["match", "mismatch", "unknown"]
    message: str
    values: list[FieldValue]


class BankAccountView(BaseModel):
    bank_code: str
    account_number: str
    account_name: str
    inquiry_name: str | None


class ReviewView(BaseModel):
    decision: str
    reason_code: str
    note: str
    decided_by: str
    decided_at: str


class RiskFlagView(BaseModel):
    flag_id: str
    rule: str  # see the risk service's GET /v1/risk/flags/{flag_id} for why the rule exists
    flagged_at: str
    evidence: dict
    status: Literal["open", "cleared"]
    # The flag arrived after the claim was approved for payment: kept for follow-up.
    after_payout: bool
    cleared_by: str | None
    cleared_at: str | None
    note: str


class OfficerClaim(ClaimAnswer):
    timeline: list[OfficerTimelineEntry]  # type: ignore[assignment]
    member_id: str
    nik: str
    beneficiary_name: str
    bank_account: BankAccountView | None
    npwp: str | None
    documents: list[ReviewDocument]
    missing_documents: list[str]
    field_checks: list[FieldCheck]
    mismatches: list[str]
    review: ReviewView | None
    next_escalation_at: str | None
    # Every officer action on this claim, oldest first (who, what, when, why).
    audit: list[dict]
    # Flags from the risk service (an open one blocks approval: clear it there first).
    risk_flags: list[RiskFlagView] = []
