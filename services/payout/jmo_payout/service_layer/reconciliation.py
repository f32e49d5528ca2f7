"""Running a reconciliation for one bank and business date, storing it, and reading the reports."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from pydantic import BaseModel

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


class MismatchView(BaseModel):
    code: str
    detail: str
    payout_id: str | None = None
    claim_id: str | None = None
    end_to_end_id: str | None = None
    expected_idr: int | None = None
    booked_idr: int | None = None
    entry_refs: list[str] = []


class RunSummary(BaseModel):
    run_id: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    requested_by: str | None = None
    error: str | None = None
    mismatches: int | None = None


class ReconciliationSummary(BaseModel):
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
