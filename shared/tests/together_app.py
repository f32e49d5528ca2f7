"""Two tiny apps served by `jmo_shared.runtime.serve_together`, for test_together.py.

Run as a script with TOGETHERTEST_* settings. Each app's lifespan writes "<app> started" and
"<app> stopped" to TOGETHERTEST_MARKS_FILE; TOGETHERTEST_FAIL_START=worker makes the worker's start-up
fail, as a service whose database is refused would.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from jmo_shared.http import create_app
from jmo_shared.runtime import serve_together
from jmo_shared.settings import ServiceSettings


class TogetherTestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TOGETHERTEST_", extra="ignore")

    service_name: str = "togethertest"
    marks_file: str = ""
    fail_start: str = ""


def marking(settings: TogetherTestSettings, name: str) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    def mark(text: str) -> None:
        with open(settings.marks_file, "a", encoding="utf-8") as marks:
            marks.write(f"{name} {text}\n")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.fail_start == name:
            mark("refused")
            raise RuntimeError(f"{name} start-up refused")

        async def up() -> bool:
            return True

        app.state.readiness = {"self": up}
        mark("started")
        try:
            yield
        finally:
            mark("stopped")

    return lifespan


async def running_loop() -> dict[str, str]:
    """Which event loop serves the request (uvicorn would choose uvloop when it is installed)."""
    loop = asyncio.get_running_loop()
    return {"loop": f"{type(loop).__module__}.{type(loop).__name__}"}


if __name__ == "__main__":
    settings = TogetherTestSettings()
    api = create_app("together test api", "", lifespan=marking(settings, "api"), routers=[])
    worker = create_app("together test worker", "", lifespan=marking(settings, "worker"), routers=[])
    for app in (api, worker):
        app.add_api_route("/loop", running_loop)
    sys.exit(serve_together(api, worker, settings))
