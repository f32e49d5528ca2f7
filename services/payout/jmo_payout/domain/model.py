"""A payout's life: SENT to the bank, then SETTLED or FAILED, and never changed after that.

A bank may report twice, late, or out of order; the first final report wins and
every later one is recorded by the caller but changes nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from jmo_shared.errors import DomainError, ErrorKind

from .rails import Rail


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
