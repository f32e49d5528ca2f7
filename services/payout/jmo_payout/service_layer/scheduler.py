"""The worker's daily reconciliation: after the configured local time, the previous business day
of every bank that had payouts, once, whichever of several workers gets there first."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from jmo_shared.errors import DomainError
from jmo_shared.logging import get_logger

from .reconciliation import ReconciliationService

log = get_logger(__name__)


def due_days(now: datetime, run_at: time, tz: tzinfo, lookback_days: int) -> list[date]:
    """The business days whose reconciliation is due at `now`, newest first: the previous day once
    the local clock has passed `run_at`, and the days before it in case a run was missed."""
    local = now.astimezone(tz)
    since_run_at = timedelta(hours=run_at.hour, minutes=run_at.minute, seconds=run_at.second)
    latest = (local - since_run_at).date() - timedelta(days=1)
    return [latest - timedelta(days=i) for i in range(lookback_days)]


class ReconciliationScheduler:
    def __init__(self, service: ReconciliationService, tz: tzinfo, run_at: time, lookback_days: int) -> None:
        self._service = service
        self._tz = tz
        self._run_at = run_at
        self._lookback = lookback_days
        # Bank-days this process knows are done, so the periodic check does not ask the database again.
        self._done: set[tuple[str, date]] = set()
        # A past day gets no new payouts, so its banks are looked up once.
        self._banks: dict[date, list[str]] = {}

    async def run_due(self) -> list[tuple[str, date, str]]:
        """Run every due reconciliation this worker can take; returns (bank, day, status) of those it ran."""
        ran: list[tuple[str, date, str]] = []
        days = due_days(self._service.clock.now(), self._run_at, self._tz, self._lookback)
        self._banks = {d: banks for d, banks in self._banks.items() if d in days}
        for day in days:
            if day not in self._banks:
                self._banks[day] = await self._service.banks_to_reconcile(day)
            for bank in self._banks[day]:
                if (bank, day) in self._done:
                    continue
                if await self._service.repo.scheduled_done(bank, day):
                    self._done.add((bank, day))
                    continue
                try:
                    report = await self._service.run(bank, day, trigger="schedule", scheduled=True)
                except DomainError as exc:  # statement not there yet: the lease's retry time brings it back
                    ran.append((bank, day, exc.code))
                    continue
                if report is not None:
                    self._done.add((bank, day))
                    ran.append((bank, day, report.status))
        return ran

    async def check(self) -> None:
        """One look at the schedule (the worker runs it every check interval, jmo_shared.periodic)."""
        ran = await self.run_due()
        if ran:
            log.info("scheduled_reconciliations", ran=[f"{b}:{d}:{s}" for b, d, s in ran])
