"""The clients a service process holds, and how its processes start and stop.

Each service runs as two kinds of process built from the same pieces:
- `api`: the FastAPI app the mobile gateway calls;
- `worker`: its Kafka consumers and its outbox relay, with the same
  /healthz, /readyz and /metrics endpoints on its own port.
Both shut down gracefully on SIGTERM (`serve`): uvicorn stops accepting and
drains in-flight requests (SHUTDOWN_GRACE_SECONDS), then the lifespan stops the
consumers (each finishes the batch in hand, commits its offsets and leaves its
group) and the relay (finishes its batch, releases its lease), flushes the
spans, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from types import FrameType

import uvicorn
from fastapi import FastAPI
from uvicorn.server import HANDLED_SIGNALS

from . import tracing
from .auth import JwksVerifier, TokenVerifier
from .consumer import IdempotentConsumer
from .http import create_app
from .kafka import KafkaProbe, RenewableProducer, client_options, make_producer, start_producer
from .logging import configure_logging, get_logger
from .mongo import Database, make_client
from .outbox import OutboxPublisher, OutboxRelay
from .periodic import every
from .retention import purge_once
from .settings import ServiceSettings

log = get_logger(__name__)


class Runtime:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.client = make_client(settings.mongodb_uri, max_pool_size=settings.mongodb_max_pool_size)
        self.db = Database(self.client, settings.db_name, source=f"/jmo/{settings.service_name}")
        # Every producer and consumer of the process connects as the service's own Kafka user.
        self.kafka_options = client_options(settings)
        self.kafka_probe = KafkaProbe(
            settings.kafka_bootstrap_servers, settings.service_name, options=self.kafka_options
        )
        members = JwksVerifier(
            settings.jwks_url, settings.jwt_issuer, settings.jwt_audience, static_jwks=settings.jwks_json
        )
        staff = (
            JwksVerifier(
                settings.staff_jwks_url,
                settings.staff_jwt_issuer,
                settings.staff_jwt_audience,
                static_jwks=settings.staff_jwks_json,
            )
            if settings.staff_jwks_url or settings.staff_jwks_json
            else None
        )
        self.verifier = TokenVerifier(members, staff)
        self.producer: RenewableProducer | None = None
        self.publisher: OutboxPublisher | None = None

    def start_publisher(self) -> asyncio.Task:
        """Publish every transaction's outbox rows right after it commits (see jmo_shared.outbox)."""
        self.producer = make_producer(
            self.settings.kafka_bootstrap_servers,
            f"{self.settings.service_name}-outbox-{os.getpid()}",
            self.kafka_options,
        )
        self.publisher = OutboxPublisher(self.db, self.producer)
        self.publisher.attach()
        producer, publisher = self.producer, self.publisher

        async def publish() -> None:
            await start_producer(producer)
            await publisher.run()

        return asyncio.create_task(publish(), name="outbox-publisher")

    async def stop_publisher(self, task: asyncio.Task | None, grace: float) -> None:
        """Send what was committed before the stop (within `grace`); the sweeper gets anything left."""
        if self.publisher is None or task is None:
            return
        self.db.on_commit = None
        self.publisher.stop()
        _, late = await asyncio.wait([task], timeout=grace)
        if late:
            log.warning("shutdown_grace_exceeded", tasks=["outbox-publisher"], grace_seconds=grace)
        await _cancel([task])
        if self.producer is not None:
            try:
                await asyncio.wait_for(self.producer.stop(), timeout=10)
            except (TimeoutError, Exception) as exc:  # noqa: BLE001 - shutting down regardless
                log.warning("producer_stop_failed", error=repr(exc))

    def readiness(self) -> dict[str, Callable[[], Awaitable[bool]]]:
        return {"mongodb": self.db.ping, "kafka": self.kafka_probe.ready}

    async def start(self) -> None:
        await self.db.ensure_outbox_indexes()
        await self.kafka_probe.start()

    def start_monitors(self) -> list[asyncio.Task]:
        """Background gauges of this process (kafka_connected); the caller cancels them at shutdown."""
        return [asyncio.create_task(self.kafka_probe.watch(), name="kafka-probe")]

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
            self.db,
            self.settings.kafka_bootstrap_servers,
            self.group(name),
            topics=topics,
            pattern=pattern,
            options=self.kafka_options,
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
        monitors = runtime.start_monitors()
        publishing = runtime.start_publisher()
        publishing.add_done_callback(_crash_on_failure)
        log.info("api_started", service=runtime.settings.service_name, port=runtime.settings.port)
        try:
            yield
        finally:
            # uvicorn has drained the requests: what they committed leaves before the process does.
            await runtime.stop_publisher(publishing, runtime.settings.shutdown_grace_seconds)
            await _cancel(monitors)
            await runtime.stop()
            log.info("api_stopped", service=runtime.settings.service_name)

    return lifespan


