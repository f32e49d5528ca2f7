"""Trace context through Kafka headers, HTTP and the outbox row; the span files and the trace CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from jmo_shared import traces, tracing
from jmo_shared.http import create_app
from jmo_shared.logging import configure_logging
from jmo_shared.testing import member_registered


def test_kafka_headers_round_trip_the_producer_context(spans) -> None:
    with tracing.tracer().start_as_current_span("emit") as producer:
        producer_ctx = producer.get_span_context()
        headers = tracing.kafka_headers()
    names = [k for k, _ in headers]
    assert names == ["traceparent"]
    version, trace_id, span_id, flags = headers[0][1].decode().split("-")
    assert (version, trace_id, span_id) == ("00", f"{producer_ctx.trace_id:032x}", f"{producer_ctx.span_id:016x}")
    assert int(flags, 16) & 1  # sampled

    # As aiokafka hands them over: a tuple of (str, bytes), among other headers.
    received = (("content-type", b"application/cloudevents+json"), *headers, ("correlationid", b"c-1"))
    with tracing.consumer_span("claims.events", tracing.extract_kafka(received), {"messaging.kafka.offset": 7}):
        pass
    consumer = next(s for s in spans.get_finished_spans() if s.name == "claims.events process")
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.context.trace_id == producer_ctx.trace_id
    assert consumer.parent is not None and consumer.parent.span_id == producer_ctx.span_id
    assert consumer.parent.is_remote
    assert consumer.attributes["messaging.system"] == "kafka" and consumer.attributes["messaging.kafka.offset"] == 7


def test_no_context_means_no_headers_and_a_new_root(spans) -> None:
    assert tracing.kafka_headers() == []
    assert tracing.carrier() == {}
    ctx = tracing.extract_kafka([("traceparent", b"garbage"), ("other", None)])
    with tracing.consumer_span("t", ctx):
        pass
    (span,) = spans.get_finished_spans()
    assert span.parent is None  # a malformed traceparent starts a new trace rather than failing


def test_the_outbox_row_carrier_restores_the_emitting_span(spans) -> None:
    with tracing.tracer().start_as_current_span("request") as request:
        stored = tracing.carrier()  # what Tx.emit keeps with the outbox row
    publish = tracing.start_producer_span("claims.events", tracing.extract(stored), {"cloudevents.event_id": "e1"})
    publish.end()
    (_, published) = spans.get_finished_spans()
    assert published.name == "claims.events publish" and published.kind is SpanKind.PRODUCER
    assert published.parent.span_id == request.get_span_context().span_id


def test_direct_publishes_carry_the_current_context(spans) -> None:
    event = member_registered("3171011506900001", "12345678901").to_event("/upstream/test")
    assert [k for k, _ in event.kafka_headers()] == ["content-type", "ce_type", "correlationid"]
    with tracing.tracer().start_as_current_span("feed") as span:
        headers = dict(event.kafka_headers())
    assert headers["traceparent"].decode().split("-")[1] == f"{span.get_span_context().trace_id:032x}"


def test_log_lines_carry_the_trace_id_while_a_span_is_current(spans, capsys) -> None:
    root_handlers = logging.getLogger().handlers[:]
    configure_logging("test", "INFO")
    try:
        log = structlog.get_logger("t")
        log.info("outside")
        with tracing.tracer().start_as_current_span("work") as span:
            log.info("inside")
    finally:  # the configuration holds pytest's captured stdout: undo it for the tests after this one
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        logging.getLogger().handlers[:] = root_handlers
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    outside = next(entry for entry in lines if entry["event"] == "outside")
    inside = next(entry for entry in lines if entry["event"] == "inside")
    assert "trace_id" not in outside
    assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"


async def test_a_request_is_a_server_span_named_by_its_route_and_child_of_the_callers_traceparent(spans) -> None:
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/v1/things/{thing_id}")
    async def get_thing(thing_id: str) -> dict:
        return {"trace_id": tracing.current_trace_id()}

    app = create_app("t", "t", lifespan=None, routers=[router])  # type: ignore[arg-type]
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        resp = await client.get("/v1/things/42", headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"})
        assert (await client.get("/healthz")).status_code == 200
        missing = await client.get("/nowhere")
    assert resp.json() == {"trace_id": caller_trace}
    finished = spans.get_finished_spans()
    assert len(finished) == 2 and all(s.kind is SpanKind.SERVER for s in finished)  # no span for probes
    server = finished[0]
    assert server.name == "GET /v1/things/{thing_id}" and f"{server.parent.span_id:016x}" == caller_span
    assert server.attributes["http.route"] == "/v1/things/{thing_id}"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["jmo.correlation_id"] == resp.headers["x-correlation-id"]
    assert missing.status_code == 404 and finished[1].attributes["http.response.status_code"] == 404
    assert finished[1].parent is None


def _file_provider(directory: Path, service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(tracing.JsonLinesSpanExporter(directory / f"{service}.jsonl")))
    return provider


def test_span_files_print_as_one_tree_per_claim(tmp_path: Path, capsys) -> None:
    """Two processes' files: the CLI joins them into one trace, found by the claim's id."""
    api, worker = _file_provider(tmp_path, "claims-api"), _file_provider(tmp_path, "balance-worker")
    claims_tracer, balance_tracer = api.get_tracer("t"), worker.get_tracer("t")
    with claims_tracer.start_as_current_span("POST /v1/claims", kind=SpanKind.SERVER) as root:
        stored = tracing.carrier()
    publish = claims_tracer.start_span(
        "claims.events publish", context=tracing.extract(stored), attributes={"cloudevents.event_subject": "CLM-1"}
    )
    headers = tracing.kafka_headers(trace.set_span_in_context(publish))
    publish.end()
    with balance_tracer.start_as_current_span(
        "claims.events process",
        context=tracing.extract_kafka(headers),
        attributes={"cloudevents.event_subject": "CLM-1", "cloudevents.event_type": "jht.claims.ClaimSubmitted.v1"},
    ):
        pass
    with claims_tracer.start_as_current_span("GET /v1/claims/{claim_id}"):
        pass  # another trace: not printed for the claim
    api.shutdown()
    worker.shutdown()

    assert len(list(traces.read_spans(tmp_path))) == 4
    (tmp_path / "claims-api.jsonl").open("a").write('{"cut mid-wri')  # a crash's last line is skipped
    trace_id = f"{root.get_span_context().trace_id:032x}"
    assert traces.main(["--claim", "CLM-1", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"trace {trace_id}  3 spans, 2 services (balance-worker, claims-api)")
    assert out[1].startswith("claims-api      POST /v1/claims")
    assert out[2].startswith("  claims-api      claims.events publish")
    assert out[3].startswith("    balance-worker  claims.events process")
    assert "type=jht.claims.ClaimSubmitted.v1" in out[3] and "subject=CLM-1" in out[3]
    assert len(out) == 4

    assert traces.main([trace_id, "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == out[1:]
    assert traces.main(["--claim", "CLM-404", "--dir", str(tmp_path)]) == 1
    assert traces.main(["--recent", "5", "--dir", str(tmp_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2  # two root spans


def test_configure_tracing_loads_nothing_without_a_destination(monkeypatch) -> None:
    assert tracing.configure_tracing("svc", "api") is False
    assert tracing._provider is None
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.configure_tracing("svc", "api", trace_file_dir="/nonexistent") is False


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://otel-collector:4318", "http://otel-collector:4318/v1/traces"),
        ("http://otel-collector:4318/", "http://otel-collector:4318/v1/traces"),
        ("http://c:4318/v1/traces", "http://c:4318/v1/traces"),
    ],
)
def test_the_otlp_endpoint_is_the_collectors_base_url(endpoint: str, url: str) -> None:
    assert tracing._traces_url(endpoint) == url
