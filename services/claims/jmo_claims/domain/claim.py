"""A claim and its state machine.

SUBMITTED -> VERIFYING -> APPROVED -> PAYING -> PAID, or REJECTED / NEEDS_REVIEW /
PAYOUT_FAILED with a reason code. Every move is kept on the claim's timeline and
collected in `changes` so the service layer can publish it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from .escalation import Escalation, breach_note, escalation_due_at, level_due
from .model import BankAccount, Estimate
from .policy import ClaimPolicy
from .review import AlreadyDecided, NotInReview, ReviewDecision, RiskFlagsOpen
from .risk import RISK_REVIEW, RISK_REVIEW_NOTE, RISK_UNAVAILABLE, RISK_UNAVAILABLE_NOTE, RiskFlag
from .tax import estimate
from .text import rupiah


class Status(StrEnum):
    SUBMITTED = "SUBMITTED"
    VERIFYING = "VERIFYING"
    APPROVED = "APPROVED"
    PAYING = "PAYING"
    PAID = "PAID"
    REJECTED = "REJECTED"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    PAYOUT_FAILED = "PAYOUT_FAILED"


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.VERIFYING, Status.REJECTED}),
    Status.VERIFYING: frozenset({Status.APPROVED, Status.NEEDS_REVIEW, Status.REJECTED}),
    Status.NEEDS_REVIEW: frozenset({Status.APPROVED, Status.REJECTED}),
    # The payout service may fail before it reports the transfer as initiated.
    Status.APPROVED: frozenset({Status.PAYING, Status.PAYOUT_FAILED}),
    Status.PAYING: frozenset({Status.PAID, Status.PAYOUT_FAILED}),
    Status.PAID: frozenset(),
    Status.REJECTED: frozenset(),
    # Balance releases the reservation on a failed payout, so the member fixes the
    # account and submits again; the failed claim itself stays as it is.
    Status.PAYOUT_FAILED: frozenset(),
}

# A claim holds the member's one open slot until it ends one way or the other.
CLOSED = frozenset({Status.PAID, Status.REJECTED, Status.PAYOUT_FAILED})

# Position on the way to PAID: an event for a step already behind is late or repeated.
_PROGRESS = {
    Status.SUBMITTED: 0,
    Status.VERIFYING: 1,
    Status.APPROVED: 2,
    Status.NEEDS_REVIEW: 2,
    Status.PAYING: 3,
    Status.PAID: 4,
}

# What a member can do about a failed transfer, by ISO 20022 / payout reason code.
_PAYOUT_FAILURE_ADVICE = {
    "AC01": "The bank says the account number does not exist.",
    "AC04": "The bank says the account is closed.",
    "AC06": "The bank says the account is blocked.",
    "BE01": "The bank says the account holder's name does not match.",
    "AG01": "The bank does not accept this transfer on the account.",
    "bank_timeout": "The bank did not answer in time.",
}


class IllegalTransition(Exception):
    def __init__(self, claim_id: str, current: Status, target: Status) -> None:
        super().__init__(f"claim {claim_id} cannot move from {current} to {target}")
        self.claim_id = claim_id
        self.current = current
        self.target = target


@dataclass(frozen=True)
class TimelineEntry:
    status: Status
    at: datetime
    note: str = ""
    reason_code: str | None = None
    # "status": a move of the state machine; "sla_breach": the claim is late and was escalated
    # (status = the claim's status at the time).
    kind: str = "status"
    # The officer who made the move; shown to officers only.
    actor: str | None = None


def payout_failure_note(reason_code: str, bank_reason: str = "") -> str:
    advice = _PAYOUT_FAILURE_ADVICE.get(reason_code) or (
        f"The bank refused the transfer ({bank_reason or reason_code})."
    )
    return (
        f"{advice} Check your bank account in a data update (tax-bank step), "
        f"then submit the claim again; the amount is back on your card."
    )


@dataclass
class Claim:
    claim_id: str
    member_id: str
    nik: str
    kpj: str
    reason: str
    document_ids: tuple[str, ...]
    verification_id: str
    submitted_at: datetime
    sla_due_at: datetime
    estimated: Estimate
    beneficiary_name: str
    bank_account: BankAccount | None
    npwp: str | None = None
    partial_percent: int | None = None
    employment_ended_on: date | None = None
    status: Status = Status.SUBMITTED
    reason_code: str | None = None
    gross_idr: int | None = None
    tax_idr: int | None = None
    net_idr: int | None = None
    payout_id: str | None = None
    # Where gross/tax/net come from: "estimate" (submission), "reservation" (the amount
    # held, tax estimated) or "payout" (what the payout service computed and withholds).
    amounts_source: str = "estimate"
    review: ReviewDecision | None = None
    # A breach stays on record however the claim ends.
    sla_breached_at: datetime | None = None
    escalation_level: int = 0
    escalated_to: str | None = None
    # When the sweep next looks at this claim (the SLA due time at first); None past the last level.
    next_escalation_at: datetime | None = None
    # Flags from the risk service's stream rules (officers see them; the member does not).
    risk_flags: list[RiskFlag] = field(default_factory=list)
    # Held in VERIFYING for the risk service's verdict until then (CLAIMS_RISK_VERDICT_WAIT_SECONDS).
    verdict_due_at: datetime | None = None
    # The risk service screened the claim (ClaimScreened): the hold for a verdict is over.
    risk_screened: bool = False
    # The correlation id of the submission: what a timer does to the claim later goes under it too.
    correlation_id: str | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)
    changes: list[TimelineEntry] = field(default_factory=list)

    @classmethod
    def submit(cls, **fields: Any) -> Claim:
        claim = cls(**fields)
        est = claim.estimated
        claim.gross_idr, claim.tax_idr, claim.net_idr = est.gross_idr, est.tax_idr, est.net_idr
        claim.next_escalation_at = claim.sla_due_at
        claim._record(TimelineEntry(Status.SUBMITTED, claim.submitted_at, "Claim received."))
        return claim

    @property
    def open(self) -> bool:
        return self.status not in CLOSED

    def can_move(self, target: Status) -> bool:
        return target in ALLOWED[self.status]

    def has_reached(self, target: Status) -> bool:
        """True when the claim is at or past `target`: an event asking for it again changes nothing."""
        if self.status == target:
            return True
        here, there = _PROGRESS.get(self.status), _PROGRESS.get(target)
        return here is not None and there is not None and here >= there

    def _record(self, entry: TimelineEntry) -> None:
        self.timeline.append(entry)
        self.changes.append(entry)

    def move(
        self, target: Status, at: datetime, note: str = "", reason_code: str | None = None, actor: str | None = None
    ) -> None:
        if not self.can_move(target):
            raise IllegalTransition(self.claim_id, self.status, target)
        self.status = target
        # The claim's reason code explains its current state only.
        self.reason_code = reason_code
        self._record(TimelineEntry(target, at, note, reason_code, actor=actor))

    # --- the steps, in the words of the flow ---------------------------------

    def balance_reserved(self, amount_idr: int, at: datetime, policy: ClaimPolicy) -> None:
        if not self.can_move(Status.VERIFYING):
            raise IllegalTransition(self.claim_id, self.status, Status.VERIFYING)
        held = estimate(amount_idr, bool(self.npwp), policy)
        self.gross_idr, self.tax_idr, self.net_idr = held.gross_idr, held.tax_idr, held.net_idr
        self.amounts_source = "reservation"
        self.move(Status.VERIFYING, at, f"{rupiah(amount_idr)} is held on card {self.kpj}; checking the claim.")

    def review_reason(self, policy: ClaimPolicy, current_account: BankAccount | None) -> tuple[str, str] | None:
        """Why this claim must go to an officer instead of straight to payment, if it must."""
        if self.open_risk_flags:
            return (RISK_REVIEW, RISK_REVIEW_NOTE)
        if self.reason == "death":
            return (
                "heir_payee_review",
                "A death claim is paid to the heirs: an officer checks the heirs and their account.",
            )
        if (self.gross_idr or 0) > policy.app_channel_cap_idr:
            return (
                "above_app_cap",
                f"The app pays claims up to {rupiah(policy.app_channel_cap_idr)}; an officer will finish "
                f"this one with you by video call or at a branch.",
            )
        if not _same_account(self.bank_account, current_account):
            return (
                "bank_account_changed",
                "Your bank account changed after you submitted; an officer confirms it before paying.",
            )
        return None

    def verify(self, at: datetime, policy: ClaimPolicy, current_account: BankAccount | None) -> bool:
        """Apply the rules; True when approved for payment."""
        review = self.review_reason(policy, current_account)
        if review is not None:
            code, note = review
            self.move(Status.NEEDS_REVIEW, at, note, code)
            return False
        self.move(Status.APPROVED, at, "Approved; the payment is being prepared.")
        return True

    # --- risk flags and the hold for a verdict ------------------------------------

    @property
    def open_risk_flags(self) -> list[RiskFlag]:
        return [f for f in self.risk_flags if f.open and not f.after_payout]

    def risk_flagged(self, flag: RiskFlag, at: datetime) -> str:
        """Keep a flag; a claim not yet approved for payment goes to an officer. The outcome, for the log."""
        if any(f.flag_id == flag.flag_id for f in self.risk_flags):
            return "repeated"
        if self.status in (Status.APPROVED, Status.PAYING, Status.PAID):
            # ClaimApproved has left: payout may already have sent the money. Kept for follow-up.
            self.risk_flags.append(replace(flag, after_payout=True))
            return "after_payout"
        self.risk_flags.append(flag)
        if self.status == Status.VERIFYING:
            # Held for a verdict: the flag is the verdict.
            self.verdict_due_at = None
            self.move(Status.NEEDS_REVIEW, at, RISK_REVIEW_NOTE, RISK_REVIEW)
            return "review"
        # SUBMITTED: routed to review when the balance is held (review_reason); NEEDS_REVIEW: the officer sees it.
        return "held" if self.status == Status.SUBMITTED else "kept"

    def risk_flag_cleared(self, flag_id: str, by: str, note: str, at: datetime) -> bool:
        for i, f in enumerate(self.risk_flags):
            if f.flag_id == flag_id and f.open:
                self.risk_flags[i] = f.cleared(by, note, at)
                return True
        return False

    def hold_for_verdict(self, at: datetime, wait_seconds: float) -> bool:
        """Hold a verifying claim for the risk service's verdict (a flag or ClaimScreened), if one is due."""
        if wait_seconds <= 0 or self.risk_screened or self.status != Status.VERIFYING:
            return False
        self.verdict_due_at = at + timedelta(seconds=wait_seconds)
        return True

    def verdict_missing(
        self, at: datetime, policy: ClaimPolicy, current_account: BankAccount | None, proceed: bool
    ) -> bool:
        """The hold ended without a verdict: on as usual (`proceed`), or to an officer. True when approved."""
        self.verdict_due_at = None
        if proceed:
            return self.verify(at, policy, current_account)
        self.move(Status.NEEDS_REVIEW, at, RISK_UNAVAILABLE_NOTE, RISK_UNAVAILABLE)
        return False

    def reject(self, reason_code: str, message: str, at: datetime) -> None:
        self.move(Status.REJECTED, at, message, reason_code)

    def payout_initiated(self, payout_id: str, gross_idr: int, tax_idr: int, net_idr: int, at: datetime) -> None:
        if not self.can_move(Status.PAYING):
            raise IllegalTransition(self.claim_id, self.status, Status.PAYING)
        self.payout_id = payout_id
        self.gross_idr, self.tax_idr, self.net_idr = gross_idr, tax_idr, net_idr
        self.amounts_source = "payout"
        self.move(
            Status.PAYING, at, f"{rupiah(net_idr)} is on its way to your bank ({rupiah(tax_idr)} PPh 21 withheld)."
        )

    def paid(self, gross_idr: int, tax_idr: int, net_idr: int, at: datetime) -> None:
        if not self.can_move(Status.PAID):
            raise IllegalTransition(self.claim_id, self.status, Status.PAID)
        self.gross_idr, self.tax_idr, self.net_idr = gross_idr, tax_idr, net_idr
        self.amounts_source = "payout"
        self.move(Status.PAID, at, f"{rupiah(net_idr)} was credited to your bank account.")

    def payout_failed(self, reason_code: str, bank_reason: str, at: datetime) -> None:
        self.move(Status.PAYOUT_FAILED, at, payout_failure_note(reason_code, bank_reason), reason_code)

    # --- manual review and SLA escalation ---------------------------------------

    def decide_review(self, decision: ReviewDecision) -> bool:
        """Apply an officer's decision; False when it repeats the decision already taken (a retry)."""
        if self.review is not None:
            if self.review.repeats(decision):
                return False
            raise AlreadyDecided(self.claim_id, self.status.value, self.review)
        if self.status != Status.NEEDS_REVIEW:
            if self.status in (Status.SUBMITTED, Status.VERIFYING):
                raise NotInReview(self.claim_id, self.status.value)
            raise AlreadyDecided(self.claim_id, self.status.value, None)
        if decision.approves and self.open_risk_flags:
            raise RiskFlagsOpen(self.claim_id, [f.flag_id for f in self.open_risk_flags])
        self.review = decision
        target = Status.APPROVED if decision.approves else Status.REJECTED
        self.move(target, decision.decided_at, decision.member_note(), decision.reason_code, actor=decision.officer_id)
        return True

    def escalate(self, now: datetime, policy: ClaimPolicy) -> Escalation | None:
        """Mark a late open claim breached (once) and escalate it to the level due now, if one is.

        Always recomputes `next_escalation_at`, so a claim whose escalation is not due
        (settings changed) stops being picked up until it is.
        """
        if not self.open:
            return None
        level = level_due(self.sla_due_at, self.escalation_level, now, policy)
        escalation = None
        if level > self.escalation_level:
            first = self.sla_breached_at is None
            if first:
                self.sla_breached_at = now
            to = policy.sla_escalation_targets[level - 1]
            self.escalation_level, self.escalated_to = level, to
            # Not a move of the state machine: on the timeline, not in `changes` (no ClaimStatusChanged).
            self.timeline.append(
                TimelineEntry(
                    self.status,
                    now,
                    breach_note(level, to, self.sla_due_at, policy),
                    "sla_breached" if first else "sla_escalated",
                    kind="sla_breach",
                )
            )
            escalation = Escalation(level, to, first, now)
        self.next_escalation_at = escalation_due_at(self.sla_due_at, self.escalation_level + 1, policy)
        return escalation

    def entitlement_date(self, today: date) -> date:
        """Start of the two-calendar-year window of the lump-sum tax rate."""
        return self.employment_ended_on or today


def _same_account(a: BankAccount | None, b: BankAccount | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.bank_code, a.account_number) == (b.bank_code, b.account_number)
