"""`python -m jmo_shared.together <service>`: a service's API and worker in one process.

In a cluster the API and the worker of a service are Deployments of their own: they scale apart (the
API with requests, the worker with partitions) and a worker's crash never drops a request. On one
machine each Python process costs about 80 MB of imports and its own idle timers, so the local run
(`make run`) serves both from one process: two uvicorn servers on one event loop, each app with its
own lifespan and its own `Runtime` (database client, producer, outbox publisher), on its own port, as
when apart. What they share is the interpreter: the imports, the logging and tracing set-up (role
`api-worker`), and Prometheus' registry, so both ports' /metrics show the process's metrics.

SIGTERM or SIGINT stops both at once, each as `runtime.serve` would: the API drains its requests, the
worker finishes its batches. If either server stops on its own (its start-up failed, a background
task took the process down), the other is stopped too and the process exits non-zero, so the
supervisor restarts the pair.

    python -m jmo_shared.together claims     # jmo_claims' create_api and create_worker, ClaimsSettings
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Callable
from types import FrameType, ModuleType

from fastapi import FastAPI
from uvicorn.server import HANDLED_SIGNALS

from . import tracing
from .logging import configure_logging, get_logger
from .runtime import _Server, _stop_requested, server_config
from .settings import ServiceSettings

log = get_logger(__name__)

ROLE = "api-worker"


class _SharedSignalServer(_Server):
    """A server that leaves the process's signals to `serve_together`, which tells every server."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


def settings_class(module: ModuleType) -> type[ServiceSettings]:
    """The one ServiceSettings subclass a service's settings module defines."""
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
        and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise SystemExit(f"{module.__name__} defines {len(found)} settings classes, expected one")
    return found[0]


def load(service: str) -> tuple[ServiceSettings, Callable[..., FastAPI], Callable[..., FastAPI]]:
    """The settings (from the environment) and the two app factories of `jmo_<service>`."""
    package = f"jmo_{service}"
    try:
        settings_module = importlib.import_module(f"{package}.settings")
        api = importlib.import_module(f"{package}.entrypoints.api")
        worker = importlib.import_module(f"{package}.entrypoints.worker")
    except ModuleNotFoundError as exc:
        raise SystemExit(f"{service}: no API and worker to run together ({exc})") from exc
    return settings_class(settings_module)(), api.create_api, worker.create_worker


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
    """Serve `api` on settings.port and `worker` on settings.worker_port until SIGTERM/SIGINT; the exit code."""
    configure_logging(settings.service_name, settings.log_level)
    tracing.configure_tracing(
        settings.service_name,
        ROLE,
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        trace_file_dir=settings.trace_file_dir,
    )
    servers: list[_Server] = [
        _SharedSignalServer(server_config(api, settings, settings.port)),
        _SharedSignalServer(server_config(worker, settings, settings.worker_port)),
    ]
    try:
        requested = asyncio.run(_serve_all(servers))
    finally:
        tracing.shutdown_tracing()
    if not all(server.started for server in servers):
        return 3  # as uvicorn.run: a lifespan failed to start
    # Both drained after a signal: a clean stop. One that stopped alone: the supervisor restarts the pair.
    return 0 if requested else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m jmo_shared.together <service>   (e.g. claims)")
    settings, create_api, create_worker = load(args[0])
    return serve_together(create_api(settings), create_worker(settings), settings)


if __name__ == "__main__":
    sys.exit(main())
