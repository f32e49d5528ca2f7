"""The helpdesk API process: `python -m jmo_helpdesk.entrypoints.api` (port HELPDESK_PORT, 8006)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import api_lifespan, serve

from ..bootstrap import build
from ..settings import HelpdeskSettings
from .routes import members, officers, public


def create_api(settings: HelpdeskSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or HelpdeskSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: the runtime's Kafka client needs the running event loop.
        service = build(settings, clock)
        app.state.helpdesk = service

        async def on_start(_: FastAPI) -> None:
            await service.on_api_start()

        async with api_lifespan(service.runtime, on_start)(app):
            yield

    return create_app(
        title="helpdesk",
        description="Offices and PLKK clinics, program information, and members' complaints with SLAs.",
        lifespan=lifespan,
        routers=[public, members, officers],
        max_body_bytes=settings.max_json_body_bytes,
    )


def main() -> None:
    settings = HelpdeskSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
