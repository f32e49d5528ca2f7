"""MongoDB access: one async client per process, transactions that also write the outbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bson import ObjectId
from prometheus_client import Counter
from pymongo import AsyncMongoClient, WriteConcern
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_concern import ReadConcern

from . import tracing
from .events.base import EventData
from .logging import current_correlation_id

T = TypeVar("T")

OUTBOX = "outbox"
DOMAIN_EVENTS = Counter(
    "domain_events_total",
    "Domain events committed through the outbox, by type and a detail (claim status, payout rail, reason code)",
    ["type", "detail"],
)
# Money must survive a crash: commit to the journal before answering.
JOURNALED = WriteConcern(w=1, j=True)


def make_client(uri: str, **kwargs: Any) -> AsyncMongoClient:
    return AsyncMongoClient(uri, tz_aware=True, connect=False, **kwargs)


@dataclass
class Tx:
    """One MongoDB transaction and the events it will publish (via the outbox) if it commits."""

    session: AsyncClientSession
    db: AsyncDatabase
    source: str
    pending: list[tuple[EventData, str | None, str | None, str, dict[str, str]]] = field(default_factory=list)

    def emit(self, data: EventData, subject: str | None = None, topic: str | None = None) -> None:
        """Queue an event; it is written to the outbox inside this transaction."""
        if (topic or data.topic) is None:
            raise ValueError(f"{data.event_type} needs an explicit topic")
        # The correlation id and trace context of the moment: a consumer batch applies events of
        # several claims in one transaction, each under its own consumer span.
        self.pending.append((data, subject, topic, current_correlation_id(), tracing.carrier()))

    def __getitem__(self, collection: str):  # tx["claims"] -> collection
        return self.db[collection]

    async def _flush_outbox(self) -> None:
        if not self.pending:
            return
        now = datetime.now(UTC)
        rows = []
        for data, subject, topic, cid, trace in self.pending:
            event = data.to_event(self.source, subject=subject, correlation_id=cid)
            row: dict[str, Any] = {
                "_id": ObjectId(),
                "event_id": event.id,
                "type": event.type,
                "topic": topic or data.topic,
                "key": data.key(),
                "value": event.to_bytes(),
                "correlation_id": cid,
                "created_at": now,
                "published_at": None,
            }
            if subject:
                row["subject"] = subject
            if trace:  # W3C traceparent/tracestate: the relay's producer span continues this trace
                row["trace"] = trace
            rows.append(row)
        await self.db[OUTBOX].insert_many(rows, session=self.session)


class Database:
    """A service's own database, and the one way to change it: `transaction`."""

    def __init__(self, client: AsyncMongoClient, name: str, source: str) -> None:
        self.client = client
        self.db: AsyncDatabase = client[name]
        self.source = source

    def __getitem__(self, collection: str):
        return self.db[collection]

    async def transaction(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `work` in a multi-document transaction, retried on transient conflicts.

        Events emitted through the Tx are inserted into the outbox in the same
        transaction: either the change and its events are stored, or neither is.
        """

        last: list[Tx] = []

        async def attempt(session: AsyncClientSession) -> T:
            tx = Tx(session=session, db=self.db, source=self.source)
            last[:] = [tx]
            result = await work(tx)
            await tx._flush_outbox()
            return result

        async with self.client.start_session() as session:
            result = await session.with_transaction(
                attempt, read_concern=ReadConcern("snapshot"), write_concern=JOURNALED
            )
        # Counted once committed (an aborted or retried attempt counts nothing).
        for data, *_ in last[0].pending if last else []:
            DOMAIN_EVENTS.labels(data.event_type, data.metric_detail()).inc()
        return result

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    async def ensure_outbox_indexes(self) -> None:
        outbox = self.db[OUTBOX]
        await outbox.create_index([("published_at", 1), ("_id", 1)], name="unpublished")
        # Published rows are kept a week for replays and investigations.
        await outbox.create_index("published_at", name="published_ttl", expireAfterSeconds=7 * 24 * 3600)


