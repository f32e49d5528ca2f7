"""The notify API process: `python -m jmo_notify.entrypoints.api` (port NOTIFY_PORT, 8007)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import api_lifespan, serve

from ..bootstrap import build
from ..settings import NotifySettings
from .routes import members, ops


def create_api(settings: NotifySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: the runtime's Kafka client needs the running event loop.
        service = build(settings, clock)
        app.state.notify = service

        async def on_start(_: FastAPI) -> None:
            await service.ensure_indexes()

        async with api_lifespan(service.runtime, on_start)(app):
            yield

    return create_app(
        title="notify",
        description="The member's notifications (inbox, read/unread) and preferences; operators' dead letters.",
        lifespan=lifespan,
        routers=[members, ops],
        max_body_bytes=settings.max_json_body_bytes,
    )


def main() -> None:
    settings = NotifySettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
