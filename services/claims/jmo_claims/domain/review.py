"""An officer's decision on a claim in manual review: the reason codes and what the member reads.

The free-text note is shown to the member with the reason's sentence; the
officer's identity is kept for the audit and the officer's view only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

APPROVE = "approve"
REJECT = "reject"

APPROVAL_REASONS: dict[str, str] = {
    "documents_verified": "an officer checked your documents and data.",
    "identity_confirmed": "an officer confirmed your identity by video call.",
    "branch_verified": "your claim was verified at a branch office.",
    "heirs_confirmed": "an officer confirmed the heirs and their documents.",
    "bank_account_confirmed": "an officer confirmed your bank account.",
}

REJECTION_REASONS: dict[str, str] = {
    "documents_invalid": "the documents could not be accepted.",
    "data_mismatch": "the data on your documents does not match your membership data.",
    "identity_not_confirmed": "your identity could not be confirmed.",
    "bank_account_not_own_name": "the bank account is not in your own name.",
    "heirs_not_proven": "the heirs could not be confirmed from the documents.",
    "not_eligible": "the claim does not meet the conditions for its reason.",
    "withdrawn_by_member": "you withdrew the claim.",
}

REASONS = {APPROVE: APPROVAL_REASONS, REJECT: REJECTION_REASONS}


class ReviewRefused(Exception):
    code = "review_refused"


class UnknownReviewReason(ReviewRefused):
    code = "unknown_reason_code"

    def __init__(self, decision: str, reason_code: str) -> None:
        allowed = sorted(REASONS.get(decision, {}))
        super().__init__(f"reason_code for {decision} must be one of: {', '.join(allowed)}")
        self.decision = decision
        self.reason_code = reason_code


class AlreadyDecided(ReviewRefused):
    code = "claim_already_decided"

    def __init__(self, claim_id: str, status: str, decided: ReviewDecision | None) -> None:
        who = f" by another decision ({decided.decision}, {decided.reason_code})" if decided else ""
        super().__init__(f"claim {claim_id} was already decided{who}; it is {status}")
        self.claim_id = claim_id
        self.status = status
        self.decided = decided


class NotInReview(ReviewRefused):
    code = "claim_not_in_review"

    def __init__(self, claim_id: str, status: str) -> None:
        super().__init__(f"claim {claim_id} is {status}, not waiting for a manual review")
        self.claim_id = claim_id
        self.status = status


class RiskFlagsOpen(ReviewRefused):
    code = "risk_flags_open"

    def __init__(self, claim_id: str, flag_ids: list[str]) -> None:
        super().__init__(
            f"claim {claim_id} has open risk flags ({', '.join(flag_ids)}): clear them in the risk "
            f"service (POST /v1/risk/flags/{{flag_id}}/clear) before approving"
        )
        self.claim_id = claim_id
        self.status = "NEEDS_REVIEW"
        self.flag_ids = flag_ids


@dataclass(frozen=True)
class ReviewDecision:
    decision: str  # approve | reject
    reason_code: str
    note: str
    officer_id: str
    decided_at: datetime

    @classmethod
    def taken(cls, decision: str, reason_code: str, note: str, officer_id: str, at: datetime) -> ReviewDecision:
        """A new decision, its reason checked (stored ones load as they were, even if a code was retired)."""
        if reason_code not in REASONS.get(decision, {}):
            raise UnknownReviewReason(decision, reason_code)
        return cls(decision, reason_code, note, officer_id, at)

    @property
    def approves(self) -> bool:
        return self.decision == APPROVE

    def repeats(self, other: ReviewDecision) -> bool:
        """The same officer sending the same decision again: a retry, not a second decision."""
        return (self.decision, self.reason_code, self.officer_id) == (
            other.decision,
            other.reason_code,
            other.officer_id,
        )

    def member_note(self) -> str:
        sentence = REASONS.get(self.decision, {}).get(self.reason_code, "see the officer's note.")
        extra = f" {self.note.strip()}" if self.note.strip() else ""
        if self.approves:
            return f"Approved after review: {sentence}{extra} The payment is being prepared."
        return f"Not approved after review: {sentence}{extra} The amount held on your card is released."
