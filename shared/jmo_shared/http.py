"""What every service's HTTP side shares: problem+json errors, health, metrics, auth, correlation ids."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field
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


class Liveness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ready", "checks": {"mongodb": True, "kafka": True}}]}
    )

    status: str = Field(description="`ready` or `not_ready`", examples=["ready"])
    checks: dict[str, bool] = Field(description="each connection and whether it is up", examples=[{"mongodb": True}])


def health_router() -> APIRouter:
    """Liveness, readiness and metrics; readiness checks are set by the lifespan on app.state.readiness."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Liveness, summary="Liveness: the process answers")
    async def check_liveness() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        response_model=Readiness,
        summary="Readiness: every connection the service needs is up",
        responses={503: {"model": Readiness, "description": "not ready: the checks say which connection is down"}},
    )
    async def check_readiness(request: Request) -> Response:
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
    async def export_metrics() -> Response:
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


# --- the OpenAPI document a gateway generates its client from ------------------


class ProblemFieldError(BaseModel):
    """One refused field of a problem."""

    field: str = Field(description="the field, dotted for nested ones (`address.city`), or `body`", examples=["kpj"])
    code: str = Field(description="a stable machine code for this field's refusal", examples=["invalid_format"])
    message: str = Field(description="a sentence for a person", examples=["String should match pattern"])


