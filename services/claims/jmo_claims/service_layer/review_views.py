"""How claims read on the officer side: the member's view plus who did what, the documents and the checks."""

from __future__ import annotations

from typing import Any

from ..adapters.documents import StoredDocument
from ..domain.claim import Claim
from ..domain.documents import DOCUMENT_KINDS, REQUIRED_DOCUMENTS
from ..domain.mismatches import FieldCheck, mismatched_fields
from ..domain.review import ReviewDecision
from ..domain.risk import RiskFlag
from . import views
from .views import iso


def queue_item(c: Claim) -> dict[str, Any]:
    return {
        "claim_id": c.claim_id,
        "member_id": c.member_id,
        "nik": c.nik,
        "kpj": c.kpj,
        "reason": c.reason,
        "status": c.status.value,
        "reason_code": c.reason_code,
        "gross_idr": c.gross_idr,
        "beneficiary_name": c.beneficiary_name,
        "submitted_at": c.submitted_at.isoformat(),
        "sla_due_at": c.sla_due_at.isoformat(),
        "sla_breached_at": iso(c.sla_breached_at),
        "escalation_level": c.escalation_level,
        "escalated_to": c.escalated_to,
    }


def review(decision: ReviewDecision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "decision": decision.decision,
        "reason_code": decision.reason_code,
        "note": decision.note,
        "decided_by": decision.officer_id,
        "decided_at": decision.decided_at.isoformat(),
    }


def document(d: StoredDocument, claim_id: str) -> dict[str, Any]:
    return {
        "document_id": d.document_id,
        "kind": d.kind,
        "kind_name": DOCUMENT_KINDS.get(d.kind, d.kind),
        "filename": d.filename,
        "content_type": d.content_type,
        "size": d.size,
        "sha256": d.sha256,
        "uploaded_at": iso(d.uploaded_at),
        "download": f"/v1/review/claims/{claim_id}/documents/{d.document_id}",
    }


def field_check(c: FieldCheck) -> dict[str, Any]:
    return {
        "field": c.field,
        "result": c.result,
        "message": c.message,
        "values": [{"source": source, "value": value} for source, value in c.values],
    }


def audit_entry(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in doc.items() if k not in ("_id", "claim_id")}
    shown["at"] = doc["at"].isoformat()
    return shown


def officer_claim(
    c: Claim, documents: list[StoredDocument], checks: list[FieldCheck], audit: list[dict[str, Any]]
) -> dict[str, Any]:
    answer = views.claim(c)
    # Officers see who moved the claim; the member's view leaves it out.
    answer["timeline"] = [entry | {"actor": e.actor} for entry, e in zip(answer["timeline"], c.timeline)]
    present = {d.kind for d in documents}
    account = c.bank_account
    return answer | {
        "member_id": c.member_id,
        "nik": c.nik,
        "beneficiary_name": c.beneficiary_name,
        "bank_account": {
            "bank_code": account.bank_code,
            "account_number": account.account_number,
            "account_name": account.account_name,
            "inquiry_name": account.inquiry_name,
        }
        if account
        else None,
        "npwp": c.npwp,
        "documents": [document(d, c.claim_id) for d in documents],
        "missing_documents": [k for k in REQUIRED_DOCUMENTS.get(c.reason, ()) if k not in present],
        "field_checks": [field_check(x) for x in checks],
        "mismatches": mismatched_fields(checks),
        "review": review(c.review),
        "next_escalation_at": iso(c.next_escalation_at),
        "audit": [audit_entry(a) for a in audit],
        # The risk service's flags: the rule and its evidence are for officers only.
        "risk_flags": [risk_flag(f) for f in c.risk_flags],
    }


def risk_flag(f: RiskFlag) -> dict[str, Any]:
    return {
        "flag_id": f.flag_id,
        "rule": f.rule,
        "flagged_at": f.flagged_at.isoformat(),
        "evidence": f.evidence,
        "status": "open" if f.open else "cleared",
        "after_payout": f.after_payout,
        "cleared_by": f.cleared_by,
        "cleared_at": iso(f.cleared_at),
        "note": f.note,
    }
