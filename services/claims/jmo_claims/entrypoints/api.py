"""The claims API process: `python -m jmo_claims.entrypoints.api` (port CLAIMS_PORT, 8004)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import BodyLimitRule, create_app
from jmo_shared.runtime import api_lifespan, serve

from ..bootstrap import build
from ..service_layer.documents import document_too_large
from ..settings import ClaimsSettings
from .review_routes import router as review_router
from .routes import FORM_OVERHEAD_BYTES, UPLOAD_PATH, router


def create_api(settings: ClaimsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ClaimsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: the runtime's Kafka client needs the running event loop.
        service = build(settings, clock)
        app.state.claims = service

        async def on_start(_: FastAPI) -> None:
            await service.ensure_indexes()

        async with api_lifespan(service.runtime, on_start)(app):
            yield

    return create_app(
        title="claims",
        description="JHT claims: eligibility, documents, submission and the claim's status; "
        "manual review for officers.",
        lifespan=lifespan,
        routers=[router, review_router],
        max_body_bytes=settings.max_json_body_bytes,
        uploads={
            UPLOAD_PATH: BodyLimitRule(
                settings.document_max_bytes + FORM_OVERHEAD_BYTES,
                "file_too_large",
                document_too_large(settings.document_max_bytes),
                field="file",
            )
        },
    )


def main() -> None:
    settings = ClaimsSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
