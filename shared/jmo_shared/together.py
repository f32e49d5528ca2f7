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

import importlib
import sys
from collections.abc import Callable
from types import ModuleType

from fastapi import FastAPI

from .runtime import serve_together
from .settings import ServiceSettings


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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m jmo_shared.together <service>   (e.g. claims)")
    settings, create_api, create_worker = load(args[0])
    return serve_together(create_api(settings), create_worker(settings), settings)


if __name__ == "__main__":
    sys.exit(main())
