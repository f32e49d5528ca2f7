"""The risk worker: `python -m jmo_risk.entrypoints.worker` (port RISK_WORKER_PORT, 8108).

The faust app (entrypoints/stream.py) runs here, started and stopped by this process's lifespan on
uvicorn's event loop, deliberately: faust's own web server is off, and /healthz, /readyz and
/metrics are the shared worker app's. Also the outbox relay that publishes the flags.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.logging import get_logger
from jmo_shared.runtime import serve, worker_app

from ..bootstrap import build
from ..settings import RiskSettings
from .stream import build_stream

log = get_logger(__name__)


def create_worker(settings: RiskSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RiskSettings()
    settings.check_deployable()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = build(settings, clock)
        app.state.risk = service

        async def verdict(claim_id: str, member_id: str, flags: list[dict]) -> None:
            await service.recorder.screened(claim_id, member_id, flags, service.clock.now())

        stream = build_stream(settings, service.recorder.record, verdict if settings.publish_verdicts else None)
        app.state.stream = stream
        stopping = asyncio.Event()

        async def stream_ready() -> bool:
            return bool(stream.app.started) and not stream.app.should_stop

        async def on_start() -> None:
            await service.ensure_indexes()
            await stream.app.start()
            log.info("risk_stream_started", app_id=settings.app_id)

        async def watch_stream() -> None:
            # A faust app that crashed (or stopped by itself) takes the process down, so the supervisor
            # restarts it and the tables are rebuilt, instead of a worker that is alive and blind.
            while not stopping.is_set():
                await asyncio.sleep(5)
                if stopping.is_set():
                    return
                if stream.app.crashed or (stream.app.started and stream.app.should_stop):
                    raise RuntimeError(f"the risk stream stopped: {stream.app.crash_reason!r}")

        worker = worker_app(service.runtime, [], relay=True, on_start=on_start, extra_tasks=[watch_stream])
        async with worker.router.lifespan_context(app):
            app.state.readiness = {**app.state.readiness, "stream": stream_ready}
            try:
                yield
            finally:
                stopping.set()
                # Faust commits what it processed and leaves its group before the database goes.
                try:
                    await asyncio.wait_for(stream.app.stop(), timeout=settings.shutdown_grace_seconds)
                except (TimeoutError, Exception) as exc:  # noqa: BLE001 - shutting down regardless
                    log.warning("risk_stream_stop_failed", error=repr(exc))

    return create_app(
        title="risk worker",
        description="The risk stream rules (faust-streaming agents and tables) and the outbox relay of the flags.",
        lifespan=lifespan,
        routers=[],
    )


def main() -> None:
    settings = RiskSettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
