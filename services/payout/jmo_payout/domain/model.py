"""A payout's life: SENT to the bank, then SETTLED or FAILED, and never changed after that.

A bank may report twice, late, or out of order; the first final report wins and
every later one is recorded by the caller but changes nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from jmo_shared.errors import DomainError, ErrorKind

from .ids import PayoutIds
from .rails import Rail
from .tax import TaxAssessment


class PayoutStatus(StrEnum):
    SENT = "SENT"
    SETTLED = "SETTLED"
    FAILED = "FAILED"


FINAL = frozenset({PayoutStatus.SETTLED, PayoutStatus.FAILED})

# ISO 20022 ExternalStatusReason-like code used when the bank never answers.
BANK_TIMEOUT = "bank_timeout"
BANK_NOT_PARTNER = "bank_not_partner"

ReportOutcome = Literal["settled", "failed", "duplicate", "late"]


@dataclass(frozen=True)
class BankReport:
    """A bank's pain.002-like status of one transfer."""

    payout_id: str
    end_to_end_id: str
    bank_code: str
    status: Literal["ACSC", "RJCT"]
    bank_reference: str
    reported_at: datetime
    reason_code: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Creditor:
    """The member's account the money goes to, named as the bank knows its holder."""

    name: str
    account_number: str
    bank_code: str


@dataclass(frozen=True)
class ClaimToPay:
    """What an approved claim asks to be paid."""

    claim_id: str
    member_id: str
    nik: str
    kpj: str
    reason: str
    entitlement_date: date


@dataclass
class Payout:
    payout_id: str
    claim_id: str
    member_id: str
    bank_code: str
    end_to_end_id: str
    gross_idr: int
    tax_idr: int
    net_idr: int
    rail: Rail | None
    status: PayoutStatus
    sent_at: datetime | None
    settled_at: datetime | None = None
    failed_at: datetime | None = None
    failure_code: str | None = None
    failure_reason: str = ""
    bank_reference: str | None = None
    # What it pays and how it was sent, fixed when it is created.
    claim: ClaimToPay | None = None
    tax: TaxAssessment | None = None
    ids: PayoutIds | None = None
    creditor: Creditor | None = None
    instruction: dict[str, Any] | None = None  # the transfer as sent: a resend carries the very same ids
    correlation_id: str | None = None  # the claim's, so the bank's answer continues the claim's trail
    created_at: datetime | None = None

    @classmethod
    def create(
        cls,
        claim: ClaimToPay,
        tax: TaxAssessment,
        ids: PayoutIds,
        creditor: Creditor,
        now: datetime,
        correlation_id: str | None = None,
    ) -> Payout:
        """A new payout of `tax.net_idr`, not yet sent (`send` or `refuse_bank` decides)."""
        return cls(
            payout_id=ids.payout_id,
            claim_id=claim.claim_id,
            member_id=claim.member_id,
            bank_code=creditor.bank_code,
            end_to_end_id=ids.end_to_end_id,
            gross_idr=tax.gross_idr,
            tax_idr=tax.tax_idr,
            net_idr=tax.net_idr,
            rail=None,
            status=PayoutStatus.SENT,
            sent_at=None,
            claim=claim,
            tax=tax,
            ids=ids,
            creditor=creditor,
            correlation_id=correlation_id,
            created_at=now,
        )

    def send(self, rail: Rail, instruction: dict[str, Any], now: datetime) -> None:
        self.status = PayoutStatus.SENT
        self.rail = rail
        self.sent_at = now
        self.instruction = instruction

    def refuse_bank(self, code: str, reason: str, now: datetime) -> None:
        """Never sent: there is no agreement (or no topic) with the member's bank."""
        self.status = PayoutStatus.FAILED
        self.failed_at = now
        self.failure_code = code
        self.failure_reason = reason

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    def check_reporter(self, report: BankReport) -> None:
        """Only the member's bank may report on a payout, and only about the transfer it was given."""
        if report.bank_code != self.bank_code:
            raise DomainError(
                code="wrong_bank", detail="this payout was sent to another bank", kind=ErrorKind.FORBIDDEN
            )
        if report.end_to_end_id != self.end_to_end_id:
            raise DomainError(
                code="end_to_end_id_mismatch",
                detail="end_to_end_id does not match the transfer sent for this payout",
                kind=ErrorKind.INVALID,
            )

    def apply_report(self, report: BankReport, now: datetime) -> ReportOutcome:
        self.check_reporter(report)
        if self.is_final:
            same = (report.status == "ACSC") == (self.status is PayoutStatus.SETTLED)
            return "duplicate" if same else "late"
        if report.status == "ACSC":
            self.status = PayoutStatus.SETTLED
            self.settled_at = now
            self.bank_reference = report.bank_reference
            return "settled"
        self.status = PayoutStatus.FAILED
        self.failed_at = now
        self.failure_code = report.reason_code or "RJCT"
        self.failure_reason = report.reason
        self.bank_reference = report.bank_reference
        return "failed"

    def is_overdue(self, now: datetime, timeout: timedelta) -> bool:
        return self.status is PayoutStatus.SENT and self.sent_at is not None and now - self.sent_at >= timeout

    def time_out(self, now: datetime) -> None:
        if self.status is not PayoutStatus.SENT:
            raise DomainError(code="not_in_flight", detail=f"payout is {self.status}", kind=ErrorKind.CONFLICT)
        self.status = PayoutStatus.FAILED
        self.failed_at = now
        self.failure_code = BANK_TIMEOUT
        self.failure_reason = "the bank did not report a result in time"
