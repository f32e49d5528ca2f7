"""Request and answer bodies of the claims API (the app's contract, v1)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from jmo_shared.events import ClaimReason
from jmo_shared.face_assertion import VERIFICATION_ID_MAX_LENGTH
from jmo_shared.paging import Page

KPJ_PATTERN = r"^\d{11}$"


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """An answer model's examples, as the OpenAPI document shows them (checked against the model in tests)."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# One claim as the member reads it: paid in full, with its timeline.
CLAIM_EXAMPLE: dict[str, Any] = {
    "claim_id": "5b0e6f0c-2d4f-4f3a-9a57-3c1e8d2b7a41",
    "status": "PAID",
    "reason_code": None,
    "reason": "resignation",
    "kpj": "12345678901",
    "partial_percent": None,
    "gross_idr": 12500000,
    "tax_idr": 0,
    "net_idr": 12500000,
    "amounts_source": "payout",
    "estimated": {"gross_idr": 12500000, "tax_idr": 0, "net_idr": 12500000},
    "document_ids": ["65f1a2b3c4d5e6f708192a3b", "65f1a2b3c4d5e6f708192a3c", "65f1a2b3c4d5e6f708192a3d"],
    "submitted_at": "2026-03-02T02:15:00+00:00",
    "sla_due_at": "2026-03-09T02:15:00+00:00",
    "payout_id": "b8e2c1d4-7a6f-4e0b-9c3d-2f1a0e9d8c7b",
    "sla_breached_at": None,
    "escalation_level": 0,
    "escalated_to": None,
    "timeline": [
        {
            "status": "SUBMITTED",
            "at": "2026-03-02T02:15:00+00:00",
            "note": "Claim received.",
            "reason_code": None,
            "kind": "status",
            "ticket": None,
        },
        {
            "status": "PAID",
            "at": "2026-03-03T04:40:12+00:00",
            "note": "Rp12.500.000 was credited to your bank account.",
            "reason_code": None,
            "kind": "status",
            "ticket": None,
        },
    ],
    "complaints": [],
}


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
    model_config = _examples(
        {
            "as_of": "2026-03-01",
            "cards": [
                {
                    "kpj": "12345678901",
                    "employer_name": "PT Maju Bersama",
                    "registered_on": "2015-01-01",
                    "active": False,
                    "ended_on": "2026-01-31",
                    "end_cause": "resignation",
                    "balance_idr": 12500000,
                    "available_idr": 12500000,
                }
            ],
            "reasons": [
                {
                    "kpj": "12345678901",
                    "reason": "resignation",
                    "eligible": True,
                    "eligible_from": "2026-03-01",
                    "unmet": [],
                    "required_documents": ["kpj_card", "ktp", "resignation_letter"],
                    "conditional_documents": [],
                    "estimated": {"gross_idr": 12500000, "tax_idr": 0, "net_idr": 12500000},
                    "partial_percent": None,
                    "paid_to": "member",
                }
            ],
            "blockers": [],
        }
    )

    as_of: str
    cards: list[CardAnswer]
    reasons: list[ReasonAnswer]
    blockers: list[Unmet]


class DocumentAnswer(BaseModel):
    model_config = _examples(
        {
            "document_id": "65f1a2b3c4d5e6f708192a3b",
            "kind": "ktp",
            "size": 245760,
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "content_type": "image/jpeg",
        }
    )

    document_id: str
    kind: str
    size: int
    sha256: str
    content_type: str


class SubmitAnswer(BaseModel):
    model_config = _examples(
        {
            "claim_id": "5b0e6f0c-2d4f-4f3a-9a57-3c1e8d2b7a41",
            "status": "SUBMITTED",
            "reason": "resignation",
            "kpj": "12345678901",
            "sla_due_at": "2026-03-09T02:15:00+00:00",
            "estimated": {"gross_idr": 12500000, "tax_idr": 0, "net_idr": 12500000},
            "partial_percent": None,
        }
    )

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
    model_config = _examples(CLAIM_EXAMPLE)

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


class ClaimPage(Page[ClaimAnswer]):
    """The member's claims, newest first, one page at a time."""

    model_config = _examples(
        {"items": [CLAIM_EXAMPLE], "page": 1, "page_size": 20, "total": 1, "claims": [CLAIM_EXAMPLE]}
    )

    claims: list[ClaimAnswer] = Field(
        deprecated=True, description="the same page's claims as `items` (kept for older app versions): read `items`"
    )
