"""The bank's signed HTTP report (pain.002-like): verify, parse, apply, and keep an audit of refusals too."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters.bank_signature import verify_bank_signature
from ..adapters.repository import PayoutRepository
from ..domain.model import BankReport
from .context import PayoutContext
from .handlers import apply_bank_report

log = get_logger(__name__)


class BankNotification(BaseModel):
    payout_id: str = Field(min_length=1, max_length=64)
    end_to_end_id: str = Field(min_length=1, max_length=35)
    bank_code: str = Field(pattern=r"^\d{3}$")
    status: Literal["ACSC", "RJCT"]
    reason_code: str | None = Field(default=None, max_length=35)
    reason: str = Field(default="", max_length=500)
    bank_reference: str = Field(min_length=1, max_length=64)
    reported_at: datetime


class NotificationAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payout_id": "3f6c2a9e-8b1d-4c7e-9a52-6d0e4f1b7c38",
                    "status": "SETTLED",
                    "outcome": "settled",
                    "settled_at": "2026-03-02T03:20:14Z",
                    "failed_at": None,
                    "reason_code": None,
                }
            ]
        }
    )

    payout_id: str
    status: str
    outcome: Literal["settled", "failed", "duplicate", "late"]
    settled_at: datetime | None = None
    failed_at: datetime | None = None
    reason_code: str | None = None


async def receive_bank_notification(
    db: Database, raw_body: bytes, headers: Mapping[str, str], ctx: PayoutContext
) -> NotificationAnswer:
    now = ctx.clock.now()
    bank_code = verify_bank_signature(headers, raw_body, ctx.bank_secrets, now, ctx.max_notification_skew)
    # Parsed only once the signature holds; a malformed body raises pydantic's ValidationError,
    # which the route answers as a field-by-field 422.
    body = BankNotification.model_validate_json(raw_body)
    if body.bank_code != bank_code:
        raise DomainError(code="wrong_bank", detail="bank_code differs from the signing bank", kind=ErrorKind.FORBIDDEN)
    report = BankReport(
        payout_id=body.payout_id,
        end_to_end_id=body.end_to_end_id,
        bank_code=body.bank_code,
        status=body.status,
        bank_reference=body.bank_reference,
        reported_at=body.reported_at,
        reason_code=body.reason_code,
        reason=body.reason,
    )

    async def work(tx: Tx):
        return await apply_bank_report(tx, report, "http", ctx)

    try:
        outcome, payout = await db.transaction(work)
    except DomainError as exc:
        await _audit_refusal(db, report, exc, now)
        raise
    return NotificationAnswer(
        payout_id=payout.payout_id,
        status=payout.status.value,
        outcome=outcome,
        settled_at=payout.settled_at,
        failed_at=payout.failed_at,
        reason_code=payout.failure_code,
    )


async def _audit_refusal(db: Database, report: BankReport, exc: DomainError, now: datetime) -> None:
    """A signed report we refused is still evidence of what a bank said: keep it."""
    log.warning("bank_report_refused", payout_id=report.payout_id, bank_code=report.bank_code, code=exc.code)
    await PayoutRepository(db).record_report(report, "http", f"refused:{exc.code}", now)
