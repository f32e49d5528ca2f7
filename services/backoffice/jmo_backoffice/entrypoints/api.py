"""The back office process: `python -m jmo_backoffice.entrypoints.api` (port BACKOFFICE_PORT, 8080)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from jmo_shared.clock import Clock
from jmo_shared.http import create_app
from jmo_shared.logging import get_logger
from jmo_shared.runtime import serve

from ..adapters.services import UpstreamError
from ..bootstrap import BackofficeService, build
from ..settings import BackofficeSettings
from . import auth_routes, claim_routes, complaint_routes, report_routes
from .web import (
    CsrfRefused,
    NeedsSignIn,
    clear_session_cookie,
    make_templates,
    redirect,
    render,
    security_headers,
)

log = get_logger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"


def create_api(
    settings: BackofficeSettings | None = None,
    clock: Clock | None = None,
    factory: Callable[[BackofficeSettings], BackofficeService] | None = None,
) -> FastAPI:
    """The app; `factory` builds the service (tests hand one with in-memory sessions and fake services)."""
    settings = settings or BackofficeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = factory(settings) if factory else build(settings, clock)
        app.state.backoffice = service
        app.state.readiness = service.readiness
        await service.start()
        log.info("api_started", service="backoffice", port=settings.port, signin=service.signin.mode)
        try:
            yield
        finally:
            await service.stop()
            log.info("api_stopped", service="backoffice")

    app = create_app(
        title="backoffice",
        description="The officers' web application: review queue, claims, complaints, reconciliation, dashboard.",
        lifespan=lifespan,
        routers=[auth_routes.router, claim_routes.router, complaint_routes.router, report_routes.router],
        max_body_bytes=settings.max_json_body_bytes,
    )
    app.state.templates = make_templates()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_page_errors(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        security_headers(response, request.url.path)
        return response

    return app


def install_page_errors(app: FastAPI) -> None:
    """Errors as pages (this is a browser application), not problem+json."""

    @app.exception_handler(NeedsSignIn)
    async def _sign_in(_: Request, exc: NeedsSignIn) -> Response:
        from urllib.parse import quote

        return redirect(f"/signin?next={quote(exc.next_path, safe='/')}" if exc.next_path != "/" else "/signin")

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        log.warning("csrf_refused", path=request.url.path)
        return render(request, "error.html", 403, code="csrf", detail="")

    @app.exception_handler(UpstreamError)
    async def _upstream(request: Request, exc: UpstreamError) -> Response:
        if exc.status == 401:
            # The services no longer accept this session's token: sign in again.
            svc = request.app.state.backoffice
            session = getattr(request.state, "session", None)
            if session is not None:
                await svc.signin.sign_out(session)
            response = redirect("/signin")
            clear_session_cookie(response, svc)
            return response
        status = exc.status if 400 <= exc.status < 600 else 502
        return render(request, "error.html", status, code=exc.code, detail=exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(
            exc.status_code, "http_error"
        )
        return render(request, "error.html", exc.status_code, code=code, detail=str(exc.detail))


def main() -> None:
    settings = BackofficeSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
