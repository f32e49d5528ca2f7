"""The clients a service process holds, and how its processes start and stop.

Each service runs as two kinds of process built from the same pieces:
- `api`: the FastAPI app the mobile gateway calls;
- `worker`: its Kafka consumers and its outbox relay, with the same
  /healthz, /readyz and /metrics endpoints on its own port.
Both shut down gracefully on SIGTERM: uvicorn drains requests, then the
lifespan stops consumers (offsets are committed only after their writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from .auth import JwksVerifier
from .consumer import IdempotentConsumer
from .http import create_app
from .kafka import KafkaProbe, make_producer
from .logging import configure_logging, get_logger
from .mongo import Database, make_client
from .outbox import OutboxRelay
from .settings import ServiceSettings

log = get_logger(__name__)


class Runtime:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.client = make_client(settings.mongodb_uri)
        self.db = Database(self.client, settings.db_name, source=f"/jmo/{settings.service_name}")
        self.kafka_probe = KafkaProbe(settings.kafka_bootstrap_servers, settings.service_name)
        self.verifier = JwksVerifier(
            settings.jwks_url, settings.jwt_issuer, settings.jwt_audience, static_jwks=settings.jwks_json
        )

    def readiness(self) -> dict[str, Callable[[], Awaitable[bool]]]:
        return {"mongodb": self.db.ping, "kafka": self.kafka_probe.ready}

    async def start(self) -> None:
        await self.db.ensure_outbox_indexes()
        await self.kafka_probe.start()

    async def stop(self) -> None:
        # Bounded: a broker or database that is already gone must not hold the process at shutdown.
        for closing in (self.kafka_probe.stop(), self.client.close()):
            try:
                await asyncio.wait_for(closing, timeout=10)
            except (TimeoutError, Exception) as exc:  # noqa: BLE001 - shutting down regardless
                log.warning("shutdown_step_failed", error=repr(exc))

    def group(self, name: str) -> str:
        return f"{self.settings.consumer_group_prefix}.{self.settings.service_name}.{name}"

    def consumer(self, name: str, topics: list[str] | None = None, pattern: str | None = None) -> IdempotentConsumer:
        return IdempotentConsumer(
            self.db, self.settings.kafka_bootstrap_servers, self.group(name), topics=topics, pattern=pattern
        )


def api_lifespan(
    runtime: Runtime, on_start: Callable[[FastAPI], Awaitable[None]] | None = None
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime
        app.state.verifier = runtime.verifier
        app.state.readiness = runtime.readiness()
        await _retry_start(runtime)
        if on_start is not None:
            await on_start(app)
        log.info("api_started", service=runtime.settings.service_name, port=runtime.settings.port)
        try:
            yield
        finally:
            await runtime.stop()
            log.info("api_stopped", service=runtime.settings.service_name)

    return lifespan


async def _retry_start(runtime: Runtime) -> None:
    delay = 0.5
    while True:
        try:
            await runtime.start()
            return
        except Exception as exc:  # database not there yet: wait for it, readiness says so
            log.warning("startup_retry", error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)


def worker_app(
    runtime: Runtime,
    consumers: list[IdempotentConsumer],
    relay: bool = True,
    on_start: Callable[[], Awaitable[None]] | None = None,
    extra_tasks: list[Callable[[], Awaitable[None]]] | None = None,
) -> FastAPI:
    """The worker process: consumers + the outbox relay, with operational endpoints."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime
        app.state.readiness = runtime.readiness()
        await _retry_start(runtime)
        for consumer in consumers:
            await consumer.ensure_indexes()
        if on_start is not None:
            await on_start()
        producer = None
        outbox_relay = None
        tasks: list[asyncio.Task] = []
        if relay:
            producer = make_producer(runtime.settings.kafka_bootstrap_servers, f"{runtime.settings.service_name}-relay")
            await _start_producer(producer)
            outbox_relay = OutboxRelay(runtime.db, producer, poll_seconds=runtime.settings.outbox_poll_seconds)
            tasks += [asyncio.create_task(outbox_relay.run()), asyncio.create_task(outbox_relay.watch_inserts())]
        consumer_tasks = [asyncio.create_task(c.run(), name=c.group_id) for c in consumers]
        tasks += consumer_tasks
        tasks += [asyncio.create_task(t()) for t in (extra_tasks or [])]
        for task in tasks:
            task.add_done_callback(_crash_on_failure)
        log.info("worker_started", service=runtime.settings.service_name, consumers=[c.group_id for c in consumers])
        try:
            yield
        finally:
            for consumer in consumers:
                consumer.stop()
            if outbox_relay:
                outbox_relay.stop()
            # Consumers finish the batch in hand and commit; then everything else stops.
            if consumer_tasks:
                await asyncio.wait(consumer_tasks, timeout=15)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if producer:
                try:
                    await asyncio.wait_for(producer.stop(), timeout=10)
                except (TimeoutError, Exception) as exc:  # noqa: BLE001 - shutting down regardless
                    log.warning("producer_stop_failed", error=repr(exc))
            await runtime.stop()
            log.info("worker_stopped", service=runtime.settings.service_name)

    return create_app(
        title=f"{runtime.settings.service_name} worker",
        description="Kafka consumers and the outbox relay of this service.",
        lifespan=lifespan,
        routers=[],
    )


async def _start_producer(producer) -> None:
    delay = 0.5
    while True:
        try:
            await producer.start()
            return
        except Exception as exc:
            log.warning("producer_start_retry", error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)


def _crash_on_failure(task: asyncio.Task) -> None:
    # A background loop that dies must take the process down, so the supervisor restarts it.
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background_task_failed", task=task.get_name(), error=repr(exc))
        os.kill(os.getpid(), signal.SIGTERM)


def serve(app: FastAPI, settings: ServiceSettings, port: int | None = None) -> None:
    """Run an app until SIGTERM/SIGINT; `port` defaults to the API port (workers pass worker_port)."""
    configure_logging(settings.service_name, settings.log_level)
    uvicorn.run(
        app,
        host=settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        lifespan="on",
    )