# Set by a SIGTERM/SIGINT that serve() received. uvicorn only looks at its exit flag once the
# lifespan has started, so a start-up still waiting for its database must check this itself.
_stop_requested = threading.Event()


class StartupAborted(RuntimeError):
    """Asked to stop before start-up completed (e.g. SIGTERM while the database was unreachable)."""


async def _retry_start(runtime: Runtime) -> None:
    delay = 0.5
    while True:
        if _stop_requested.is_set():
            raise StartupAborted("stop requested before start-up completed")
        try:
            await runtime.start()
            return
        except Exception as exc:  # database not there yet: wait for it, readiness says so
            log.warning("startup_retry", error=str(exc))
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not _stop_requested.is_set():
                await asyncio.sleep(0.1)
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
        outbox_relay = None
        tasks: list[asyncio.Task] = runtime.start_monitors()
        draining: list[asyncio.Task] = []  # finish their work in hand on stop, within the grace period
        publishing = runtime.start_publisher()
        publishing.add_done_callback(_crash_on_failure)
        if relay:
            outbox_relay = OutboxRelay(
                runtime.db,
                runtime.producer,
                sweep_seconds=runtime.settings.outbox_sweep_seconds,
                sweep_after_seconds=runtime.settings.outbox_sweep_after_seconds,
            )
            # Measured from the database: a broker that is away shows as backlog.
            tasks.append(asyncio.create_task(outbox_relay.report_backlog(), name="outbox-backlog"))
            draining.append(asyncio.create_task(outbox_relay.run(), name="outbox-sweeper"))
        if runtime.settings.retention_purge_seconds > 0:
            purge = every(
                "retention_purge",
                runtime.settings.retention_purge_seconds,
                lambda: purge_once(runtime.db),
                wait_first=True,
            )
            tasks.append(asyncio.create_task(purge(), name="retention-purge"))
        draining += [asyncio.create_task(c.run(), name=c.group_id) for c in consumers]
        tasks += draining
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
            # Consumers finish the batch in hand, commit and leave their group; the sweeper finishes its
            # batch and releases its lease. Whatever is still running after the grace period is cancelled
            # (uncommitted work is redelivered on restart and dropped as duplicates).
            grace = runtime.settings.shutdown_grace_seconds
            if draining:
                _, late = await asyncio.wait(draining, timeout=grace)
                if late:
                    log.warning("shutdown_grace_exceeded", tasks=[t.get_name() for t in late], grace_seconds=grace)
            await _cancel(tasks)
            # Then what the consumers' last batches committed leaves too.
            await runtime.stop_publisher(publishing, grace)
            await runtime.stop()
            log.info("worker_stopped", service=runtime.settings.service_name)

    return create_app(
        title=f"{runtime.settings.service_name} worker",
        description="Kafka consumers and the outbox relay of this service.",
        lifespan=lifespan,
        routers=[],
    )


