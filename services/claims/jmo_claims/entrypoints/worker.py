"""The claims worker: `python -m jmo_claims.entrypoints.worker` (port CLAIMS_WORKER_PORT, 8104).

Projections of the feeds and of the other services' events, the claim's progress
from balance and payout, and the outbox relay; /healthz, /readyz and /metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import serve, worker_app

from ..bootstrap import build
from ..settings import ClaimsSettings


def create_worker(settings: ClaimsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ClaimsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: the runtime's Kafka client needs the running event loop.
        service = build(settings, clock)
        app.state.claims = service
        worker = worker_app(service.runtime, service.consumers(), relay=True, on_start=service.ensure_indexes)
        # The shared worker lifespan runs against this app, so its readiness checks land here.
        async with worker.router.lifespan_context(app):
            yield

    return create_app(
        title="claims worker",
        description="Kafka consumers (projections, claim progress) and the outbox relay of the claims service.",
        lifespan=lifespan,
        routers=[],
    )


def main() -> None:
    settings = ClaimsSettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
