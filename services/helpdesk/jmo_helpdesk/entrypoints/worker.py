"""The helpdesk worker: `python -m jmo_helpdesk.entrypoints.worker` (port HELPDESK_WORKER_PORT, 8106).

The outbox relay (ComplaintFiled), the SLA sweep, and the start-up seeding of the
demo places and the program content; /healthz, /readyz and /metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import serve, worker_app

from ..bootstrap import build
from ..settings import HelpdeskSettings


def create_worker(settings: HelpdeskSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or HelpdeskSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = build(settings, clock)
        app.state.helpdesk = service
        # No consumers: the helpdesk reads no other service's events.
        worker = worker_app(
            service.runtime, [], relay=True, on_start=service.on_worker_start, extra_tasks=service.periodic_tasks()
        )
        async with worker.router.lifespan_context(app):
            yield

    return create_app(
        title="helpdesk worker",
        description="The outbox relay and the complaint SLA sweep of the helpdesk service.",
        lifespan=lifespan,
        routers=[],
    )


def main() -> None:
    settings = HelpdeskSettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
