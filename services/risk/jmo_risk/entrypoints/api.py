"""The risk API process: `python -m jmo_risk.entrypoints.api` (port RISK_PORT, 8008).

Health, readiness and metrics, and the officers' flag API. The rules run in the worker (faust).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.runtime import api_lifespan, serve

from ..bootstrap import build
from ..settings import RiskSettings
from .routes import officers


def create_api(settings: RiskSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RiskSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: the runtime's Kafka client needs the running event loop.
        service = build(settings, clock)
        app.state.risk = service

        async def on_start(_: FastAPI) -> None:
            await service.ensure_indexes()

        async with api_lifespan(service.runtime, on_start)(app):
            yield

    return create_app(
        title="risk",
        description="Fraud-pattern flags from the risk stream rules; officers list and clear them.",
        lifespan=lifespan,
        routers=[officers],
        max_body_bytes=settings.max_json_body_bytes,
    )


def main() -> None:
    settings = RiskSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
