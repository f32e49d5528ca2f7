"""One trace from an HTTP request, through the outbox and the real broker, into another service's consumer."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry.trace import SpanKind

from jmo_shared import httpclient, tracing
from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.events import CloudEvent, ContributionPosted, MemberRegistered
from jmo_shared.http import create_app
from jmo_shared.kafka import make_producer
from jmo_shared.mongo import OUTBOX, Database, Tx
from jmo_shared.outbox import OutboxRelay
from jmo_shared.testing import eventually, member_registered

pytestmark = pytest.mark.integration


def _upstream_api(db: Database, topic: str):
    """A service's API: the request's transaction emits an event (subject = the member's NIK)."""
    router = APIRouter()

    @router.post("/v1/members/{nik}", status_code=201)
    async def register(nik: str) -> dict:
        async def work(tx: Tx) -> None:
            await tx["members"].insert_one({"_id": nik}, session=tx.session)
            tx.emit(member_registered(nik, nik[-11:]), subject=nik, topic=topic)

        await db.transaction(work)
        return {"nik": nik}

    return create_app("upstream", "emits through the outbox", lifespan=None, routers=[router])  # type: ignore[arg-type]


async def test_a_request_and_the_consumers_it_reaches_share_one_trace(
    spans, database: Database, other_database: Database, infra, scratch_topic: str
) -> None:
    niks = [f"3171{uuid.uuid4().int % 10**12:012d}" for _ in range(3)]
    async with httpclient.async_client(
        transport=httpx.ASGITransport(app=_upstream_api(database, scratch_topic)), base_url="http://upstream"
    ) as client:
        for nik in niks:
            assert (await client.post(f"/v1/members/{nik}")).status_code == 201
    # Three requests, three traces; all three rows leave in one relay batch.
    producer = make_producer(infra.kafka_bootstrap, "test-trace-relay")
    await producer.start()
    try:
        assert await OutboxRelay(database, producer).publish_batch() == 3
    finally:
        await producer.stop()

    seen: dict[str, str | None] = {}

    async def project(tx: Tx, data: MemberRegistered, event: CloudEvent) -> None:
        seen[data.nik] = tracing.current_trace_id()
        # What the handler emits continues the trace (the downstream service's own outbox).
        tx.emit(
            ContributionPosted(
                kpj=data.kpj,
                period="2024-01",
                wage_idr=5_000_000,
                employer_idr=185_000,
                worker_idr=100_000,
                posted_at="2024-02-10T03:00:00Z",
                nik=data.nik,
            ),
            subject=data.nik,
            topic=scratch_topic,
        )

    consumer = IdempotentConsumer(other_database, infra.kafka_bootstrap, f"test-{uuid.uuid4().hex}", [scratch_topic])
    consumer.on(MemberRegistered, project)
    await consumer.ensure_indexes()
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _all_seen(seen, niks), timeout=60, message="the three events consumed")
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=30)

    finished = spans.get_finished_spans()
    for nik in niks:
        server = next(s for s in finished if s.kind is SpanKind.SERVER and s.attributes["url.path"].endswith(nik))
        publish = next(
            s for s in finished if s.kind is SpanKind.PRODUCER and s.attributes.get("cloudevents.event_subject") == nik
        )
        process = next(
            s for s in finished if s.kind is SpanKind.CONSUMER and s.attributes.get("cloudevents.event_subject") == nik
        )
        trace_id = server.context.trace_id
        assert server.name == "POST /v1/members/{nik}" and server.parent is None
        assert (publish.context.trace_id, process.context.trace_id) == (trace_id, trace_id)
        assert publish.name == f"{scratch_topic} publish" and publish.parent.span_id == server.context.span_id
        # The consumer span's parent is the producer span, read back from the Kafka headers.
        assert process.name == f"{scratch_topic} process" and process.parent.span_id == publish.context.span_id
        assert process.parent.is_remote
        attrs = process.attributes
        assert attrs["messaging.system"] == "kafka" and attrs["messaging.destination.name"] == scratch_topic
        assert attrs["cloudevents.event_type"] == MemberRegistered.event_type
        assert attrs["cloudevents.event_id"] == publish.attributes["cloudevents.event_id"]
        assert attrs["messaging.destination.partition.id"] == "0" and isinstance(attrs["messaging.kafka.offset"], int)
        assert seen[nik] == f"{trace_id:032x}"  # the handler ran inside the consumer span
        # The downstream outbox row carries the consumer span as the parent of the next hop.
        row = await other_database[OUTBOX].find_one({"subject": nik})
        version, row_trace, row_parent, _ = row["trace"]["traceparent"].split("-")
        assert (row_trace, row_parent) == (f"{trace_id:032x}", f"{process.context.span_id:016x}")
    # Three traces, not one: each event kept its own producer's context inside the shared batch.
    assert len({s.context.trace_id for s in finished if s.kind is SpanKind.CONSUMER}) == 3


async def _all_seen(seen: dict, niks: list[str]) -> bool:
    return all(n in seen for n in niks)
