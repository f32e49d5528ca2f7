"""Mongo document <-> domain values. BSON has no date type: calendar dates are ISO strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..domain.claim import Claim, Status, TimelineEntry
from ..domain.model import BankAccount, Card, Employment, Estimate, Profile
from ..domain.review import ReviewDecision
from ..domain.risk import RiskFlag


def stored_time(at: datetime) -> datetime:
    """`at` as BSON keeps it (milliseconds), so what an event says equals what a later read says."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def card_from_doc(doc: dict[str, Any]) -> Card:
    employment = doc.get("employment")
    balance = doc.get("balance") or {}
    return Card(
        kpj=doc["_id"],
        registered_on=day(doc.get("registered_on")),
        employer_name=doc.get("employer_name"),
        employment=Employment(day(employment["ended_on"]), employment["cause"], day(employment["letter_date"]))
        if employment
        else None,
        balance_idr=balance.get("balance_idr"),
        available_idr=balance.get("available_idr"),
    )


def bank_account_from_doc(doc: dict[str, Any] | None) -> BankAccount | None:
    if not doc:
        return None
    return BankAccount(
        bank_code=doc["bank_code"],
        account_number=doc["account_number"],
        account_name=doc["account_name"],
        inquiry_name=doc.get("inquiry_name"),
        changed_at=doc.get("changed_at"),
        face_verification_id=doc.get("face_verification_id"),
    )


def bank_account_to_doc(account: BankAccount | None) -> dict[str, Any] | None:
    if account is None:
        return None
    return {
        "bank_code": account.bank_code,
        "account_number": account.account_number,
        "account_name": account.account_name,
        "inquiry_name": account.inquiry_name,
        "changed_at": account.changed_at,
        "face_verification_id": account.face_verification_id,
    }


def profile_from_doc(doc: dict[str, Any] | None) -> Profile | None:
    if not doc:
        return None
    return Profile(
        data_update_completed=bool(doc.get("data_update_completed")),
        full_name=doc.get("full_name", ""),
        npwp=doc.get("npwp"),
        bank_account=bank_account_from_doc(doc.get("bank_account")),
    )


def _estimate_doc(e: Estimate) -> dict[str, int]:
    return {"gross_idr": e.gross_idr, "tax_idr": e.tax_idr, "net_idr": e.net_idr}


def claim_to_doc(claim: Claim) -> dict[str, Any]:
    doc = {
        "_id": claim.claim_id,
        "member_id": claim.member_id,
        "nik": claim.nik,
        "kpj": claim.kpj,
        "reason": claim.reason,
        "partial_percent": claim.partial_percent,
        "document_ids": list(claim.document_ids),
        "verification_id": claim.verification_id,
        "submitted_at": claim.submitted_at,
        "sla_due_at": claim.sla_due_at,
        "estimated": _estimate_doc(claim.estimated),
        "beneficiary_name": claim.beneficiary_name,
        "bank_account": bank_account_to_doc(claim.bank_account),
        "npwp": claim.npwp,
        "employment_ended_on": iso(claim.employment_ended_on),
        "status": claim.status.value,
        "reason_code": claim.reason_code,
        "gross_idr": claim.gross_idr,
        "tax_idr": claim.tax_idr,
        "net_idr": claim.net_idr,
        "amounts_source": claim.amounts_source,
        "payout_id": claim.payout_id,
        "review": review_to_doc(claim.review),
        "sla_breached_at": claim.sla_breached_at,
        "escalation_level": claim.escalation_level,
        # A plain equality field, so the officer queue's filter is served by an index.
        "escalated": claim.escalation_level > 0,
        "escalated_to": claim.escalated_to,
        "next_escalation_at": claim.next_escalation_at,
        "timeline": [_entry_to_doc(e) for e in claim.timeline],
        "open": claim.open,
    }
    # Only when there is something: most claims never carry a flag or wait for a verdict (and the
    # verdict sweep's index is sparse).
    if claim.risk_flags:
        doc["risk_flags"] = [_flag_to_doc(f) for f in claim.risk_flags]
    if claim.verdict_due_at is not None:
        doc["verdict_due_at"] = claim.verdict_due_at
    if claim.risk_screened:
        doc["risk_screened"] = True
    if claim.correlation_id:
        doc["correlation_id"] = claim.correlation_id
    return doc


