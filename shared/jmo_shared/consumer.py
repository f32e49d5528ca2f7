"""The idempotent consumer: each event changes a service's projection exactly once.

For every event, one MongoDB transaction records the event id under a unique
key (`processed_events._id`) together with the handler's writes and the events
it emits (outbox). A redelivered event finds its id already there and is
skipped. Kafka offsets are committed only after the transactions committed,
so a crash at any point redelivers rather than loses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from prometheus_client import Counter, Gauge, Histogram
from pymongo.errors import DuplicateKeyError, PyMongoError

from .errors import DomainError
from .events.base import REGISTRY, EventData
from .events.envelope import CloudEvent
from .logging import correlation_id, get_logger
from .mongo import Database, Tx

log = get_logger(__name__)

Handler = Callable[[Tx, Any, CloudEvent], Awaitable[None]]

PROCESSED = "processed_events"
DEAD_LETTERS = "dead_letters"

HANDLED = Counter("consumer_events_total", "Events handled", ["group", "type", "outcome"])
LAG = Gauge("consumer_lag", "Messages behind the end of the partition", ["group", "topic", "partition"])
HANDLE_SECONDS = Histogram("consumer_handle_seconds", "Time to apply one event", ["group"])


class _AlreadyProcessed(Exception):
    """A concurrent delivery of the same event committed first."""


class IdempotentConsumer:
    def __init__(
        self,
        db: Database,
        bootstrap: str,
        group_id: str,
        topics: list[str] | None = None,
        pattern: str | None = None,
        max_records: int = 200,
    ) -> None:
        self._db = db
        self._bootstrap = bootstrap
        self.group_id = group_id
        self._topics = topics or []
        self._pattern = pattern
        self._handlers: dict[str, Handler] = {}
        self._max_records = max_records
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()

    def on(self, event_cls: type[EventData], handler: Handler) -> "IdempotentConsumer":
        self._handlers[event_cls.event_type] = handler
        return self

    async def ensure_indexes(self) -> None:
        await self._db[DEAD_LETTERS].create_index("at")
        # Redeliveries come within hours or days; a month of ids is ample.
        await self._db[PROCESSED].create_index("at", expireAfterSeconds=30 * 24 * 3600)

    def _make_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *([] if self._pattern else self._topics),
            bootstrap_servers=self._bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=600_000,
            metadata_max_age_ms=10_000,
        )

    async def run(self) -> None:
        consumer = self._make_consumer()
        if self._pattern:
            consumer.subscribe(pattern=self._pattern)
        self._consumer = consumer
        await self._start_with_retry(consumer)
        log.info("consumer_started", group=self.group_id, topics=self._topics, pattern=self._pattern)
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
                if not batch:
                    continue
                # Partitions are independent: apply them concurrently, each in order.
                await asyncio.gather(*(self._apply_partition(tp, msgs) for tp, msgs in batch.items()))
                await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in batch.items()})
                self._report_lag(consumer, batch)
        finally:
            await consumer.stop()
            log.info("consumer_stopped", group=self.group_id)

    async def _start_with_retry(self, consumer: AIOKafkaConsumer) -> None:
        delay = 0.5
        while True:
            try:
                await consumer.start()
                return
            except Exception as exc:
                log.warning("consumer_start_retry", group=self.group_id, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    def _report_lag(self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        for tp, msgs in batch.items():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(max(highwater - msgs[-1].offset - 1, 0))

    def stop(self) -> None:
        self._stopping.set()

    async def _apply_partition(self, tp: TopicPartition, msgs: list[ConsumerRecord]) -> None:
        for msg in msgs:
            await self.apply(msg.value, where=f"{tp.topic}/{tp.partition}@{msg.offset}")

    async def apply(self, raw: bytes, where: str = "") -> str:
        """Apply one raw message; returns the outcome. Retries transient failures until they pass."""
        try:
            event = CloudEvent.from_bytes(raw)
        except (ValueError, ValidationError) as exc:
            await self._dead_letter(None, raw, "not_a_cloudevent", str(exc), where)
            return "dead_letter"
        handler = self._handlers.get(event.type)
        if handler is None:
            HANDLED.labels(self.group_id, event.type, "ignored").inc()
            return "ignored"
        token = correlation_id.set(event.correlationid)
        try:
            return await self._apply_with_retry(handler, event, raw, where)
        finally:
            correlation_id.reset(token)

    async def _apply_with_retry(self, handler: Handler, event: CloudEvent, raw: bytes, where: str) -> str:
        delay = 0.2
        while True:
            try:
                with HANDLE_SECONDS.labels(self.group_id).time():
                    outcome = await self._apply_once(handler, event)
                HANDLED.labels(self.group_id, event.type, outcome).inc()
                return outcome
            except (DomainError, ValidationError) as exc:
                # The event itself cannot be applied: park it, visibly, and move on.
                await self._dead_letter(event, raw, "rejected", str(exc), where)
                HANDLED.labels(self.group_id, event.type, "dead_letter").inc()
                return "dead_letter"
            except PyMongoError as exc:
                log.warning("consumer_retry", group=self.group_id, type=event.type, event_id=event.id, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _apply_once(self, handler: Handler, event: CloudEvent) -> str:
        model = REGISTRY[event.type]
        data = model.model_validate(event.data)
        processed_id = f"{self.group_id}:{event.id}"

        async def work(tx: Tx) -> str:
            # A write error aborts a MongoDB transaction, so look before inserting;
            # a concurrent twin still fails on the unique _id and is reported below.
            if await tx[PROCESSED].find_one({"_id": processed_id}, {"_id": 1}, session=tx.session):
                return "duplicate"
            try:
                await tx[PROCESSED].insert_one(
                    {"_id": processed_id, "type": event.type, "at": datetime.now(UTC)}, session=tx.session
                )
            except DuplicateKeyError as exc:
                raise _AlreadyProcessed from exc
            try:
                await handler(tx, data, event)
            except DuplicateKeyError as exc:
                # The handler's own unique index refused a write: a rule of its data, not a redelivery.
                raise DomainError(code="unique_violation", detail=str(exc)) from exc
            return "applied"

        try:
            return await self._db.transaction(work)
        except _AlreadyProcessed:
            return "duplicate"

    async def _dead_letter(self, event: CloudEvent | None, raw: bytes, code: str, error: str, where: str) -> None:
        log.error("event_dead_lettered", group=self.group_id, code=code, error=error, where=where,
                  type=event.type if event else None, event_id=event.id if event else None)
        doc = {"group": self.group_id, "code": code, "error": error, "where": where, "raw": raw, "at": datetime.now(UTC)}
        if event is not None:
            doc["_id"] = f"{self.group_id}:{event.id}"
            doc["type"] = event.type
        while True:
            try:
                if "_id" in doc:
                    await self._db[DEAD_LETTERS].replace_one({"_id": doc["_id"]}, doc, upsert=True)
                else:
                    await self._db[DEAD_LETTERS].insert_one(doc)
                return
            except PyMongoError as exc:
                log.warning("dead_letter_retry", error=str(exc))
                await asyncio.sleep(1)
