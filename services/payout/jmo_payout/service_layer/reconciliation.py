"""Running a reconciliation for one bank and business date, storing it, and reading the reports."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from pydantic import BaseModel, ConfigDict

from jmo_shared.errors import DomainError, ErrorKind, field_error, not_found
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database

from ..adapters.reconciliation_repository import (
    ReconciliationRepository,
    ensure_reconciliation_indexes,
    reconciliation_id,
)
from ..adapters.statements import Statement, StatementSource, StatementUnavailable
from ..domain.reconciliation import CODES, Mismatch, Outcome, Window, reconcile
from ..settings import PayoutSettings
from .context import PayoutContext

log = get_logger(__name__)

MISMATCHES = Gauge(
    "payout_reconciliation_mismatches",
    "Mismatches found by the last reconciliation run of a bank, by mismatch code",
    ["bank", "code"],
)
RUNS = Counter(
    "payout_reconciliation_runs_total",
    "Reconciliation runs by outcome: clean, mismatches, failed (statement unavailable)",
    ["outcome"],
)


@dataclass(frozen=True)
class ReconciliationPolicy:
    lease: timedelta
    retry: timedelta
    max_stored_mismatches: int

    @classmethod
    def from_settings(cls, settings: PayoutSettings) -> ReconciliationPolicy:
        return cls(
            lease=timedelta(seconds=settings.reconciliation_lease_seconds),
            retry=timedelta(seconds=settings.reconciliation_retry_seconds),
            max_stored_mismatches=settings.reconciliation_max_stored_mismatches,
        )


# The examples' report: BCA's business day of 1 March 2026 (WIB), five payouts sent, one booked short.
_RUN_ID = "9c5b2e71-4f3a-4d8e-b6a0-1e7d3c9f5a24"
EXAMPLE_SUMMARY: dict[str, Any] = {
    "reconciliation_id": "REC-014-20260301",
    "bank_code": "014",
    "business_date": "2026-03-01",
    "status": "mismatches",
    "run_id": _RUN_ID,
    "trigger": "api",
    "started_at": "2026-03-02T01:30:02Z",
    "finished_at": "2026-03-02T01:30:03Z",
    "counts": {
        "payouts_sent": 5,
        "settled": 4,
        "failed": 1,
        "in_flight": 0,
        "booked_from_earlier_days": 0,
        "notifications": 6,
        "duplicate_notifications": 1,
        "late_notifications": 0,
        "statement_entries": 4,
        "matched": 3,
        "pending": 0,
        "carried_over": 0,
        "mismatches": 1,
    },
    "totals": {"sent_idr": 69375000, "settled_idr": 68375000, "booked_idr": 68325000, "matched_idr": 66375000},
    "mismatch_counts": {
        "sent_not_on_statement": 0,
        "on_statement_not_sent": 0,
        "amount_mismatch": 1,
        "settled_but_not_booked": 0,
        "booked_but_failed": 0,
        "notification_missing": 0,
        "duplicate_booking": 0,
    },
    "run_count": 2,
    "error": None,
}
# Another bank's day, as the list shows it: nothing out of place.
EXAMPLE_CLEAN_SUMMARY: dict[str, Any] = {
    **EXAMPLE_SUMMARY,
    "reconciliation_id": "REC-009-20260301",
    "bank_code": "009",
    "status": "clean",
    "run_id": "5b7d9f1a-3c5e-4a7b-9d1f-6e8a0c2b4d63",
    "trigger": "schedule",
    "started_at": "2026-03-02T00:05:04Z",
    "finished_at": "2026-03-02T00:05:05Z",
    "counts": {
        **EXAMPLE_SUMMARY["counts"],
        "payouts_sent": 2,
        "settled": 2,
        "failed": 0,
        "notifications": 2,
        "duplicate_notifications": 0,
        "statement_entries": 2,
        "matched": 2,
        "mismatches": 0,
    },
    "totals": {"sent_idr": 37750000, "settled_idr": 37750000, "booked_idr": 37750000, "matched_idr": 37750000},
    "mismatch_counts": dict.fromkeys(EXAMPLE_SUMMARY["mismatch_counts"], 0),
    "run_count": 1,
}
_MISMATCH: dict[str, Any] = {
    "code": "amount_mismatch",
    "detail": "booked IDR 1950000, sent IDR 2000000",
    "payout_id": "c8d4e2a6-1b7f-4e39-9d05-3a6f8b2c4e17",
    "claim_id": "f1a3c5e7-2b4d-4f68-8a9c-0e2d4f6a8b13",
    "end_to_end_id": "E2Ec8d4e2a61b7f4e399d053a6f8b2c4e17",
    "expected_idr": 2000000,
    "booked_idr": 1950000,
    "entry_refs": ["014260301000417"],
}
_RUN: dict[str, Any] = {
    "run_id": _RUN_ID,
    "trigger": "api",
    "status": "mismatches",
    "started_at": "2026-03-02T01:30:02Z",
    "finished_at": "2026-03-02T01:30:03Z",
    "requested_by": "ops-1",
    "error": None,
    "mismatches": 1,
}
_SCHEDULED_RUN: dict[str, Any] = {
    "run_id": "2e8f4a6c-7d1b-4c93-a5e2-8b0f6d4c2a91",
    "trigger": "schedule",
    "status": "mismatches",
    "started_at": "2026-03-02T00:05:01Z",
    "finished_at": "2026-03-02T00:05:02Z",
    "requested_by": None,
    "error": None,
    "mismatches": 1,
}
_REPORT: dict[str, Any] = {
    **EXAMPLE_SUMMARY,
    "requested_by": "ops-1",
    "window": {"start": "2026-02-28T17:00:00Z", "end": "2026-03-01T17:00:00Z"},
    "statement": {
        "statement_id": "STMT-014-20260301",
        "account": "0147000001",
        "created_at": "2026-03-02T00:04:58Z",
        "opening_balance_idr": 5000000000,
        "closing_balance_idr": 4931675000,
        "entries": 4,
    },
    "mismatches": [_MISMATCH],
    "mismatches_truncated": False,
    "pending": [],
    "carried_over": [],
    "history": [_RUN, _SCHEDULED_RUN],
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class MismatchView(BaseModel):
    model_config = _examples(_MISMATCH)

    code: str
    detail: str
    payout_id: str | None = None
    claim_id: str | None = None
    end_to_end_id: str | None = None
    expected_idr: int | None = None
    booked_idr: int | None = None
    entry_refs: list[str] = []


class RunSummary(BaseModel):
    model_config = _examples(_RUN)

    run_id: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    requested_by: str | None = None
    error: str | None = None
    mismatches: int | None = None


class ReconciliationSummary(BaseModel):
    model_config = _examples(EXAMPLE_SUMMARY)

    reconciliation_id: str
    bank_code: str
    business_date: date
    status: str  # clean | mismatches | failed
    run_id: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, int] = {}
    totals: dict[str, int] = {}
    mismatch_counts: dict[str, int] = {}
    run_count: int = 1
    error: str | None = None


class ReconciliationView(ReconciliationSummary):
    """The report of the latest run of a bank-date, and the history of its runs."""

    model_config = _examples(_REPORT)

    requested_by: str | None = None
    window: dict[str, datetime] = {}
    statement: dict[str, Any] | None = None
    mismatches: list[MismatchView] = []
    mismatches_truncated: bool = False
    pending: list[str] = []
    carried_over: list[str] = []
    history: list[RunSummary] = []

    @property
    def clean(self) -> bool:
        return self.status == "clean"


def _mismatch_doc(m: Mismatch) -> dict[str, Any]:
    doc = asdict(m)
    doc["code"] = m.code.value
    doc["entry_refs"] = list(m.entry_refs)
    return doc


def _statement_doc(s: Statement) -> dict[str, Any]:
    return {
        "statement_id": s.statement_id,
        "account": s.account,
        "created_at": s.created_at,
        "opening_balance_idr": s.opening_balance_idr,
        "closing_balance_idr": s.closing_balance_idr,
        "entries": len(s.entries),
    }


def _view(doc: dict[str, Any]) -> ReconciliationView:
    return ReconciliationView.model_validate({**doc, "history": doc.get("history", [])})


class ReconciliationService:
    def __init__(
        self, db: Database, ctx: PayoutContext, statements: StatementSource, policy: ReconciliationPolicy
    ) -> None:
        self._db = db
        self._ctx = ctx
        self._statements = statements
        self._policy = policy
        self.repo = ReconciliationRepository(db)

    @property
    def clock(self):
        return self._ctx.clock

    async def ensure_indexes(self) -> None:
        await ensure_reconciliation_indexes(self._db)

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        tz = self._ctx.local_tz
        return (
            datetime.combine(day, time(0), tzinfo=tz),
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz),
        )

    def _check_request(self, bank_code: str, day: date) -> None:
        if bank_code not in self._ctx.partner_banks:
            raise field_error("bank_code", "not_a_partner_bank", f"bank {bank_code} is not a partner bank")
        if day > self.clock.now().astimezone(self._ctx.local_tz).date():
            raise field_error("date", "date_in_future", "a reconciliation covers a business day that has begun")

    async def run(
        self, bank_code: str, day: date, trigger: str, requested_by: str | None = None, scheduled: bool = False
    ) -> ReconciliationView | None:
        """Reconcile now and store the report (replacing the bank-date's previous one).
        None when `scheduled` and the day is already done or held by another worker."""
        self._check_request(bank_code, day)
        run_id = str(uuid.uuid4())
        started = self.clock.now()
        if not await self.repo.acquire(bank_code, day, run_id, started, self._policy.lease, scheduled):
            if scheduled:
                return None
            raise DomainError(
                code="reconciliation_running",
                kind=ErrorKind.CONFLICT,
                detail=f"a reconciliation of bank {bank_code} for {day} is running; try again shortly",
            )
        start, end = self.day_bounds(day)
        run: dict[str, Any] = {
            "_id": run_id,
            "run_id": run_id,
            "reconciliation_id": reconciliation_id(bank_code, day),
            "bank_code": bank_code,
            "business_date": day.isoformat(),
            "trigger": trigger,
            "requested_by": requested_by,
            "status": "running",
            "started_at": started,
            "finished_at": None,
            "window": {"start": start, "end": end},
        }
        try:
            await self.repo.start_run(run)
            try:
                statement = await self._statements.fetch(bank_code, day)
            except StatementUnavailable as exc:
                error = str(exc)
            else:
                outcome = await self._match(bank_code, day, start, end, statement)
                return await self._finished(run, statement, outcome, scheduled)
        except BaseException:
            # Whatever broke (database, cancellation), the bank-date must not stay locked until the lease lapses.
            await self.repo.release(bank_code, day, run_id, self.clock.now())
            raise
        await self._failed(run, error, scheduled)
        return None

    async def _match(self, bank_code: str, day: date, start: datetime, end: datetime, statement: Statement) -> Outcome:
        sent = await self.repo.sent_between(bank_code, start, end)
        sent_e2e = {p.end_to_end_id for p in sent}
        others = sorted({e.end_to_end_id for e in statement.entries} - sent_e2e)
        earlier = await self.repo.by_end_to_end_ids(bank_code, others) if others else []
        notices = await self.repo.notices_of([p.payout_id for p in [*sent, *earlier]])
        window = Window(
            business_date=day, start=start, end=end, now=self.clock.now(), bank_timeout=self._ctx.bank_timeout
        )
        return reconcile(window, sent, earlier, notices, statement.entries)

    async def _finished(
        self, run: dict[str, Any], statement: Statement, outcome: Outcome, scheduled: bool
    ) -> ReconciliationView:
        status = "clean" if outcome.clean else "mismatches"
        kept = outcome.mismatches[: self._policy.max_stored_mismatches]
        run.update(
            status=status,
            finished_at=self.clock.now(),
            statement=_statement_doc(statement),
            counts=outcome.counts,
            totals=outcome.totals,
            mismatch_counts=outcome.by_code,
            mismatches=[_mismatch_doc(m) for m in kept],
            mismatches_truncated=len(kept) < len(outcome.mismatches),
            pending=outcome.pending,
            carried_over=outcome.carried_over,
            error=None,
        )
        await self.repo.finish_run(run, replace_report=True)
        bank, day = run["bank_code"], date.fromisoformat(run["business_date"])
        await self.repo.release(bank, day, run["run_id"], self.clock.now(), scheduled_done=scheduled)
        RUNS.labels(status).inc()
        for code, count in outcome.by_code.items():
            MISMATCHES.labels(bank, code).set(count)
        for m in outcome.mismatches:
            log.warning(
                "reconciliation_mismatch",
                bank_code=bank,
                business_date=run["business_date"],
                code=m.code.value,
                payout_id=m.payout_id,
                end_to_end_id=m.end_to_end_id,
                detail=m.detail,
            )
        log.info(
            "reconciliation_finished",
            bank_code=bank,
            business_date=run["business_date"],
            trigger=run["trigger"],
            status=status,
            run_id=run["run_id"],
            counts=outcome.counts,
            totals=outcome.totals,
            mismatches={k: v for k, v in outcome.by_code.items() if v},
        )
        return await self.get(run["reconciliation_id"])

    async def _failed(self, run: dict[str, Any], error: str, scheduled: bool) -> None:
        """Stored as a failed run (the last good report stays), and refused to the caller."""
        now = self.clock.now()
        run.update(
            status="failed", finished_at=now, error=error, counts={}, totals={}, mismatch_counts={}, mismatches=[]
        )
        await self.repo.finish_run(run, replace_report=False)
        await self.repo.release(
            run["bank_code"],
            date.fromisoformat(run["business_date"]),
            run["run_id"],
            now,
            retry_at=now + self._policy.retry if scheduled else None,
        )
        RUNS.labels("failed").inc()
        log.warning(
            "reconciliation_statement_unavailable",
            bank_code=run["bank_code"],
            business_date=run["business_date"],
            run_id=run["run_id"],
            error=error,
        )
        raise DomainError(
            code="statement_unavailable",
            kind=ErrorKind.UPSTREAM_FAILED,
            detail=f"the statement of bank {run['bank_code']} for {run['business_date']} could not be read: {error}",
            extra={"reconciliation_id": run["reconciliation_id"], "run_id": run["run_id"]},
        )

    async def get(self, rec_id: str) -> ReconciliationView:
        doc = await self.repo.get(rec_id)
        if doc is None:
            raise not_found("reconciliation", code="reconciliation_not_found")
        return _view(doc)

    async def find(self, bank_code: str | None, day: date | None, limit: int) -> list[ReconciliationSummary]:
        return [ReconciliationSummary.model_validate(d) for d in await self.repo.find(bank_code, day, limit)]

    async def banks_to_reconcile(self, day: date) -> list[str]:
        start, end = self.day_bounds(day)
        return [b for b in await self.repo.banks_with_payouts(start, end) if b in self._ctx.partner_banks]


__all__ = ["CODES", "ReconciliationPolicy", "ReconciliationService", "ReconciliationSummary", "ReconciliationView"]