def _flag_to_doc(f: RiskFlag) -> dict[str, Any]:
    return {
        "flag_id": f.flag_id,
        "rule": f.rule,
        "flagged_at": f.flagged_at,
        "evidence": f.evidence,
        "after_payout": f.after_payout,
        "cleared_at": f.cleared_at,
        "cleared_by": f.cleared_by,
        "note": f.note,
    }


def _flag_from_doc(d: dict[str, Any]) -> RiskFlag:
    return RiskFlag(
        d["flag_id"],
        d["rule"],
        d["flagged_at"],
        d.get("evidence") or {},
        d.get("after_payout", False),
        d.get("cleared_at"),
        d.get("cleared_by"),
        d.get("note", ""),
    )


def _entry_to_doc(e: TimelineEntry) -> dict[str, Any]:
    doc = {"status": e.status.value, "at": e.at, "note": e.note, "reason_code": e.reason_code}
    if e.kind != "status":
        doc["kind"] = e.kind
    if e.actor is not None:
        doc["actor"] = e.actor
    return doc


def _entry_from_doc(e: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        Status(e["status"]),
        e["at"],
        e.get("note", ""),
        e.get("reason_code"),
        kind=e.get("kind", "status"),
        actor=e.get("actor"),
    )


def review_to_doc(review: ReviewDecision | None) -> dict[str, Any] | None:
    if review is None:
        return None
    return {
        "decision": review.decision,
        "reason_code": review.reason_code,
        "note": review.note,
        "officer_id": review.officer_id,
        "decided_at": review.decided_at,
    }


def review_from_doc(doc: dict[str, Any] | None) -> ReviewDecision | None:
    if not doc:
        return None
    return ReviewDecision(
        doc["decision"], doc["reason_code"], doc.get("note", ""), doc["officer_id"], doc["decided_at"]
    )


def claim_from_doc(doc: dict[str, Any]) -> Claim:
    est = doc["estimated"]
    return Claim(
        claim_id=doc["_id"],
        member_id=doc["member_id"],
        nik=doc["nik"],
        kpj=doc["kpj"],
        reason=doc["reason"],
        document_ids=tuple(doc.get("document_ids", ())),
        verification_id=doc["verification_id"],
        submitted_at=doc["submitted_at"],
        sla_due_at=doc["sla_due_at"],
        estimated=Estimate(est["gross_idr"], est["tax_idr"], est["net_idr"]),
        beneficiary_name=doc.get("beneficiary_name", ""),
        bank_account=bank_account_from_doc(doc.get("bank_account")),
        npwp=doc.get("npwp"),
        partial_percent=doc.get("partial_percent"),
        employment_ended_on=day(doc.get("employment_ended_on")),
        status=Status(doc["status"]),
        reason_code=doc.get("reason_code"),
        gross_idr=doc.get("gross_idr"),
        tax_idr=doc.get("tax_idr"),
        net_idr=doc.get("net_idr"),
        amounts_source=doc.get("amounts_source", "estimate"),
        payout_id=doc.get("payout_id"),
        review=review_from_doc(doc.get("review")),
        sla_breached_at=doc.get("sla_breached_at"),
        escalation_level=doc.get("escalation_level", 0),
        escalated_to=doc.get("escalated_to"),
        # Claims stored before escalation existed fall due at their SLA time.
        next_escalation_at=doc["next_escalation_at"] if "next_escalation_at" in doc else doc["sla_due_at"],
        risk_flags=[_flag_from_doc(f) for f in doc.get("risk_flags", [])],
        verdict_due_at=doc.get("verdict_due_at"),
        risk_screened=doc.get("risk_screened", False),
        correlation_id=doc.get("correlation_id"),
        timeline=[_entry_from_doc(e) for e in doc.get("timeline", [])],
    )
