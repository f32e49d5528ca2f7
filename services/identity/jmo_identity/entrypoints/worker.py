"""`python -m jmo_identity.entrypoints.worker`: the registry consumers and the outbox relay;
health and metrics on IDENTITY_WORKER_PORT (8101)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.http import create_app
from jmo_shared.runtime import serve, worker_app

from ..bootstrap import build
from ..settings import IdentitySettings


def create_worker(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: the runtime's Kafka client needs the running event loop.
        service = build(settings)
        worker = worker_app(service.runtime, service.consumers(), relay=True, on_start=service.ensure_indexes)
        # The shared worker lifespan runs against this app, so its readiness checks land here.
        async with worker.router.lifespan_context(app):
            yield

    return create_app(
        title="identity worker",
        description="Projects the membership and population feeds into identity's registry; relays its outbox.",
        lifespan=lifespan,
        routers=[],
    )


def main() -> None:
    settings = IdentitySettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
