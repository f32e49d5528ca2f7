"""The balance API process: `python -m jmo_balance.entrypoints.api` (port BALANCE_PORT, 8003)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import api_lifespan, serve

from ..bootstrap import build
from ..settings import BalanceSettings
from .routers import balance_router, card_router
from .token_cache import CachedVerifier


def create_api(settings: BalanceSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or BalanceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in create_api: the runtime's Kafka client needs the server's running loop.
        service = build(settings, clock)

        feed_task: asyncio.Task | None = None

        async def on_start(app: FastAPI) -> None:
            nonlocal feed_task
            await service.ensure_indexes()
            await service.load_signer()
            # Ready means "can answer": reads and merges need only MongoDB (merge events leave
            # through the outbox, published by the worker), so the broker's health is the
            # worker's readiness, not ours. Otherwise a broker outage would take every API
            # instance out of its load balancer and balance checks down with it.
            app.state.readiness = {"mongodb": service.runtime.db.ping}
            app.state.verifier = CachedVerifier(service.runtime.verifier, settings.token_cache_size)
            if service.read_cache.enabled:
                feed = service.card_changes()
                feed_task = asyncio.create_task(feed.run(), name="card-change-feed")
                # Not waited for: until the stream is open the views read the database every time.
            app.state.balance = service

        async with api_lifespan(service.runtime, on_start)(app):
            try:
                yield
            finally:
                # Before the runtime closes the database client the stream reads from.
                if feed_task is not None:
                    feed_task.cancel()
                    await asyncio.gather(feed_task, return_exceptions=True)

    return create_app(
        title="JMO balance",
        description="JHT balance per KPJ card (contributions and development returns), "
        "balance merges (penggabungan saldo) and the digital membership card.",
        lifespan=lifespan,
        routers=[balance_router, card_router],
        max_body_bytes=settings.max_json_body_bytes,
    )


def main() -> None:
    settings = BalanceSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
