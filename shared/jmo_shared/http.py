"""What every service's HTTP side shares: problem+json errors, health, metrics, auth, correlation ids."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pymongo.errors import ConnectionFailure, ExecutionTimeout, OperationFailure, PyMongoError, WTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import JwksVerifier, Principal, unauthorized
from .errors import DomainError, ErrorKind
from .logging import correlation_id, get_logger, new_correlation_id

log = get_logger(__name__)

PROBLEM = "application/problem+json"
REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
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


# The one place a kind of refusal becomes an HTTP status.
HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 422,
    ErrorKind.BAD_REQUEST: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.LOCKED: 423,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.UPSTREAM_FAILED: 502,
    ErrorKind.UNAVAILABLE: 503,
}


def http_status(exc: DomainError) -> int:
    return HTTP_STATUS[exc.kind]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        resp = problem(http_status(exc), exc.code, exc.detail, [e.as_dict() for e in exc.errors], **exc.extra)
        resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(422, "validation_failed", "the request has invalid fields", _field_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyTooLarge):
            return exc.limit.refusal()
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
        exc.has_error_label("TransientTransactionError") or exc.code in (112, 189, 91, 11600, 11602)
    )


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
                log.info("http_request", method=request.method, route=path, status=status, ms=round(elapsed * 1000, 1))
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
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": results}, status_code=200 if ok else 503
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


# --- request body limits -------------------------------------------------

# Every JSON request of the contract fits many times over; uploads name their own limit.
DEFAULT_MAX_JSON_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class BodyLimitRule:
    """How large a route's request body may be, and how a larger one is refused (413 problem+json)."""

    max_bytes: int
    code: str = "request_too_large"
    detail: str = ""
    field: str = "body"

    def refusal(self) -> JSONResponse:
        detail = self.detail or f"The request body may be at most {self.max_bytes} bytes."
        return problem(413, self.code, detail, [{"field": self.field, "code": self.code, "message": detail}])


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once a body passes its limit: every layer lets an HTTPException through
    (FastAPI's body parsing too), and the app's handler answers it with the rule's problem."""

    def __init__(self, limit: BodyLimitRule) -> None:
        super().__init__(413, limit.detail or "request body too large")
        self.limit = limit


class BodyLimit:
    """ASGI middleware: no request body is read past its route's limit, whatever its transfer encoding.

    A declared Content-Length over the limit is refused before any of the body is read; a body
    without one (Transfer-Encoding: chunked) is counted as it arrives and refused as soon as it
    passes the limit: the app never sees the rest, nothing more is spooled or buffered. The server
    discards what the client still sends of that body (keeping the connection, so that a client
    which reads only after sending gets the 413 rather than a reset).
    """

    def __init__(self, app: ASGIApp, default: BodyLimitRule, uploads: Mapping[str, BodyLimitRule]) -> None:
        self.app = app
        self.default = default
        self.uploads = dict(uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get(scope["path"], self.default)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit.max_bytes:
            await limit.refusal()(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, noting_start)
        except BodyTooLarge:
            # Read outside the app's handlers (a middleware of its own, say): answered here if still possible.
            if started:
                raise
            await limit.refusal()(scope, receive, send)


def create_app(
    title: str,
    description: str,
    lifespan: Callable[[FastAPI], Any],
    routers: list[APIRouter],
    version: str = "1.0.0",
    max_body_bytes: int = DEFAULT_MAX_JSON_BODY_BYTES,
    uploads: Mapping[str, BodyLimitRule] | None = None,
) -> FastAPI:
    """A service app: its routers plus the operational endpoints every service serves.

    Request bodies are limited to `max_body_bytes`, the upload routes (path -> rule) to their own.
    """
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan, telemetry=TELEMETRY)  # type: ignore[arg-type]
    install_error_handlers(app)
    # Inside the observability middleware (added before it: the last added is outermost): a BodyTooLarge raised while
    # the route reads reaches the app's handler as it is, not wrapped by that middleware's task group.
    app.add_middleware(BodyLimit, default=BodyLimitRule(max_body_bytes), uploads=uploads or {})
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
        raise DomainError(
            code="not_a_member", detail="this token does not belong to a member", kind=ErrorKind.FORBIDDEN
        )
    return principal


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_role(role):
            raise DomainError(code="forbidden", detail=f"requires the {role} role", kind=ErrorKind.FORBIDDEN)
        return principal

    return dependency


CurrentMember = Annotated[Principal, Depends(current_member)]
