"""How claims and assessments read in answers to the app (plain JSON-ready dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.claim import Claim
from ..domain.model import Card, Estimate, ReasonAssessment, Unmet


def _estimate(e: Estimate) -> dict[str, int]:
    return {"gross_idr": e.gross_idr, "tax_idr": e.tax_idr, "net_idr": e.net_idr}


def unmet(items: list[Unmet] | tuple[Unmet, ...]) -> list[dict[str, str]]:
    return [{"code": u.code, "message": u.message} for u in items]


def assessment(a: ReasonAssessment) -> dict[str, Any]:
    return {
        "kpj": a.kpj,
        "reason": a.reason,
        "eligible": a.eligible,
        "eligible_from": a.eligible_from.isoformat() if a.eligible_from else None,
        "unmet": unmet(a.unmet),
        "required_documents": list(a.required_documents),
        "conditional_documents": [{"kind": k, "when": when} for k, when in a.conditional_documents],
        "estimated": _estimate(a.estimated),
        "partial_percent": a.partial_percent,
        "paid_to": a.paid_to,
    }


def card(c: Card) -> dict[str, Any]:
    return {
        "kpj": c.kpj,
        "employer_name": c.employer_name,
        "registered_on": c.registered_on.isoformat() if c.registered_on else None,
        "active": c.active,
        "ended_on": c.employment.ended_on.isoformat() if c.employment else None,
        "end_cause": c.employment.cause if c.employment else None,
        "balance_idr": c.balance_idr,
        "available_idr": c.available_idr,
    }


def claim(c: Claim) -> dict[str, Any]:
    return {
        "claim_id": c.claim_id,
        "status": c.status.value,
        "reason_code": c.reason_code,
        "reason": c.reason,
        "kpj": c.kpj,
        "partial_percent": c.partial_percent,
        "gross_idr": c.gross_idr,
        "tax_idr": c.tax_idr,
        "net_idr": c.net_idr,
        "amounts_source": c.amounts_source,
        "estimated": _estimate(c.estimated),
        "document_ids": list(c.document_ids),
        "submitted_at": c.submitted_at.isoformat(),
        "sla_due_at": c.sla_due_at.isoformat(),
        "payout_id": c.payout_id,
        "sla_breached_at": iso(c.sla_breached_at),
        "escalation_level": c.escalation_level,
        "escalated_to": c.escalated_to,
        # Who moved the claim is for officers only (review_views adds it).
        "timeline": [
            {
                "status": e.status.value,
                "at": e.at.isoformat(),
                "note": e.note,
                "reason_code": e.reason_code,
                "kind": e.kind,
            }
            for e in c.timeline
        ],
    }


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
