"""`python -m jmo_payout.entrypoints.api`: the payout HTTP API on PAYOUT_PORT (8005)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import api_lifespan, serve

from ..bootstrap import build
from ..settings import PayoutSettings
from .reconciliation_routes import reconciliations
from .routers import bank, payouts


def create_api(settings: PayoutSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or PayoutSettings()
    settings.check_deployable()  # before anything listens: a clear error, not a payout that trusts no bank

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: the runtime's Kafka client needs the running event loop.
        service = build(settings, clock)
        app.state.payouts = service.payouts
        app.state.reconciliation = service.reconciliation

        async def on_start(_: FastAPI) -> None:
            await service.ensure_indexes()

        try:
            async with api_lifespan(service.runtime, on_start)(app):
                yield
        finally:
            await service.aclose()

    return create_app(
        title="payout",
        description="JHT payouts: PPh 21, rail, the transfer to the member's bank and the bank's reports.",
        lifespan=lifespan,
        routers=[payouts, bank, reconciliations],
        max_body_bytes=settings.max_json_body_bytes,
    )


def main() -> None:
    settings = PayoutSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
