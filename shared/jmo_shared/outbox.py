"""Getting outbox rows to Kafka: at once after commit, and a sweep for whatever that missed.

Only this module publishes what transactions wrote to the outbox. Two paths:

- **The publisher** (every process that writes): `Database.transaction` hands it the rows
  of each committed transaction; one task sends them in commit order and waits for the
  broker's acknowledgement (acks=all); another deletes the rows acknowledged, with one
  command for everything acknowledged in the last `forget_after` (half a second). The
  outbox holds only what is not yet published (or just sent): the events themselves
  stay in Kafka for their topic's retention (replays start from there).
  No polling and no change stream: nothing is asked of the database when nothing
  happens, and an event leaves a few milliseconds after its transaction committed. A failed send is retried, in order, before anything later.
- **The sweeper** (the worker process; one per service, under a lease): every few
  seconds it publishes rows that are still unpublished a while after their commit,
  in the order they were written. That is what a process that crashed between commit
  and acknowledgement left behind, or rows its publisher could not get out.

A row can be published twice (a crash between the acknowledgement and the delete, or
the sweeper reaching a row its publisher is still retrying); consumers drop the
duplicate by its event id. Within one process events of a key leave in commit order;
when the sweeper and a publisher both send a row, each keeps that order, so the first
copy of every event still arrives after the first copy of the events before it.

Each row is published under a producer span whose parent is the context stored with
the row when it was emitted; that span's context goes in the Kafka headers. The
backlog gauges are read from the database on their own timer, so they keep telling
the truth while Kafka is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from bson import ObjectId
from prometheus_client import Counter, Gauge
from pymongo.errors import DuplicateKeyError, PyMongoError

from . import tracing
from .kafka import PRODUCER_STATE_ERRORS, RenewableProducer
from .logging import get_logger
from .mongo import OUTBOX, Database

log = get_logger(__name__)

PUBLISHED = Counter("outbox_published_total", "Events published from the outbox", ["topic", "path"])
BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published (or not yet deleted) 2 s after their commit")
OLDEST_AGE = Gauge("outbox_oldest_unpublished_seconds", "Age of the oldest such outbox row")
BACKLOG_SETTLE = timedelta(seconds=2)
QUEUED = Gauge("outbox_publisher_queued", "Committed outbox rows this process has yet to publish")
LEASE = "outbox_lease"


async def send_rows(producer: AIOKafkaProducer | RenewableProducer, rows: list[dict[str, Any]]) -> None:
    """Send rows in order and wait until the broker acknowledged every one.

    When the send fails because the producer's idempotence state no longer matches the broker's,
    a RenewableProducer is replaced before the error goes up, so the caller's retry can succeed.
    """
    used = producer.current if isinstance(producer, RenewableProducer) else producer
    pending, spans = [], []
    try:
        for row in rows:
            span = tracing.start_producer_span(
                row["topic"],
                tracing.extract(row.get("trace")),
                {
                    "messaging.kafka.message.key": row["key"],
                    "cloudevents.event_id": row["event_id"],
                    "cloudevents.event_type": row["type"],
                    **({"cloudevents.event_subject": row["subject"]} if row.get("subject") else {}),
                },
            )
            spans.append(span)
            headers = [("content-type", b"application/cloudevents+json"), ("ce_type", row["type"].encode())]
            if row.get("correlation_id"):
                headers.append(("correlationid", row["correlation_id"].encode()))
            headers += tracing.kafka_headers(tracing.context_with(span))
            pending.append(await used.send(row["topic"], value=row["value"], key=row["key"].encode(), headers=headers))
        await asyncio.gather(*pending)
    except BaseException as exc:
        for span in spans:
            tracing.end_with_error(span, exc)
        if isinstance(producer, RenewableProducer) and isinstance(exc, PRODUCER_STATE_ERRORS):
            await producer.renew(used, exc)
        raise
    for span in spans:
        span.end()


async def forget_published(db: Database, rows: Iterable[dict[str, Any]]) -> None:
    """Delete rows the broker acknowledged: a delete costs the local database a quarter of an update."""
    await db[OUTBOX].delete_many({"_id": {"$in": [r["_id"] for r in rows]}})


class OutboxPublisher:
    """Publishes the rows this process committed, in commit order, as soon as they are committed."""

    def __init__(
        self,
        db: Database,
        producer: AIOKafkaProducer | RenewableProducer,
        max_queued: int = 20_000,
        max_round: int = 1_000,
        forget_after: float = 0.5,
    ) -> None:
        self._db = db
        self._producer = producer
        self._max_queued = max_queued
        self._max_round = max_round
        # Published rows are deleted together, at most this long after their acknowledgement: under load
        # many transactions' rows cost one delete (far below the sweeper's 10 s, so it never sends them again).
        self._forget_after = forget_after
        self._queue: list[dict[str, Any]] = []
        self._ready = asyncio.Event()
        self._acked: list[dict[str, Any]] = []
        self._acked_ready = asyncio.Event()
        self._stopping = False

    def committed(self, rows: list[dict[str, Any]]) -> None:
        """`Database.on_commit`: take a committed transaction's rows (never blocks, never raises)."""
        if len(self._queue) >= self._max_queued:
            # The broker has been away for long: leave these to the sweeper rather than grow without bound.
            log.warning("outbox_publisher_full", queued=len(self._queue), left_to_sweeper=len(rows))
            return
        self._queue.extend(rows)
        QUEUED.set(len(self._queue))
        self._ready.set()

    def attach(self) -> None:
        self._db.on_commit = self.committed

    async def run(self) -> None:
        """Until stopped, and then until the rows in hand are out (bounded by the caller's grace period)."""
        forgetting = asyncio.create_task(self._forget_loop(), name="outbox-forget")
        try:
            await self._publish_loop()
        finally:
            forgetting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forgetting
            await self._forget_acked()

    async def _publish_loop(self) -> None:
        delay = 0.2
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._ready.clear()
                await self._ready.wait()
                continue
            rows = self._queue[: self._max_round]
            try:
                await send_rows(self._producer, rows)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker away: the same rows again, in order, before anything later
                log.warning("outbox_publish_retry", rows=len(rows), error=str(exc), error_type=type(exc).__name__)
                if self._stopping:
                    return  # the sweeper publishes them once a worker runs again
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            del self._queue[: len(rows)]
            QUEUED.set(len(self._queue))
            for row in rows:
                PUBLISHED.labels(row["topic"], "publisher").inc()
            self._acked.extend(rows)
            self._acked_ready.set()

    async def _forget_loop(self) -> None:
        while True:
            await self._acked_ready.wait()
            await asyncio.sleep(self._forget_after)
            self._acked_ready.clear()
            await self._forget_acked()

    async def _forget_acked(self) -> None:
        rows, self._acked = self._acked, []
        if not rows:
            return
        try:
            await forget_published(self._db, rows)
        except PyMongoError as exc:  # published but still there: the sweeper sends them once more
            log.warning("outbox_forget_failed", rows=len(rows), error=str(exc))

    def stop(self) -> None:
        self._stopping = True
        self._ready.set()


