"""The outbox relay: publishes what transactions wrote to the outbox, in order, at least once.

Only this relay publishes to Kafka. A row is marked published after the broker
acknowledged it (acks=all); a crash between the two republishes the row, and
consumers drop the duplicate by its event id.

Each row is published under a producer span whose parent is the context stored
with the row when it was emitted; that span's context goes in the Kafka headers.
The backlog gauges are read from the database on their own timer, so they keep
telling the truth while Kafka is unreachable.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge
from pymongo import ReturnDocument
from pymongo.errors import PyMongoError

from . import tracing
from .logging import get_logger
from .mongo import OUTBOX, Database

log = get_logger(__name__)

PUBLISHED = Counter("outbox_published_total", "Events published from the outbox", ["topic"])
BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published")
OLDEST_AGE = Gauge("outbox_oldest_unpublished_seconds", "Age of the oldest unpublished outbox row")
LEASE = "outbox_lease"


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        producer: AIOKafkaProducer,
        poll_seconds: float = 0.05,
        idle_poll_seconds: float = 0.5,
        batch_size: int = 500,
        lease_seconds: float = 10.0,
    ) -> None:
        self._db = db
        self._producer = producer
        self._poll = poll_seconds
        self._idle_poll = idle_poll_seconds
        self._batch = batch_size
        self._lease_seconds = lease_seconds
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def _hold_lease(self) -> bool:
        """Only one relay per service publishes, so events leave in the order they were written."""
        now = datetime.now(UTC)
        try:
            doc = await self._db[LEASE].find_one_and_update(
                {"_id": "relay", "$or": [{"owner": self._owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self._owner, "expires_at": now + timedelta(seconds=self._lease_seconds)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except PyMongoError as exc:
            # A duplicate key on upsert means another relay holds a live lease.
            if getattr(exc, "code", None) == 11000:
                return False
            raise
        return doc is not None and doc.get("owner") == self._owner

    async def _release_lease(self) -> None:
        """On a clean stop: the next relay (a rolling restart's new pod) takes over at once, not after expiry."""
        try:
            await asyncio.wait_for(
                self._db[LEASE].update_one(
                    {"_id": "relay", "owner": self._owner}, {"$set": {"expires_at": datetime.now(UTC)}}
                ),
                timeout=5,
            )
        except Exception as exc:  # noqa: BLE001 - the lease then simply expires
            log.warning("outbox_lease_release_failed", error=repr(exc))

    async def publish_batch(self) -> int:
        rows = await self._db[OUTBOX].find({"published_at": None}).sort("_id", 1).limit(self._batch).to_list()
        if not rows:
            BACKLOG.set(0)
            OLDEST_AGE.set(0)
            return 0
        OLDEST_AGE.set((datetime.now(UTC) - rows[0]["created_at"]).total_seconds())
        pending, spans = [], []
        try:
            for row in rows:
                span = tracing.start_producer_span(row["topic"], tracing.extract(row.get("trace")), {
                    "messaging.kafka.message.key": row["key"], "cloudevents.event_id": row["event_id"],
                    "cloudevents.event_type": row["type"], **(
                        {"cloudevents.event_subject": row["subject"]} if row.get("subject") else {}),
                })
                spans.append(span)
                headers = [("content-type", b"application/cloudevents+json"), ("ce_type", row["type"].encode())]
                if row.get("correlation_id"):
                    headers.append(("correlationid", row["correlation_id"].encode()))
                headers += tracing.kafka_headers(tracing.context_with(span))
                pending.append(
                    await self._producer.send(row["topic"], value=row["value"], key=row["key"].encode(),
                                              headers=headers)
                )
            await asyncio.gather(*pending)
        except BaseException as exc:
            for span in spans:
                tracing.end_with_error(span, exc)
            raise
        for span in spans:
            span.end()
        await self._db[OUTBOX].update_many(
            {"_id": {"$in": [r["_id"] for r in rows]}}, {"$set": {"published_at": datetime.now(UTC)}}
        )
        for row in rows:
            PUBLISHED.labels(row["topic"]).inc()
        if len(rows) < self._batch:
            BACKLOG.set(0)
            OLDEST_AGE.set(0)
        return len(rows)

    async def measure_backlog(self) -> None:
        """Set the backlog gauges from the database (no Kafka involved)."""
        outbox = self._db[OUTBOX]
        oldest = await outbox.find_one({"published_at": None}, {"created_at": 1}, sort=[("_id", 1)])
        if oldest is None:
            BACKLOG.set(0)
            OLDEST_AGE.set(0)
            return
        OLDEST_AGE.set(max((datetime.now(UTC) - oldest["created_at"]).total_seconds(), 0.0))
        BACKLOG.set(await outbox.count_documents({"published_at": None}))

    async def report_backlog(self, every_seconds: float = 15.0) -> None:
        """A timer independent of the relay loop: a relay blocked on the broker cannot freeze the gauges."""
        while not self._stopping.is_set():
            try:
                await self.measure_backlog()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: the scrape's `up` and readiness say so
                log.info("outbox_backlog_unmeasured", error=str(exc))
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=every_seconds)
            except TimeoutError:
                pass

    async def run(self) -> None:
        log.info("outbox_relay_started", owner=self._owner)
        while not self._stopping.is_set():
            try:
                if not await self._hold_lease():
                    await self._sleep(self._lease_seconds / 2)
                    continue
                published = await self.publish_batch()
                if published:
                    continue
                await self._sleep(self._idle_poll)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: keep the rows, try again
                log.warning("outbox_relay_retry", error=str(exc), error_type=type(exc).__name__)
                await self._sleep(1.0)
        await self._release_lease()
        log.info("outbox_relay_stopped")

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=max(seconds, self._poll))
        except TimeoutError:
            pass
        self._wake.clear()

    async def watch_inserts(self) -> None:
        """Wake the relay as soon as a transaction commits outbox rows (change stream)."""
        while not self._stopping.is_set():
            try:
                async with await self._db[OUTBOX].watch([{"$match": {"operationType": "insert"}}]) as stream:
                    async for _ in stream:
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("outbox_watch_unavailable", error=str(exc))
                await asyncio.sleep(5)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
