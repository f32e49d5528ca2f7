"""`python -m jmo_banksim.entrypoints.api`: the partner-bank simulator on BANKSIM_PORT (8099)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.logging import get_logger
from jmo_shared.runtime import serve

from ..bootstrap import build
from ..domain.behaviour import BehaviourBook
from ..settings import BanksimSettings
from .routers import router

log = get_logger(__name__)


def create_api(settings: BanksimSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or BanksimSettings()
    book = BehaviourBook()  # the banks' behaviour outlives a restart of the lifespan, like the process

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = build(settings, clock, book)
        app.state.bank = service.state
        app.state.readiness = {"mongodb": service.db.ping, "kafka": service.feed.ready}
        resumed = await service.start()
        log.info("banksim_started", port=settings.port, resumed=resumed, group=settings.consumer_group)
        try:
            yield
        finally:
            await service.aclose()
            log.info("banksim_stopped")

    return create_app(
        title="partner-bank simulator",
        description="Plays the member's bank for local runs and tests: accounts, inquiry, transfers, reports.",
        lifespan=lifespan,
        routers=[router],
        max_body_bytes=settings.max_json_body_bytes,
    )


def main() -> None:
    settings = BanksimSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
