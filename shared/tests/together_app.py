"""Two tiny apps served by `jmo_shared.runtime.serve_together`, for test_together.py.

Run as a script with TOGETHERTEST_* settings. Each app's lifespan writes "<app> started" and
"<app> stopped" to TOGETHERTEST_MARKS_FILE; TOGETHERTEST_FAIL_START=worker makes the worker's start-up
fail, as a service whose database is refused would.
"""

from __future__ import annotations

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


if __name__ == "__main__":
    settings = TogetherTestSettings()
    api = create_app("together test api", "", lifespan=marking(settings, "api"), routers=[])
    worker = create_app("together test worker", "", lifespan=marking(settings, "worker"), routers=[])
    sys.exit(serve_together(api, worker, settings))