class Problem(BaseModel):
    """Every error the API answers: an RFC 9457 problem (`application/problem+json`) with a stable machine `code`.

    Some problems carry more members (`retry_after` seconds, `attempts_left`, ...)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://errors.jmo.bpjsketenagakerjaan.go.id/validation_failed",
                    "title": "validation failed",
                    "status": 422,
                    "detail": "the request has invalid fields",
                    "code": "validation_failed",
                    "errors": [{"field": "kpj", "code": "invalid_format", "message": "11 digits"}],
                    "correlation_id": "6f1c2b0e9d8a4c7b8e5f3a2d1c0b9a8f",
                }
            ]
        },
    )

    type: str = Field(description="a URI naming the problem's code")
    title: str = Field(description="the code in words")
    status: int = Field(description="the HTTP status")
    detail: str = Field(description="what went wrong, for a person")
    code: str = Field(description="a stable machine code (`validation_failed`, `not_found`, `claim_not_eligible`, ...)")
    errors: list[ProblemFieldError] = Field(default_factory=list, description="per field, when fields were refused")
    hint: str | None = Field(default=None, description="what to do about it, where there is something to do")
    correlation_id: str | None = Field(
        default=None, description="the request's correlation id (also the X-Correlation-ID header): quote it"
    )


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
_REQUIRED_IN_DOCUMENT = "x-jmo-required-in-document"
_IDEMPOTENCY_KEY_DOC = (
    "A key the client makes once per intended request (1-200 characters, a UUID say). Sent again with the "
    "same request, the first answer comes back and nothing is done twice; the same key while the first "
    "request is still being processed answers 409 request_in_flight; with a different request, 422 "
    "idempotency_key_reused."
)
# Optional: a request without a key simply runs.
IdempotencyKey = Annotated[str | None, Header(alias=IDEMPOTENCY_KEY_HEADER, description=_IDEMPOTENCY_KEY_DOC)]
# Required: a request without one is refused by the handler (400 idempotency_key_required, with a sentence
# naming what a retry could do twice), not by FastAPI's parameter validation (422): so it is optional to
# FastAPI and marked required in the document.
RequiredIdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY_HEADER,
        description=_IDEMPOTENCY_KEY_DOC + " Required: without it, 400 idempotency_key_required.",
        json_schema_extra={_REQUIRED_IN_DOCUMENT: True},
    ),
]

PROBLEM_SCHEMA_REF = {"$ref": "#/components/schemas/Problem"}
# For a route's `responses`: {409: {"description": "`open_claim_exists`", **PROBLEM_RESPONSE}}.
PROBLEM_RESPONSE: dict[str, Any] = {"content": {PROBLEM: {"schema": PROBLEM_SCHEMA_REF}}}

# What an error status means wherever a route does not say more.
ERROR_DESCRIPTIONS = {
    400: "`idempotency_key_required` or `invalid_idempotency_key`: the Idempotency-Key header is missing or malformed",
    401: "`missing_token`, `invalid_token` or `token_expired`: no valid bearer token",
    403: "`not_a_member` or `forbidden`: the token may not do this",
    404: "`not_found`: no such resource, or not the caller's",
    409: "`request_in_flight`: a request with the same Idempotency-Key is still being processed",
    413: "`request_too_large`: the request body is over its limit",
    422: "`validation_failed` (each refused field in `errors`) or a rule of the request's own (its `code`)",
    429: "`too_many_attempts`: wait `retry_after` seconds",
    503: "`service_busy`: the database is overloaded or failing over; retry after Retry-After seconds",
}
_OPERATIONAL = frozenset({"/healthz", "/readyz"})
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def operation_id(route: APIRoute) -> str:
    """The operationId of a route: its function's name in camelCase (`submit_claim` -> `submitClaim`)."""
    head, *rest = route.name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _error_statuses(path: str, op: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer, from what it takes."""
    params = op.get("parameters", [])
    statuses = []
    if op.get("security"):
        statuses += [401, 403]
    if params or "requestBody" in op:
        statuses.append(422)
    if "requestBody" in op:
        statuses.append(413)
    if "{" in path:
        statuses.append(404)
    if any(p["in"] == "header" and p["name"].lower() == IDEMPOTENCY_KEY_HEADER.lower() for p in params):
        statuses += [400, 409]
    if path not in _OPERATIONAL:
        statuses.append(503)
    return statuses


def _mark_required_headers(op: dict[str, Any]) -> None:
    for param in op.get("parameters", []):
        schema = param.get("schema", {})
        if schema.pop(_REQUIRED_IN_DOCUMENT, False):
            param["required"] = True
            # `str | None` to FastAPI (the handler refuses a missing one); a string to the caller.
            param["schema"] = {"type": "string", "minLength": 1, "maxLength": 200, "title": schema.get("title", "")}


def _is_problem(response: dict[str, Any]) -> bool:
    """An error response the app answers with a problem: all but those declaring a schema of their own."""
    content = response.get("content") or {}
    schemas = [media.get("schema") for kind, media in content.items() if kind != PROBLEM]
    return all(schema in (None, {}, {"$ref": "#/components/schemas/HTTPValidationError"}) for schema in schemas)


def for_gateways(doc: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document made into what a gateway generates its client from: per-operation security
    (`security: []` on public ones), every error a Problem (application/problem+json), the errors each
    operation can answer, required headers marked required; HTTPValidationError no longer advertised."""
    components = doc.setdefault("components", {})
    # In every document, also of a service whose operations are all public: one scheme across the gateway.
    components.setdefault("securitySchemes", {}).setdefault(
        BEARER_SCHEME, jsonable_encoder(bearer.model, by_alias=True, exclude_none=True)
    )
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in _METHODS:
                continue
            op.setdefault("security", [])
            _mark_required_headers(op)
            responses = op.setdefault("responses", {})
            for status in _error_statuses(path, op):
                responses.setdefault(str(status), {"description": ERROR_DESCRIPTIONS[status]})
            for status, response in responses.items():
                if status[:1] not in ("4", "5") or not _is_problem(response):
                    continue
                if response.get("description") in (None, "", "Validation Error"):
                    response["description"] = ERROR_DESCRIPTIONS.get(int(status), "a problem")
                response["content"] = {PROBLEM: {"schema": PROBLEM_SCHEMA_REF}}
            op["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc


def _install_document(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = for_gateways(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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
    Its OpenAPI document is made for gateways (see for_gateways): operationIds are the route functions'
    names in camelCase, so name them for what they do (`submit_claim`, `get_claim`, `list_claims`).
    """
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        telemetry=TELEMETRY,  # type: ignore[arg-type]
        generate_unique_id_function=operation_id,
    )
    _install_document(app)
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


BEARER_SCHEME = "bearerAuth"
# Declares the scheme in the OpenAPI document and lists it on every operation that depends on
# current_principal (so on current_member and require_role too); the refusal is ours (401 problem+json).
bearer = HTTPBearer(
    scheme_name=BEARER_SCHEME,
    bearerFormat="JWT",
    description="An ES256 access token: a member's from identity's `POST /v1/auth/login`, or a staff token "
    "(roles `officer`, `ops`). Verified against identity's JWKS.",
    auto_error=False,
)


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if credentials is None or not credentials.credentials.strip():
        raise unauthorized("missing bearer token", code="missing_token")
    verifier: JwksVerifier = request.app.state.verifier
    return await verifier.verify(credentials.credentials.strip())


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


async def current_member_in_role(principal: CurrentMember) -> Principal:
    """A member's token that also carries the `member` role: what member-only routes of a service ask for."""
    if not principal.has_role("member"):
        raise DomainError(code="forbidden", detail="requires the member role", kind=ErrorKind.FORBIDDEN)
    return principal


MemberInRole = Annotated[Principal, Depends(current_member_in_role)]
