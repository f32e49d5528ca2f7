"""The events a claim's changes become (written to the outbox by the transaction)."""

from __future__ import annotations

from datetime import date, datetime

from jmo_shared.events import BankAccount as BankAccountData
from jmo_shared.events import ClaimApproved, ClaimRejected, ClaimStatusChanged, ClaimSubmitted
from jmo_shared.events.claims import ClaimSlaBreached
from jmo_shared.mongo import Tx

from ..domain.claim import Claim
from ..domain.escalation import Escalation


def emit_status_changes(tx: Tx, claim: Claim) -> None:
    for entry in claim.changes:
        tx.emit(
            ClaimStatusChanged(
                claim_id=claim.claim_id,
                member_id=claim.member_id,
                status=entry.status.value,
                reason_code=entry.reason_code,
                note=entry.note,
                at=entry.at,
            ),
            subject=claim.claim_id,
        )
    claim.changes.clear()


def emit_submitted(tx: Tx, claim: Claim) -> None:
    tx.emit(
        ClaimSubmitted(
            claim_id=claim.claim_id,
            member_id=claim.member_id,
            nik=claim.nik,
            kpj=claim.kpj,
            reason=claim.reason,
            partial_percent=claim.partial_percent,
            document_ids=list(claim.document_ids),
            verification_id=claim.verification_id,
            submitted_at=claim.submitted_at,
            sla_due_at=claim.sla_due_at,
        ),
        subject=claim.claim_id,
    )


def emit_approved(tx: Tx, claim: Claim, today: date, at: datetime) -> None:
    account = claim.bank_account
    assert account is not None  # a claim is only accepted with a confirmed account
    tx.emit(
        ClaimApproved(
            claim_id=claim.claim_id,
            member_id=claim.member_id,
            nik=claim.nik,
            kpj=claim.kpj,
            reason=claim.reason,
            gross_idr=claim.gross_idr or 0,
            beneficiary_name=claim.beneficiary_name,
            bank_account=BankAccountData(
                bank_code=account.bank_code,
                account_number=account.account_number,
                account_name=account.account_name,
                inquiry_name=account.inquiry_name,
                changed_at=account.changed_at,
                face_verification_id=account.face_verification_id,
            ),
            npwp=claim.npwp,
            entitlement_date=claim.entitlement_date(today),
            approved_at=at,
        ),
        subject=claim.claim_id,
    )


def emit_rejected(tx: Tx, claim: Claim, message: str, at: datetime) -> None:
    tx.emit(
        ClaimRejected(
            claim_id=claim.claim_id,
            member_id=claim.member_id,
            kpj=claim.kpj,
            reason_code=claim.reason_code or "rejected",
            message=message,
            rejected_at=at,
        ),
        subject=claim.claim_id,
    )


def emit_sla_breached(tx: Tx, claim: Claim, escalation: Escalation) -> None:
    assert claim.sla_breached_at is not None  # escalate() marks the breach first
    tx.emit(
        ClaimSlaBreached(
            claim_id=claim.claim_id,
            member_id=claim.member_id,
            kpj=claim.kpj,
            reason=claim.reason,
            status=claim.status.value,
            sla_due_at=claim.sla_due_at,
            breached_at=claim.sla_breached_at,
            escalation_level=escalation.level,
            escalated_to=escalation.to,
            escalated_at=escalation.at,
        ),
        subject=claim.claim_id,
    )
