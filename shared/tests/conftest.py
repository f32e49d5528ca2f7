"""Fixtures of the shared plumbing's tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class _ToCurrentTest(SpanExporter):
    """The process's one global provider (OpenTelemetry allows one) hands spans to the running test, if any."""

    def __init__(self) -> None:
        self.target: InMemorySpanExporter | None = None
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            if self.target is not None:
                self.target.export(spans)
        return SpanExportResult.SUCCESS


_FORWARD = _ToCurrentTest()


@pytest.fixture(scope="session")
def _global_tracer_provider() -> TracerProvider:
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current  # set by an earlier test module of this run
    else:
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(_FORWARD))
    return provider


@pytest.fixture
def spans(_global_tracer_provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    """The spans this test records (jmo's and FastAPI's), kept in memory."""
    exporter = InMemorySpanExporter()
    _FORWARD.target = exporter
    try:
        yield exporter
    finally:
        _FORWARD.target = None


def _new_database(infra, source: str = "/jmo/test"):
    from jmo_shared.mongo import Database, make_client

    client = make_client(infra.mongo_uri)
    return Database(client, f"t_{uuid.uuid4().hex[:10]}", source=source)


@pytest.fixture
async def database(infra):
    """A database of its own for one test, with the outbox indexes; dropped afterwards."""
    db = _new_database(infra)
    await db.ensure_outbox_indexes()
    yield db
    await db.client.drop_database(db.db.name)
    await db.client.close()


@pytest.fixture
async def other_database(infra):
    """A second service's database (a consumer downstream of `database`)."""
    db = _new_database(infra, source="/jmo/test-downstream")
    await db.ensure_outbox_indexes()
    yield db
    await db.client.drop_database(db.db.name)
    await db.client.close()


@pytest.fixture
async def scratch_topic(infra) -> AsyncIterator[str]:
    """A one-partition topic of this test only: no other test's events, no history to read first."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    name = f"test.scratch.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()
