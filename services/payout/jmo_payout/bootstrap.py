"""The composition root: builds the payout API and worker from settings (nothing runs at import).

The shared Runtime opens Kafka clients that must be created inside a running
event loop, while `serve()` starts the loop only after it is handed the app.
So the app factories return an app at once and build the Runtime in its lifespan.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.events import BankPayoutStatus, ClaimApproved
from jmo_shared.http import create_app
from jmo_shared.logging import get_logger
from jmo_shared.periodic import every
from jmo_shared.runtime import Runtime, api_lifespan, worker_app
from jmo_shared.topics import BANK_STATUS_PREFIX, CLAIMS_EVENTS

from .adapters.statements import StatementSources
from .entrypoints.reconciliation_routes import reconciliations
from .entrypoints.routers import bank, payouts
from .service_layer.context import PayoutContext
from .service_layer.reconciliation import ReconciliationPolicy, ReconciliationService
from .service_layer.scheduler import ReconciliationScheduler
from .service_layer.service import PayoutService
from .settings import PayoutSettings

log = get_logger(__name__)

BANK_STATUS_PATTERN = "^" + BANK_STATUS_PREFIX.replace(".", r"\.") + ".*"


def build_service(settings: PayoutSettings, clock: Clock | None = None) -> tuple[Runtime, PayoutService]:
    runtime = Runtime(settings)
    return runtime, PayoutService(runtime.db, PayoutContext.from_settings(settings, clock))


def build_reconciliation(settings: PayoutSettings, service: PayoutService,
                         http: httpx.AsyncClient) -> ReconciliationService:
    sources = StatementSources(http, settings.statement_source, dict(settings.statement_sources))
    return ReconciliationService(service.db, service.ctx, sources, ReconciliationPolicy.from_settings(settings))


def statement_client(settings: PayoutSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=settings.statement_timeout_seconds)


def create_api(settings: PayoutSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or PayoutSettings()
    settings.check_deployable()  # before anything listens: a clear error, not a payout that trusts no bank

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime, service = build_service(settings, clock)
        app.state.payout_service = service
        async with statement_client(settings) as http:
            reconciliation = build_reconciliation(settings, service, http)
            app.state.reconciliation = reconciliation

            async def on_start(_: FastAPI) -> None:
                await service.ensure_indexes()
                await reconciliation.ensure_indexes()

            async with api_lifespan(runtime, on_start)(app):
                yield

    return create_app(
        title="payout",
        description="JHT payouts: PPh 21, rail, the transfer to the member's bank and the bank's reports.",
        lifespan=lifespan,
        routers=[payouts, bank, reconciliations],
        max_body_bytes=settings.max_json_body_bytes,
    )


def _log_timed_out(failed: object) -> None:
    if failed:
        log.warning("payouts_timed_out", count=failed)


def create_worker(settings: PayoutSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or PayoutSettings()
    settings.check_deployable()  # before anything listens: a clear error, not a payout that trusts no bank

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime, service = build_service(settings, clock)
        app.state.payout_service = service
        stopping = asyncio.Event()
        claims = runtime.consumer("claims", topics=[CLAIMS_EVENTS]).on(ClaimApproved, service.on_claim_approved)
        bank_status = runtime.consumer("bank-status", pattern=BANK_STATUS_PATTERN).on(
            BankPayoutStatus, service.on_bank_status
        )
        async with statement_client(settings) as http:
            reconciliation = build_reconciliation(settings, service, http)
            app.state.reconciliation = reconciliation
            # Nothing sent moments ago is overdue: the first sweep waits one period.
            tasks = [every("payout_timeouts", settings.timeout_sweep_interval_seconds, service.time_out_overdue,
                           stopping=stopping, wait_first=True, on_result=_log_timed_out)]
            if settings.reconciliation_schedule_enabled:
                scheduler = ReconciliationScheduler(
                    reconciliation, settings.tzinfo(), settings.reconciliation_run_at,
                    settings.reconciliation_lookback_days)
                tasks.append(every("reconciliation_schedule", settings.reconciliation_check_interval_seconds,
                                   scheduler.check, stopping=stopping))

            async def on_start() -> None:
                await service.ensure_indexes()
                await reconciliation.ensure_indexes()

            inner = worker_app(runtime, [claims, bank_status], on_start=on_start, extra_tasks=tasks)
            # The shared worker lifespan only keeps state on the app it is given: run it for this one.
            async with inner.router.lifespan_context(app):
                try:
                    yield
                finally:
                    # The shared worker waits for its tasks to end before cancelling them: tell the loops.
                    stopping.set()

    return create_app(
        title="payout worker",
        description="ClaimApproved -> payouts; bank status topics; bank timeouts; daily reconciliation; the outbox relay.",
        lifespan=lifespan,
        routers=[],
    )