async def _cancel(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _crash_on_failure(task: asyncio.Task) -> None:
    # A background loop that dies must take the process down, so the supervisor restarts it.
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background_task_failed", task=task.get_name(), error=repr(exc))
        os.kill(os.getpid(), signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, except that a signal it drained on is a normal exit.

    uvicorn re-raises SIGTERM after its graceful shutdown, so the process would die "killed by
    SIGTERM" (143) before the spans are flushed; a drained stop is a clean one: exit 0.
    """

    # uvicorn wakes ten times a second to look at its exit flag; a stack of twenty idle processes
    # then spends most of its idle CPU on that. Once a second is enough for the Date header it also
    # refreshes there, and a signal wakes the loop at once.
    TICK_SECONDS = 1.0
    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000  # on_tick refreshes the Date header when counter % 10 == 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.TICK_SECONDS)

    def handle_exit(self, sig: int, frame) -> None:  # type: ignore[override]
        _stop_requested.set()
        super().handle_exit(sig, frame)
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def server_config(app: FastAPI, settings: ServiceSettings, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=max(int(settings.shutdown_grace_seconds), 1),
        timeout_keep_alive=settings.http_keep_alive_seconds,
        lifespan="on",
    )


@contextlib.contextmanager
def _observed(settings: ServiceSettings, role: str) -> Iterator[None]:
    """The process's logging and span export for `role`; what spans are buffered leave at the end."""
    configure_logging(settings.service_name, settings.log_level)
    tracing.configure_tracing(
        settings.service_name,
        role,
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        trace_file_dir=settings.trace_file_dir,
    )
    try:
        yield
    finally:
        tracing.shutdown_tracing()


def serve(app: FastAPI, settings: ServiceSettings, port: int | None = None) -> None:
    """Run an app until SIGTERM/SIGINT; `port` defaults to the API port (workers pass worker_port)."""
    port = port or settings.port
    role = "worker" if port == settings.worker_port and port != settings.port else "api"
    with _observed(settings, role):
        server = _Server(server_config(app, settings, port))
        server.run()
    if not server.started:
        sys.exit(3)  # as uvicorn.run: the lifespan failed to start


# --- a service's API and worker in one process (jmo_shared.together, the local run) ---------------


class _SharedSignalServer(_Server):
    """A server that leaves the process's signals to `serve_together`, which tells every server."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


async def _serve_all(servers: list[_Server]) -> bool:
    """Run every server until a signal stops them all (True) or one stops on its own (False)."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: int, frame: FrameType | None) -> None:
        for server in servers:
            server.handle_exit(sig, frame)

    original = {sig: signal.signal(sig, on_signal) for sig in HANDLED_SIGNALS}
    try:
        tasks = [loop.create_task(server.serve(), name=f"server-{server.config.port}") for server in servers]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        requested = _stop_requested.is_set()
        if pending:
            # One stopped on its own (a failed start-up, a crash): the other goes too.
            if not requested:
                log.error("server_stopped_alone", ports=[s.config.port for s, t in zip(servers, tasks) if t in done])
            for server in servers:
                server.handle_exit(signal.SIGTERM, None)
            await asyncio.wait(pending)
        for task in tasks:
            task.result()  # a server that raised raises here
        return requested
    finally:
        for sig, handler in original.items():
            signal.signal(sig, handler)


def serve_together(api: FastAPI, worker: FastAPI, settings: ServiceSettings) -> int:
    """Serve `api` on settings.port and `worker` on settings.worker_port until SIGTERM/SIGINT; the exit code.

    One event loop, each app with its own lifespan; the process's logging and spans are role `api-worker`.
    """
    with _observed(settings, "api-worker"):
        servers: list[_Server] = [
            _SharedSignalServer(server_config(api, settings, settings.port)),
            _SharedSignalServer(server_config(worker, settings, settings.worker_port)),
        ]
        # The event loop uvicorn itself would choose (uvloop when installed), as `serve` gets it.
        with asyncio.Runner(loop_factory=servers[0].config.get_loop_factory()) as runner:
            requested = runner.run(_serve_all(servers))
    if not all(server.started for server in servers):
        return 3  # as uvicorn.run: a lifespan failed to start
    # Both drained after a signal: a clean stop. One that stopped alone: the supervisor restarts the pair.
    return 0 if requested else 1
