"""The balance API process: `python -m jmo_balance.entrypoints.api` (port BALANCE_PORT, 8003)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import api_lifespan, serve

from ..bootstrap import build
from ..settings import BalanceSettings
from .routers import balance_router, card_router


def create_api(settings: BalanceSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or BalanceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in create_api: the runtime's Kafka client needs the server's running loop.
        service = build(settings, clock)

        async def on_start(app: FastAPI) -> None:
            await service.ensure_indexes()
            await service.load_signer()
            app.state.balance = service

        async with api_lifespan(service.runtime, on_start)(app):
            yield

    return create_app(
        title="JMO balance",
        description="JHT balance per KPJ card (contributions and development returns), "
        "balance merges (penggabungan saldo) and the digital membership card.",
        lifespan=lifespan,
        routers=[balance_router, card_router],
    )


def main() -> None:
    settings = BalanceSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
