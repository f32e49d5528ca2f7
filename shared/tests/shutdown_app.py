"""A worker process for the graceful-shutdown test: one consumer whose handler is slow.

Run as a script (`python shared/tests/shutdown_app.py`) with SHUTDOWNTEST_* settings; the
handler appends each call to SHUTDOWNTEST_CALLS_FILE before it sleeps, outside the
transaction, so the test sees what ran, how often, and when the batch is in hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from jmo_shared.events import CloudEvent, MemberRegistered
from jmo_shared.http import create_app
from jmo_shared.mongo import Tx
from jmo_shared.runtime import Runtime, serve, worker_app
from jmo_shared.settings import ServiceSettings


class ShutdownTestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHUTDOWNTEST_", extra="ignore")

    service_name: str = "shutdowntest"
    topic: str = ""
    slow_seconds: float = 1.0
    calls_file: str = ""


def create_worker(settings: ShutdownTestSettings) -> FastAPI:
    async def slow_projection(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        with open(settings.calls_file, "a", encoding="utf-8") as calls:
            calls.write(f"{event.id}\n")
        await asyncio.sleep(settings.slow_seconds)
        await tx["applied"].update_one({"_id": event.id}, {"$inc": {"times": 1}}, upsert=True, session=tx.session)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(settings)
        consumer = runtime.consumer("slow", topics=[settings.topic]).on(MemberRegistered, slow_projection)
        async with worker_app(runtime, [consumer], relay=True).router.lifespan_context(app):
            yield

    return create_app("shutdown test worker", "a slow consumer", lifespan=lifespan, routers=[])


if __name__ == "__main__":
    settings = ShutdownTestSettings()
    serve(create_worker(settings), settings, port=settings.worker_port)