class OutboxRelay:
    """The sweeper: publishes rows left unpublished `sweep_after_seconds` after their commit."""

    def __init__(
        self,
        db: Database,
        producer: AIOKafkaProducer | RenewableProducer,
        sweep_seconds: float = 5.0,
        sweep_after_seconds: float = 10.0,
        batch_size: int = 500,
        lease_seconds: float = 10.0,
    ) -> None:
        self._db = db
        self._producer = producer
        self._sweep = sweep_seconds
        self._after = timedelta(seconds=sweep_after_seconds)
        self._batch = batch_size
        self._lease_seconds = lease_seconds
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._stopping = asyncio.Event()

    async def _hold_lease(self) -> bool:
        """Only one sweeper per service, so what it sweeps leaves in the order it was written."""
        now = datetime.now(UTC)
        try:
            # An update by _id, not find_one_and_update: the local database answers that with a scan.
            result = await self._db[LEASE].update_one(
                {"_id": "relay", "$or": [{"owner": self._owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self._owner, "expires_at": now + timedelta(seconds=self._lease_seconds)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # the upsert collided: another sweeper holds a live lease
        return result.matched_count == 1 or result.upserted_id is not None

    async def _release_lease(self) -> None:
        """On a clean stop: the next sweeper (a rolling restart's new pod) takes over at once, not after expiry."""
        try:
            await asyncio.wait_for(
                self._db[LEASE].update_one(
                    {"_id": "relay", "owner": self._owner}, {"$set": {"expires_at": datetime.now(UTC)}}
                ),
                timeout=5,
            )
        except Exception as exc:  # noqa: BLE001 - the lease then simply expires
            log.warning("outbox_lease_release_failed", error=repr(exc))

    async def publish_batch(self, older_than: timedelta | None = None) -> int:
        """Publish up to one batch of unpublished rows, oldest first; `older_than` spares fresh ones."""
        query: dict[str, Any] = {}
        if older_than is not None:
            # _id is an ObjectId minted at the transaction's flush, so it orders by time. SecantusDB reads
            # the collection for this range, which is why published rows are deleted: it holds only the backlog.
            query["_id"] = {"$lt": ObjectId.from_datetime(datetime.now(UTC) - older_than)}
        rows = await self._db[OUTBOX].find(query).sort("_id", 1).limit(self._batch).to_list()
        if not rows:
            return 0
        OLDEST_AGE.set((datetime.now(UTC) - rows[0]["created_at"]).total_seconds())
        await send_rows(self._producer, rows)
        await forget_published(self._db, rows)
        for row in rows:
            PUBLISHED.labels(row["topic"], "sweeper").inc()
        log.info("outbox_swept", rows=len(rows), oldest=rows[0]["created_at"].isoformat())
        return len(rows)

    async def measure_backlog(self) -> None:
        """Set the backlog gauges from the database (no Kafka involved).

        Rows committed in the last BACKLOG_SETTLE are left out: their publisher has them in hand (it
        sends a row at once and deletes it within half a second of the broker's acknowledgement), so a
        busy but healthy service reads 0, and what is counted is what did not get out."""
        outbox = self._db[OUTBOX]
        settled = {"_id": {"$lt": ObjectId.from_datetime(datetime.now(UTC) - BACKLOG_SETTLE)}}
        oldest = await outbox.find_one(settled, {"created_at": 1}, sort=[("_id", 1)])
        if oldest is None:
            BACKLOG.set(0)
            OLDEST_AGE.set(0)
            return
        OLDEST_AGE.set(max((datetime.now(UTC) - oldest["created_at"]).total_seconds(), 0.0))
        BACKLOG.set(await outbox.count_documents(settled))

    async def report_backlog(self, every_seconds: float = 15.0) -> None:
        """A timer independent of the relay loop: a relay blocked on the broker cannot freeze the gauges."""
        while not self._stopping.is_set():
            try:
                await self.measure_backlog()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: the scrape's `up` and readiness say so
                log.info("outbox_backlog_unmeasured", error=str(exc))
            await self._sleep(every_seconds)

    async def run(self) -> None:
        log.info("outbox_sweeper_started", owner=self._owner, every_seconds=self._sweep)
        first = True
        while not self._stopping.is_set():
            try:
                # The first round only takes the lease: the producer is still connecting, and nothing
                # committed since start-up is older than the grace yet.
                if await self._hold_lease() and not first:
                    while await self.publish_batch(self._after) == self._batch and not self._stopping.is_set():
                        pass  # a backlog (say after a broker outage): drain it before sleeping
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: keep the rows, try again
                log.warning("outbox_relay_retry", error=str(exc), error_type=type(exc).__name__)
            first = False
            await self._sleep(self._sweep)
        await self._release_lease()
        log.info("outbox_sweeper_stopped")

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def stop(self) -> None:
        self._stopping.set()
