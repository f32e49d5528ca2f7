"""The profile worker: projects the feeds and identity's events, relays the outbox.

python -m jmo_profile.entrypoints.worker   # health and metrics on PROFILE_WORKER_PORT (8102)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.http import create_app
from jmo_shared.runtime import serve, worker_app

from ..bootstrap import build
from ..settings import ProfileSettings


def create_worker(settings: ProfileSettings | None = None) -> FastAPI:
    settings = settings or ProfileSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # jmo_shared's Runtime needs a running event loop (aiokafka), so the worker
        # app of jmo_shared.runtime is built and run inside this lifespan.
        service = build(settings)
        inner = worker_app(service.runtime, service.consumers(), relay=True, on_start=service.ensure_indexes)
        async with inner.router.lifespan_context(inner):
            app.state.runtime = inner.state.runtime
            app.state.readiness = inner.state.readiness
            yield

    return create_app(
        title="profile worker",
        description="Projects the membership and population feeds and identity's events; relays the outbox.",
        lifespan=lifespan,
        routers=[],
    )


def main() -> None:
    settings = ProfileSettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
