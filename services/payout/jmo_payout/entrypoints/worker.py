"""`python -m jmo_payout.entrypoints.worker`: consumers (ClaimApproved, the banks' status topics), the
outbox relay, the bank-timeout sweep and the daily reconciliation; health and metrics on
PAYOUT_WORKER_PORT (8105)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import serve, worker_app

from ..bootstrap import build
from ..settings import PayoutSettings


def create_worker(settings: PayoutSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or PayoutSettings()
    settings.check_deployable()  # before anything listens: a clear error, not a payout that trusts no bank

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: the runtime's Kafka client needs the running event loop.
        service = build(settings, clock)
        app.state.payouts = service.payouts
        app.state.reconciliation = service.reconciliation
        stopping = asyncio.Event()
        worker = worker_app(
            service.runtime,
            service.consumers(),
            on_start=service.ensure_indexes,
            extra_tasks=service.periodic_tasks(stopping),
        )
        try:
            # The shared worker lifespan only keeps state on the app it is given: run it for this one.
            async with worker.router.lifespan_context(app):
                try:
                    yield
                finally:
                    # The shared worker waits for its tasks to end before cancelling them: tell the loops.
                    stopping.set()
        finally:
            await service.aclose()

    return create_app(
        title="payout worker",
        description="ClaimApproved -> payouts; bank status topics; bank timeouts; daily reconciliation; the outbox relay.",
        lifespan=lifespan,
        routers=[],
    )


def main() -> None:
    settings = PayoutSettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
