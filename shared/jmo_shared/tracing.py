"""OpenTelemetry tracing: one claim is one trace, across HTTP, the outbox and Kafka.

The W3C trace context travels
- in HTTP: the `traceparent` header (FastAPI's native server span per request, named by the
  route template; see jmo_shared.http.create_app);
- through the outbox: `Tx.emit` stores the context of the moment with the outbox row,
  the relay publishes the row under a producer span and puts that span's context in the
  Kafka headers (`traceparent`, `tracestate`);
- into consumers: the IdempotentConsumer runs each event's handler in a consumer span whose
  parent is the producer's, so the events the handler emits continue the same trace.

A process sets up the SDK (`configure_tracing`, called by `runtime.serve`) only when it has
somewhere to send spans: an OTLP/HTTP collector (`OTEL_EXPORTER_OTLP_ENDPOINT`) and/or
JSON-lines files (`TRACE_FILE_DIR`, read by `python -m jmo_shared.traces`). Without either,
only the API's no-op tracer runs: it still passes an incoming context through to what the
process emits, so one untraced process does not break a trace.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:  # the SDK is imported only when a process exports spans
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
TRACE_HEADERS = (TRACEPARENT, TRACESTATE)
INSTRUMENTATION = "jmo_shared"

_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None
_lock = threading.Lock()


# --- the provider ---------------------------------------------------------


def configure_tracing(
    service_name: str, role: str, *, otlp_endpoint: str | None = None, trace_file_dir: str | None = None
) -> bool:
    """Set up this process's TracerProvider once; False (and nothing loaded) when spans go nowhere."""
    global _provider
    with _lock:
        if _provider is not None:
            return True
        if not (otlp_endpoint or trace_file_dir) or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return False
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create(
            {
                "service.name": f"{service_name}-{role}",
                "service.namespace": "jmo",
                "service.instance.id": f"{socket.gethostname()}:{os.getpid()}",
                "jmo.service": service_name,
                "jmo.role": role,
            }
        )
        provider = TracerProvider(resource=resource)
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=_traces_url(otlp_endpoint))))
        if trace_file_dir:
            path = Path(trace_file_dir) / f"{service_name}-{role}-{os.getpid()}.jsonl"
            provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter(path), schedule_delay_millis=1000))
        trace.set_tracer_provider(provider)
        _provider = provider
        return True


def _traces_url(endpoint: str) -> str:
    # OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; the signal path is ours to add.
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def shutdown_tracing() -> None:
    """Export what is buffered and stop the exporters (after the server drained)."""
    provider = _provider
    if provider is not None:
        provider.force_flush(timeout_millis=5000)
        provider.shutdown()


def tracer() -> trace.Tracer:
    # The global provider (FastAPI's server spans use it too): a no-op until configure_tracing.
    return trace.get_tracer(INSTRUMENTATION)


# --- propagation ------------------------------------------------------------


def carrier(ctx: Context | None = None) -> dict[str, str]:
    """The W3C headers for `ctx` (default: the current context); empty when no span is there."""
    out: dict[str, str] = {}
    _propagator.inject(out, context=ctx)
    return out


def extract(headers: Mapping[str, str] | None) -> Context:
    """A context whose current span is the remote parent named by `headers` (empty if none)."""
    return _propagator.extract({k.lower(): v for k, v in (headers or {}).items()})


def kafka_headers(ctx: Context | None = None) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in carrier(ctx).items()]


def extract_kafka(headers: Iterable[tuple[str, bytes | None]] | None) -> Context:
    found = {}
    for key, value in headers or ():
        if key.lower() in TRACE_HEADERS and value is not None:
            found[key.lower()] = value.decode("latin-1")
    return _propagator.extract(found)


def inject_http(headers: Any) -> None:
    """Add the current context to an outgoing request's headers (mutable mapping)."""
    for key, value in carrier().items():
        headers[key] = value


async def httpx_request_hook(request: Any) -> None:
    """httpx event hook: `httpx.AsyncClient(event_hooks={"request": [httpx_request_hook]})`."""
    inject_http(request.headers)


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def trace_id_of(ctx: Context) -> str | None:
    span_ctx = trace.get_current_span(ctx).get_span_context()
    return format(span_ctx.trace_id, "032x") if span_ctx.is_valid else None


# --- messaging spans ----------------------------------------------------------


def event_attributes(event: Any) -> dict[str, Any]:
    """CloudEvents semantic-convention attributes of an event (the subject finds a claim's trace)."""
    attrs = {
        "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type,
        "cloudevents.event_source": event.source,
    }
    if event.subject:
        attrs["cloudevents.event_subject"] = event.subject
    return attrs


@contextmanager
def consumer_span(topic: str, parent: Context, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """`<topic> process`, child of the producer's context, current while the handler runs."""
    attrs = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": topic,
        **(attributes or {}),
    }
    with tracer().start_as_current_span(
        f"{topic} process", context=parent, kind=SpanKind.CONSUMER, attributes=attrs
    ) as span:
        yield span


def start_producer_span(topic: str, parent: Context, attributes: Mapping[str, Any] | None = None) -> Span:
    """`<topic> publish`, not made current: the caller ends it when the broker acknowledged."""
    attrs = {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.operation.name": "publish",
        "messaging.destination.name": topic,
        **(attributes or {}),
    }
    return tracer().start_span(f"{topic} publish", context=parent, kind=SpanKind.PRODUCER, attributes=attrs)


def context_with(span: Span) -> Context:
    return trace.set_span_in_context(span)


def end_with_error(span: Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    span.end()


@contextmanager
def attached(ctx: Context) -> Iterator[None]:
    token = otel_context.attach(ctx)
    try:
        yield
    finally:
        otel_context.detach(token)


# --- the JSON-lines file exporter -------------------------------------------


def span_record(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    return {
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_id": format(span.parent.span_id, "016x") if span.parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name", "unknown"),
        "start": datetime.fromtimestamp(start / 1e9, UTC).isoformat(),
        "start_ns": start,
        "duration_ms": round((end - start) / 1e6, 3),
        "status": span.status.status_code.name,
        "attributes": {k: _plain(v) for k, v in (span.attributes or {}).items()},
        "events": [
            {"name": e.name, "attributes": {k: _plain(v) for k, v in (e.attributes or {}).items()}} for e in span.events
        ],
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class JsonLinesSpanExporter:
    """One JSON object per finished span, appended to one file per process (see jmo_shared.traces)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]):
        from opentelemetry.sdk.trace.export import SpanExportResult

        lines = "".join(json.dumps(span_record(s), default=str) + "\n" for s in spans)
        with self._lock:
            if self._file.closed:
                return SpanExportResult.FAILURE
            self._file.write(lines)
            self._file.flush()
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
        return True

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()
