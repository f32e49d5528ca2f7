"""Request and answer bodies of the officer API (manual review)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from jmo_shared.events import ClaimReason
from jmo_shared.paging import Page

from .schemas import CLAIM_EXAMPLE, ClaimAnswer, TimelineEntry, _examples


class DecisionRequest(BaseModel):
    decision: Literal["approve", "reject"]
    reason_code: str = Field(min_length=1, max_length=64, description="see GET /v1/review/reason-codes")
    # Shown to the member on the claim's timeline (without the officer's identity): write it for them.
    note: str = Field(default="", max_length=1000)


class DecisionAnswer(BaseModel):
    model_config = _examples(
        {
            "claim_id": "5b0e6f0c-2d4f-4f3a-9a57-3c1e8d2b7a41",
            "status": "APPROVED",
            "decision": "approve",
            "reason_code": "documents_verified",
            "note": "Surat keterangan berhenti bekerja sudah dicek ke HRD PT Maju Bersama.",
            "decided_by": "officer-7",
            "decided_at": "2026-03-04T03:20:00+00:00",
            "repeated": False,
        }
    )

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
    model_config = _examples(
        {
            "approve": [{"code": "documents_verified", "message": "an officer checked your documents and data."}],
            "reject": [
                {"code": "data_mismatch", "message": "the data on your documents does not match your membership data."}
            ],
        }
    )

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


QUEUE_ITEM_EXAMPLE: dict[str, Any] = {
    "claim_id": "5b0e6f0c-2d4f-4f3a-9a57-3c1e8d2b7a41",
    "member_id": "0f4c2a9e8b7d4c1a9e3f5b6d7c8a9e0f",
    "nik": "3174011506850001",
    "kpj": "12345678901",
    "reason": "resignation",
    "status": "NEEDS_REVIEW",
    "reason_code": "bank_account_changed",
    "gross_idr": 12500000,
    "beneficiary_name": "SITI AMINAH",
    "submitted_at": "2026-03-02T02:15:00+00:00",
    "sla_due_at": "2026-03-09T02:15:00+00:00",
    "sla_breached_at": None,
    "escalation_level": 0,
    "escalated_to": None,
}


class Queue(Page[QueueItem]):
    """Claims waiting for an officer, the one due soonest first, one page at a time."""

    model_config = _examples({"items": [QUEUE_ITEM_EXAMPLE], "page": 1, "page_size": 20, "total": 1})


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
    model_config = _examples(
        CLAIM_EXAMPLE
        | {
            "status": "NEEDS_REVIEW",
            "reason_code": "bank_account_changed",
            "gross_idr": 12500000,
            "tax_idr": 0,
            "net_idr": 12500000,
            "amounts_source": "reservation",
            "payout_id": None,
            "timeline": [
                {
                    "status": "SUBMITTED",
                    "at": "2026-03-02T02:15:00+00:00",
                    "note": "Claim received.",
                    "reason_code": None,
                    "kind": "status",
                    "ticket": None,
                    "actor": None,
                },
                {
                    "status": "VERIFYING",
                    "at": "2026-03-02T02:15:04+00:00",
                    "note": "Rp12.500.000 is held on card 12345678901; checking the claim.",
                    "reason_code": None,
                    "kind": "status",
                    "ticket": None,
                    "actor": None,
                },
                {
                    "status": "NEEDS_REVIEW",
                    "at": "2026-03-02T02:15:05+00:00",
                    "note": "Your bank account changed after you submitted; an officer confirms it before paying.",
                    "reason_code": "bank_account_changed",
                    "kind": "status",
                    "ticket": None,
                    "actor": None,
                },
            ],
            "member_id": "0f4c2a9e8b7d4c1a9e3f5b6d7c8a9e0f",
            "nik": "3174011506850001",
            "beneficiary_name": "SITI AMINAH",
            "bank_account": {
                "bank_code": "014",
                "account_number": "1234567890",
                "account_name": "SITI AMINAH",
                "inquiry_name": "SITI AMINAH",
            },
            "npwp": None,
            "documents": [
                {
                    "document_id": "65f1a2b3c4d5e6f708192a3b",
                    "kind": "ktp",
                    "kind_name": "KTP (identity card)",
                    "filename": "ktp.jpg",
                    "content_type": "image/jpeg",
                    "size": 245760,
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "uploaded_at": "2026-03-02T02:10:41+00:00",
                    "download": "/v1/review/claims/5b0e6f0c-2d4f-4f3a-9a57-3c1e8d2b7a41/documents/65f1a2b3c4d5e6f708192a3b",
                }
            ],
            "missing_documents": [],
            "field_checks": [
                {
                    "field": "full_name",
                    "result": "mismatch",
                    "message": "The full name differs: ktp 'SITI AMINAH', card 'SITI AMINA'.",
                    "values": [
                        {"source": "ktp", "value": "SITI AMINAH"},
                        {"source": "card", "value": "SITI AMINA"},
                    ],
                }
            ],
            "mismatches": ["full_name"],
            "review": None,
            "next_escalation_at": "2026-03-09T02:15:00+00:00",
            "audit": [
                {
                    "officer_id": "officer-7",
                    "action": "view_claim",
                    "at": "2026-03-04T03:05:00+00:00",
                    "claim_id": "5b0e6f0c-2d4f-4f3a-9a57-3c1e8d2b7a41",
                    "claim_status": "NEEDS_REVIEW",
                }
            ],
            "risk_flags": [],
        }
    )

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
