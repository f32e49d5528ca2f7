"""The notify worker: `python -m jmo_notify.entrypoints.worker` (port NOTIFY_WORKER_PORT, 8107).

The idempotent consumer of the events that matter to a member (inbox entries, pending
deliveries, the contact projection) and the delivery loop (SMTP e-mail, SMS, push, with
retries and dead letters); /healthz, /readyz and /metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import serve, worker_app

from ..bootstrap import build
from ..service_layer.ports import Channel
from ..settings import NotifySettings


def create_worker(
    settings: NotifySettings | None = None, clock: Clock | None = None, channels: dict[str, Channel] | None = None
) -> FastAPI:
    settings = settings or NotifySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = build(settings, clock, channels=channels)
        app.state.notify = service
        # notify publishes no events: no outbox relay.
        worker = worker_app(
            service.runtime,
            service.consumers(),
            relay=False,
            on_start=service.ensure_indexes,
            extra_tasks=service.background_tasks(),
        )
        async with worker.router.lifespan_context(app):
            yield

    return create_app(
        title="notify worker",
        description="The consumer of the events members hear about and the delivery loop of the notify service.",
        lifespan=lifespan,
        routers=[],
    )


def main() -> None:
    settings = NotifySettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
