"""The one place the payout service is put together from its settings. Nothing runs at import.

`build(settings, clock)` gives the PayoutService: the runtime (database, Kafka), the payout use
cases, the reconciliation and the statement client. The shared Runtime opens Kafka clients that
must be created inside a running event loop, so the entrypoints (entrypoints/api.py, worker.py)
call build() in their lifespans and close what it opened on the way out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from jmo_shared import httpclient
from jmo_shared.clock import Clock
from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.events import BankPayoutStatus, ClaimApproved
from jmo_shared.logging import get_logger
from jmo_shared.periodic import every
from jmo_shared.runtime import Runtime
from jmo_shared.topics import BANK_STATUS_PREFIX, CLAIMS_EVENTS

from .adapters.statements import StatementSources
from .service_layer.context import PayoutContext
from .service_layer.reconciliation import ReconciliationPolicy, ReconciliationService
from .service_layer.scheduler import ReconciliationScheduler
from .service_layer.service import Payouts
from .settings import PayoutSettings

log = get_logger(__name__)

BANK_STATUS_PATTERN = "^" + BANK_STATUS_PREFIX.replace(".", r"\.") + ".*"


@dataclass
class PayoutService:
    settings: PayoutSettings
    runtime: Runtime
    payouts: Payouts
    reconciliation: ReconciliationService
    statements_http: httpx.AsyncClient

    async def ensure_indexes(self) -> None:
        await self.payouts.ensure_indexes()
        await self.reconciliation.ensure_indexes()

    def consumers(self) -> list[IdempotentConsumer]:
        claims = self.runtime.consumer("claims", topics=[CLAIMS_EVENTS]).on(
            ClaimApproved, self.payouts.on_claim_approved
        )
        bank_status = self.runtime.consumer("bank-status", pattern=BANK_STATUS_PATTERN).on(
            BankPayoutStatus, self.payouts.on_bank_status
        )
        return [claims, bank_status]

    def periodic_tasks(self, stopping: asyncio.Event) -> list[Callable[[], Awaitable[None]]]:
        settings = self.settings
        # Nothing sent moments ago is overdue: the first sweep waits one period.
        tasks = [
            every(
                "payout_timeouts",
                settings.timeout_sweep_interval_seconds,
                self.payouts.time_out_overdue,
                stopping=stopping,
                wait_first=True,
                on_result=_log_timed_out,
            )
        ]
        if settings.reconciliation_schedule_enabled:
            scheduler = ReconciliationScheduler(
                self.reconciliation,
                settings.tzinfo(),
                settings.reconciliation_run_at,
                settings.reconciliation_lookback_days,
            )
            tasks.append(
                every(
                    "reconciliation_schedule",
                    settings.reconciliation_check_interval_seconds,
                    scheduler.check,
                    stopping=stopping,
                )
            )
        return tasks

    async def aclose(self) -> None:
        await self.statements_http.aclose()


def build(settings: PayoutSettings, clock: Clock | None = None) -> PayoutService:
    runtime = Runtime(settings)
    payouts = Payouts(runtime.db, PayoutContext.from_settings(settings, clock))
    http = statement_client(settings)
    sources = StatementSources(http, settings.statement_source, dict(settings.statement_sources))
    reconciliation = ReconciliationService(
        payouts.db, payouts.ctx, sources, ReconciliationPolicy.from_settings(settings)
    )
    return PayoutService(settings, runtime, payouts, reconciliation, http)


def statement_client(settings: PayoutSettings) -> httpx.AsyncClient:
    return httpclient.async_client(timeout=settings.statement_timeout_seconds)


def _log_timed_out(failed: object) -> None:
    if failed:
        log.warning("payouts_timed_out", count=failed)
