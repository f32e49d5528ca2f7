"""The claims worker: `python -m jmo_claims.entrypoints.worker` (port CLAIMS_WORKER_PORT, 8104).

Projections of the feeds and of the other services' events, the claim's progress
from balance and payout, the outbox relay, the SLA escalation sweep and the
claims-per-status gauge, the removal of documents no claim named; /healthz, /readyz and /metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.logging import get_logger
from jmo_shared.periodic import every
from jmo_shared.runtime import serve, worker_app

from ..bootstrap import ClaimsService, build
from ..service_layer.escalation import reconcile_status_counts, refresh_status_gauge
from ..settings import ClaimsSettings

log = get_logger(__name__)


def periodic_tasks(service: ClaimsService, stopping: asyncio.Event) -> list[Callable[[], Awaitable[None]]]:
    settings = service.settings
    tasks = [
        every("sla_sweep", settings.sla_sweep_interval_seconds, service.escalation.sweep, stopping=stopping),
        every(
            "claims_by_status",
            settings.status_gauge_interval_seconds,
            lambda: refresh_status_gauge(service.runtime.db),
            stopping=stopping,
        ),
        every(
            "unattached_documents",
            settings.document_sweep_interval_seconds,
            service.uploads.remove_unattached,
            stopping=stopping,
        ),
    ]
    if settings.risk_verdict_wait_seconds > 0:
        # Claims held for the risk service's verdict whose wait ended without one.
        tasks.append(
            every(
                "risk_verdict_sweep",
                settings.risk_verdict_sweep_interval_seconds,
                service.risk.sweep,
                stopping=stopping,
            )
        )
    return tasks


def create_worker(settings: ClaimsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ClaimsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: the runtime's Kafka client needs the running event loop.
        service = build(settings, clock)
        app.state.claims = service
        stopping = asyncio.Event()

        async def on_start() -> None:
            await service.ensure_indexes()
            await service.escalation.prepare()
            await reconcile_status_counts(service.runtime.db)

        worker = worker_app(
            service.runtime,
            service.consumers(),
            relay=True,
            on_start=on_start,
            extra_tasks=periodic_tasks(service, stopping),
        )
        # The shared worker lifespan runs against this app, so its readiness checks land here.
        async with worker.router.lifespan_context(app):
            try:
                yield
            finally:
                # Let a sweep in progress finish its claim; the shared worker cancels what is left.
                stopping.set()

    return create_app(
        title="claims worker",
        description="Kafka consumers (projections, claim progress), the outbox relay and the SLA escalation sweep "
        "of the claims service.",
        lifespan=lifespan,
        routers=[],
    )


def main() -> None:
    settings = ClaimsSettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
