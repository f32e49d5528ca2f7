"""What every service's HTTP side shares: problem+json errors, health, metrics, auth, correlation ids."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from opentelemetry import trace
from pymongo.errors import ConnectionFailure, ExecutionTimeout, OperationFailure, PyMongoError, WTimeoutError

from .auth import JwksVerifier, Principal, unauthorized
from .errors import DomainError
from .logging import correlation_id, get_logger, new_correlation_id

log = get_logger(__name__)

PROBLEM = "application/problem+json"
REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

ReadinessCheck = Callable[[], Awaitable[bool]]
# Probes and scrapes every few seconds would bury the traces that matter.
UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})


def problem(status: int, code: str, detail: str, errors: list[dict] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://errors.jmo.bpjsketenagakerjaan.go.id/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        "errors": errors or [],
    }
    body.update(extra)
    cid = correlation_id.get()
    if cid:
        body["correlation_id"] = cid
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


_PYDANTIC_CODES = {
    "missing": "required",
    "string_pattern_mismatch": "invalid_format",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "literal_error": "not_allowed",
    "enum": "not_allowed",
    "int_parsing": "not_an_integer",
    "int_from_float": "not_an_integer",
    "greater_than_equal": "too_small",
    "less_than_equal": "too_large",
    "date_from_datetime_parsing": "invalid_date",
    "date_parsing": "invalid_date",
    "json_invalid": "invalid_json",
}


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header", "form")]
        out.append(
            {
                "field": ".".join(loc) or "body",
                "code": _PYDANTIC_CODES.get(err.get("type", ""), err.get("type", "invalid")),
                "message": err.get("msg", "invalid value"),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        resp = problem(exc.status, exc.code, exc.detail, [e.as_dict() for e in exc.errors], **exc.extra)
        resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(422, "validation_failed", "the request has invalid fields", _field_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
            exc.status_code, "http_error"
        )
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(PyMongoError)
    async def _database(request: Request, exc: PyMongoError) -> JSONResponse:
        if not database_unavailable(exc):
            return await _unexpected(request, exc)
        # Overloaded or failing over: nothing was half-done (transactions), so the caller may retry.
        log.warning("database_unavailable", error=str(exc), error_type=type(exc).__name__)
        resp = problem(503, "service_busy", "the service is busy; try again in a moment", retry_after=1)
        resp.headers["Retry-After"] = "1"
        return resp

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return internal_error(exc)


def internal_error(exc: BaseException) -> JSONResponse:
    """The 500 of an error nobody handled: logged with its traceback, answered without its details."""
    log.error("unhandled_error", error=str(exc), error_type=type(exc).__name__, exc_info=exc)
    return problem(500, "internal_error", "something went wrong on our side; it was logged")


def database_unavailable(exc: BaseException) -> bool:
    """A database error the same request may succeed after: connection trouble, time-outs, conflicts."""
    if isinstance(exc, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        return True
    return isinstance(exc, OperationFailure) and (
        exc.has_error_label("TransientTransactionError") or exc.code in (112, 189, 91, 11600, 11602))


def install_observability(app: FastAPI) -> None:
    @app.middleware("http")
    async def _observe(request: Request, call_next: Callable) -> Response:
        cid = request.headers.get("x-correlation-id") or new_correlation_id()
        token = correlation_id.set(cid)
        # FastAPI's own server span (see create_app) is current here: the correlation id joins it.
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("jmo.correlation_id", cid)
        started = time.perf_counter()
        status = 500
        try:
            try:
                response = await call_next(request)
            except Exception as exc:
                # Answered here, while the correlation id is set: Starlette's handler for Exception
                # runs outside this middleware, where the 500 would lose it in body, header and log.
                response = internal_error(exc)
            status = response.status_code
            response.headers["X-Correlation-ID"] = cid
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            LATENCY.labels(request.method, path).observe(elapsed)
            REQUESTS.labels(request.method, path, str(status)).inc()
            if path not in UNTRACED:
                log.info("http_request", method=request.method, route=path, status=status,
                         ms=round(elapsed * 1000, 1))
            correlation_id.reset(token)


def _untraced(scope: Any) -> bool:
    return scope.get("path") in UNTRACED


# FastAPI's native OpenTelemetry support makes the server span of each request (named by the route
# template, child of the caller's traceparent) when a tracer provider is set (jmo_shared.tracing);
# without one it costs nothing. Its metrics and logs are off: Prometheus and structlog do those.
# operation_spans (dependencies, endpoint, serialization) would triple the spans per request.
TELEMETRY = {"operation_spans": False, "metrics": False, "logs": False, "exclude": _untraced}


def health_router() -> APIRouter:
    """Liveness, readiness and metrics; readiness checks are set by the lifespan on app.state.readiness."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        checks: dict[str, ReadinessCheck] = getattr(request.app.state, "readiness", {})
        results = {}
        for name, check in checks.items():
            try:
                results[name] = bool(await check())
            except Exception:
                results[name] = False
        ok = bool(results) and all(results.values())
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": results}, status_code=200 if ok else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_app(
    title: str,
    description: str,
    lifespan: Callable[[FastAPI], Any],
    routers: list[APIRouter],
    version: str = "1.0.0",
) -> FastAPI:
    """A service app: its routers plus the operational endpoints every service serves."""
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan,
                  telemetry=TELEMETRY)  # type: ignore[arg-type]
    install_error_handlers(app)
    install_observability(app)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    return app


# --- authentication -------------------------------------------------------

async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("missing bearer token", code="missing_token")
    verifier: JwksVerifier = request.app.state.verifier
    return await verifier.verify(token.strip())


async def current_member(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.nik is None:
        raise DomainError(code="not_a_member", detail="this token does not belong to a member", status=403)
    return principal


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_role(role):
            raise DomainError(code="forbidden", detail=f"requires the {role} role", status=403)
        return principal

    return dependency


CurrentMember = Annotated[Principal, Depends(current_member)]

