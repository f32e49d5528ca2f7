"""The idempotent consumer: each event changes a service's projection exactly once.

For every event, one MongoDB transaction records the event id under a unique
key (`processed_events._id`) together with the handler's writes and the events
it emits (outbox). A redelivered event finds its id already there and is
skipped. Kafka offsets are committed only after the transactions committed,
so a crash at any point redelivers rather than loses.

Each handler runs in a consumer span (`<topic> process`) whose parent is the
producer's context from the Kafka headers, so what it emits stays in the trace.
On stop, the batch in hand is finished and committed, then the consumer leaves
its group, so a rolling restart rebalances at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from opentelemetry.context import Context
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from . import tracing
from .errors import DomainError
from .events.base import REGISTRY, EventData
from .events.envelope import CloudEvent
from .kafka import QUIET_CONSUMER_OPTIONS, with_paced_metadata
from .logging import correlation_id, get_logger
from .mongo import Database, Tx, only_duplicate_keys

log = get_logger(__name__)

Handler = Callable[[Tx, Any, CloudEvent], Awaitable[None]]
# Applies a run of consecutive events of one type at once (bulk writes): (data, event) in log order.
BatchHandler = Callable[[Tx, list[tuple[Any, CloudEvent]]], Awaitable[None]]
# Whether an event's data concerns the handler at all (see IdempotentConsumer.on).
Wanted = Callable[[Any], bool]
# Runs in a batch's transaction before its handlers, with every event to apply: (data, event) in log order.
ReadAhead = Callable[[Tx, list[tuple[Any, CloudEvent]]], Awaitable[None]]

PROCESSED = "processed_events"
DEAD_LETTERS = "dead_letters"

HANDLED = Counter("consumer_events_total", "Events handled", ["group", "type", "outcome"])
LAG = Gauge("consumer_lag", "Messages behind the end of the partition", ["group", "topic", "partition"])
HANDLE_SECONDS = Histogram("consumer_handle_seconds", "Time to apply one event", ["group"])


@dataclass(frozen=True)
class _Origin:
    """Where a message came from, for its consumer span."""

    topic: str = ""
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None
    headers: tuple = ()


@dataclass(frozen=True)
class _Item:
    event: CloudEvent
    data: EventData
    handler: Handler | None
    raw: bytes
    where: str
    origin: _Origin
    parent: Context
    batch_handler: BatchHandler | None = None


class _Stopping(Exception):
    """The consumer was asked to stop while a batch could not be written."""


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
        batch_size: int = 100,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self._batch_size = batch_size
        self._db = db
        self._bootstrap = bootstrap
        # How it connects (jmo_shared.kafka.client_options): credentials, TLS.
        self._options = dict(options or {})
        self.group_id = group_id
        self._topics = topics or []
        self._pattern = pattern
        self._handlers: dict[str, Handler] = {}
        self._batch_handlers: dict[str, BatchHandler] = {}
        self._wanted: dict[str, Wanted] = {}
        # Types whose handler makes a repeat change nothing by itself: no processed id (on_batch).
        self._idempotent: set[str] = set()
        self._read_ahead: ReadAhead | None = None
        self._max_records = max_records
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()

    def on(
        self, event_cls: type[EventData], handler: Handler, when: Wanted | None = None, idempotent: bool = False
    ) -> IdempotentConsumer:
        """Apply events of this type with `handler`; with `when`, only those whose data it accepts.

        An event `when` refuses is one the handler would do nothing with: it is skipped before any
        transaction, and no processed id is written for it (applying it again could change nothing).
        `idempotent`: see `on_batch`.
        """
        self._handlers[event_cls.event_type] = handler
        if when is not None:
            self._wanted[event_cls.event_type] = when
        self._mark_idempotent(event_cls, idempotent)
        return self

    def on_batch(
        self, event_cls: type[EventData], handler: BatchHandler, idempotent: bool = False
    ) -> IdempotentConsumer:
        """Apply consecutive events of this type with one call (still in one transaction, in log order).

        For high-volume feeds whose handler can write a whole run with a few bulk writes instead
        of a few writes per event. A refused run is retried one event at a time, like any batch.

        `idempotent=True` says the handler itself makes a repeat change nothing, by a business key or a
        version it checks in the same transaction (a card's month posted once, the newest balance kept):
        no processed id is written for these events, a document less per event for the database.
        """
        self._batch_handlers[event_cls.event_type] = handler
        self._mark_idempotent(event_cls, idempotent)
        return self

    def _mark_idempotent(self, event_cls: type[EventData], idempotent: bool) -> None:
        if idempotent:
            self._idempotent.add(event_cls.event_type)
        else:
            self._idempotent.discard(event_cls.event_type)

    def read_ahead(self, hook: ReadAhead) -> IdempotentConsumer:
        """Before a batch's handlers run, let `hook` read in one query what they would each read alone
        (Tx.read_ahead). It sees the batch's events to apply, in log order."""
        self._read_ahead = hook
        return self

    async def ensure_indexes(self) -> None:
        await self._db[DEAD_LETTERS].create_index("at")
        # Redeliveries come within hours or days; a month of ids is ample.
        await self._db[PROCESSED].create_index("at", expireAfterSeconds=30 * 24 * 3600)

    def _make_consumer(self) -> AIOKafkaConsumer:
        return with_paced_metadata(
            AIOKafkaConsumer(
                *([] if self._pattern else self._topics),
                **self._options,
                bootstrap_servers=self._bootstrap,
                group_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                max_poll_interval_ms=600_000,
                # A pattern subscription learns of a new topic (a partner bank's) by refreshing metadata;
                # named topics exist before their consumers start (jmo_shared.topics), and a rebalance or
                # a moved leader refreshes it anyway.
                metadata_max_age_ms=10_000 if self._pattern else 60_000,
                **QUIET_CONSUMER_OPTIONS,
            )
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
                batch = await consumer.getmany(timeout_ms=1_000, max_records=self._max_records)
                if not batch:
                    continue
                try:
                    await self._apply_batch(batch)
                except _Stopping:
                    break
                try:
                    await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in batch.items()})
                except (CommitFailedError, IllegalStateError) as exc:
                    # A rebalance took the partitions while the batch was applied: their new owner
                    # gets the batch again and drops it as duplicates. Not a reason to crash.
                    log.warning("consumer_commit_lost_to_rebalance", group=self.group_id, error=str(exc))
                    continue
                self._report_lag(consumer, batch)
        finally:
            # stop() commits nothing more (auto-commit is off) and sends LeaveGroup.
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

    async def _apply_batch(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Apply a fetched batch, many events per transaction, each partition's events in log order.

        The database's transaction rate bounds the whole system, so the events of every partition the
        fetch returned share one transaction (and one insert of processed ids): a transaction per
        partition cost each hop of a claim up to six commits and six of every other command under load.
        Events of one key are in one partition, so the order that matters is kept. If any event in a
        transaction is refused, it is rolled back and its events applied one at a time, so only the
        refused one is parked.
        """
        items: list[_Item] = []
        for tp, msgs in batch.items():
            for msg in msgs:
                ignored = self._ignored_by_header(msg.headers)
                if ignored is not None:
                    HANDLED.labels(self.group_id, ignored, "ignored").inc()
                    continue
                where = f"{tp.topic}/{tp.partition}@{msg.offset}"
                origin = _Origin(tp.topic, tp.partition, msg.offset, msg.key, tuple(msg.headers or ()))
                item = await self._prepare(msg.value, where, origin)
                if isinstance(item, _Item):
                    items.append(item)
        for start in range(0, len(items), self._batch_size):
            chunk = items[start : start + self._batch_size]
            try:
                await self._commit(chunk)
            except (DomainError, ValidationError, _AlreadyProcessed):
                for item in chunk:
                    await self._apply_item(item)

    def _handles(self, event_type: str) -> bool:
        return event_type in self._handlers or event_type in self._batch_handlers

    def _ignored_by_header(self, headers: Any) -> str | None:
        """The event type from the `ce_type` header when this consumer has no handler for it.

        Several services read the same feeds for a few types each: skipping the others by their
        header spares parsing and validating every message they do not want.
        """
        for name, value in headers or ():
            if name == "ce_type":
                event_type = value.decode("utf-8", "replace")
                return None if self._handles(event_type) else event_type
        return None

    async def _prepare(self, raw: bytes, where: str, origin: _Origin | None = None) -> _Item | str:
        """Parse and validate one message: the item to apply, or the outcome ("ignored", "dead_letter")."""
        try:
            event = CloudEvent.from_bytes(raw)
        except (ValueError, ValidationError) as exc:
            await self._dead_letter(None, raw, "not_a_cloudevent", str(exc), where)
            return "dead_letter"
        if not self._handles(event.type):
            HANDLED.labels(self.group_id, event.type, "ignored").inc()
            return "ignored"
        handler = self._handlers.get(event.type)
        batch_handler = self._batch_handlers.get(event.type)
        try:
            data = REGISTRY[event.type].model_validate(event.data)
        except ValidationError as exc:
            await self._dead_letter(event, raw, "rejected", str(exc), where)
            HANDLED.labels(self.group_id, event.type, "dead_letter").inc()
            return "dead_letter"
        wanted = self._wanted.get(event.type)
        if wanted is not None and not wanted(data):
            HANDLED.labels(self.group_id, event.type, "not_wanted").inc()
            return "not_wanted"
        origin = origin or _Origin()
        return _Item(event, data, handler, raw, where, origin, tracing.extract_kafka(origin.headers), batch_handler)

    async def _commit(self, chunk: list[_Item]) -> list[str]:
        """Apply a chunk in one transaction, retrying transient database errors; refusals propagate."""
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                outcomes = await self._db.transaction(lambda tx: self._apply_chunk(tx, chunk))
            except DuplicateKeyError as exc:
                # From a write the handlers staged (Tx.stage), sent as the transaction ends: a refusal,
                # as it is when a handler's own write fails so (see _apply_chunk).
                raise DomainError(code="unique_violation", detail=str(exc)) from exc
            except PyMongoError as exc:
                if self._stopping.is_set():
                    # Shutting down: leave the batch uncommitted; it is redelivered on restart.
                    raise _Stopping from exc
                log.warning(
                    "consumer_retry",
                    group=self.group_id,
                    events=len(chunk),
                    first_event_id=chunk[0].event.id,
                    error=str(exc),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                continue
            per_event = (time.perf_counter() - started) / len(chunk)
            for item, outcome in zip(chunk, outcomes):
                HANDLED.labels(self.group_id, item.event.type, outcome).inc()
                HANDLE_SECONDS.labels(self.group_id).observe(per_event)
                # One line per event, under the event's correlation id: a claim's trail across services.
                log.info(
                    "event_applied",
                    group=self.group_id,
                    type=item.event.type,
                    event_id=item.event.id,
                    subject=item.event.subject,
                    outcome=outcome,
                    where=item.where,
                    correlation_id=item.event.correlationid,
                    trace_id=tracing.trace_id_of(item.parent),
                )
            return outcomes

    async def _apply_chunk(self, tx: Tx, chunk: list[_Item]) -> list[str]:
        outcomes: list[str] = []
        fresh: list[tuple[str, _Item]] = []
        seen: set[str] = set()
        for item in chunk:
            processed_id = f"{self.group_id}:{item.event.id}"
            if processed_id in seen:
                outcomes.append("duplicate")  # the same event twice in one batch applies once
            else:
                seen.add(processed_id)
                fresh.append((processed_id, item))
                outcomes.append("applied")
        if not fresh:
            return outcomes
        now = datetime.now(UTC)
        recorded = [
            {"_id": pid, "type": item.event.type, "at": now}
            for pid, item in fresh
            if item.event.type not in self._idempotent
        ]
        try:
            # No look-up first: an id already there fails the insert (and the transaction), and the
            # batch is then applied one event at a time, where that event counts as a duplicate.
            if recorded:
                await tx[PROCESSED].insert_many(recorded, session=tx.session)
        except (DuplicateKeyError, BulkWriteError) as exc:
            if isinstance(exc, BulkWriteError) and not only_duplicate_keys(exc):
                raise
            raise _AlreadyProcessed from exc
        if self._read_ahead is not None and len(fresh) > 1:
            await self._read_ahead(tx, [(item.data, item.event) for _, item in fresh])
        for run in _runs([item for _, item in fresh]):
            token = correlation_id.set(run[0].event.correlationid)
            try:
                with self._span(run[0], len(run)):
                    if run[0].batch_handler is not None:
                        await run[0].batch_handler(tx, [(item.data, item.event) for item in run])
                    else:
                        assert run[0].handler is not None
                        await run[0].handler(tx, run[0].data, run[0].event)
            except DuplicateKeyError as exc:
                raise DomainError(code="unique_violation", detail=str(exc)) from exc
            finally:
                correlation_id.reset(token)
        return outcomes

    def _span(self, item: _Item, count: int = 1):
        origin = item.origin
        attrs = {**tracing.event_attributes(item.event), "messaging.consumer.group.name": self.group_id}
        if count > 1:
            attrs["messaging.batch.message_count"] = count
        if origin.partition is not None:
            attrs["messaging.destination.partition.id"] = str(origin.partition)
        if origin.offset is not None:
            attrs["messaging.kafka.offset"] = origin.offset
        if origin.key is not None:
            attrs["messaging.kafka.message.key"] = origin.key.decode("utf-8", "replace")
        return tracing.consumer_span(origin.topic or "replay", item.parent, attrs)

    async def _apply_item(self, item: _Item) -> str:
        token = correlation_id.set(item.event.correlationid)
        try:
            return await self._apply_with_retry(item)
        finally:
            correlation_id.reset(token)

    async def apply(self, raw: bytes, where: str = "", headers: list[tuple[str, bytes]] | None = None) -> str:
        """Apply one raw message on its own; returns the outcome. Retries transient failures until they pass."""
        item = await self._prepare(raw, where, _Origin(headers=tuple(headers or ())))
        return await self._apply_item(item) if isinstance(item, _Item) else item

    async def _apply_with_retry(self, item: _Item) -> str:
        try:
            return (await self._commit([item]))[0]
        except _AlreadyProcessed:
            outcome = "duplicate"
        except (DomainError, ValidationError) as exc:
            # The event itself cannot be applied: park it, visibly, and move on.
            await self._dead_letter(item.event, item.raw, "rejected", str(exc), item.where)
            outcome = "dead_letter"
        HANDLED.labels(self.group_id, item.event.type, outcome).inc()
        return outcome

    async def _dead_letter(self, event: CloudEvent | None, raw: bytes, code: str, error: str, where: str) -> None:
        log.error(
            "event_dead_lettered",
            group=self.group_id,
            code=code,
            error=error,
            where=where,
            type=event.type if event else None,
            event_id=event.id if event else None,
        )
        doc = {
            "group": self.group_id,
            "code": code,
            "error": error,
            "where": where,
            "raw": raw,
            "at": datetime.now(UTC),
        }
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


def _runs(items: list[_Item]) -> list[list[_Item]]:
    """Consecutive items of one batch handler form a run; every other item is a run of its own."""
    runs: list[list[_Item]] = []
    for item in items:
        if item.batch_handler is not None and runs and runs[-1][0].batch_handler == item.batch_handler:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs
