"""The balance worker: `python -m jmo_balance.entrypoints.worker` (port BALANCE_WORKER_PORT, 8103).

Consumes the membership feed, claims, payouts and face verifications; publishes
this service's outbox; credits the year's returns when a year ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import serve, worker_app

from ..bootstrap import build
from ..settings import BalanceSettings


def create_worker(settings: BalanceSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """A shell serving /healthz, /readyz and /metrics; the shared worker app (consumers, relay,
    year-end crediting) is built in its lifespan, because its Kafka clients need the running loop."""
    settings = settings or BalanceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = build(settings, clock)
        inner = worker_app(service.runtime, service.consumers(), relay=True, on_start=service.ensure_indexes)
        async with inner.router.lifespan_context(inner):
            app.state.runtime = service.runtime
            app.state.readiness = inner.state.readiness
            app.state.balance = service
            # Run here rather than as worker_app's extra task: that one has no stop signal,
            # so shutdown would wait out worker_app's 15 s grace for a loop that sleeps an hour.
            crediting = asyncio.create_task(service.crediting().run(), name="year-end-crediting")
            try:
                yield
            finally:
                crediting.cancel()
                await asyncio.gather(crediting, return_exceptions=True)

    return create_app(
        title="balance worker",
        description="Kafka consumers, the outbox relay and year-end crediting of the balance service.",
        lifespan=lifespan,
        routers=[],
    )


def main() -> None:
    settings = BalanceSettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
