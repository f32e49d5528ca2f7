"""MongoDB access: one async client per process, transactions that also write the outbox.

Every command a process sends is counted by command and collection
(`mongo_commands_total`), so database operations per claim or per event can be
attributed to the service and the query that spends them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bson import ObjectId
from prometheus_client import Counter, Histogram
from pymongo import AsyncMongoClient, WriteConcern, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, CollectionInvalid, DuplicateKeyError
from pymongo.read_concern import ReadConcern

from . import tracing
from .events.base import EventData
from .logging import current_correlation_id

T = TypeVar("T")
A = TypeVar("A")  # a transaction's deferred accumulator (Tx.deferred)

OUTBOX = "outbox"
DOMAIN_EVENTS = Counter(
    "domain_events_total",
    "Domain events committed through the outbox, by type and a detail (claim status, payout rail, reason code)",
    ["type", "detail"],
)
# Money must survive a crash: commit to the journal before answering.
JOURNALED = WriteConcern(w=1, j=True)


COMMANDS = Counter(
    "mongo_commands_total",
    "Commands this process sent to MongoDB, by command name and collection",
    ["command", "collection"],
)
COMMAND_FAILURES = Counter(
    "mongo_command_failures_total",
    "Commands MongoDB answered with an error, by command, collection and error (codeName: WriteConflict, ...)",
    ["command", "collection", "code"],
)
COMMAND_SECONDS = Histogram(
    "mongo_command_seconds",
    "Time from sending a command to MongoDB to reading its answer, as this process saw it, by command name",
    ["command"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TRANSACTION_RETRIES = Counter(
    "mongo_transaction_retries_total",
    "Transactions run again whole after a transient error (a write conflict with a concurrent transaction)",
)
# Commands that name no collection in their first field: counted under the command alone.
_NO_COLLECTION = frozenset(
    {
        "commitTransaction",
        "abortTransaction",
        "endSessions",
        "ping",
        "hello",
        "ismaster",
        "isMaster",
        "serverStatus",
        "buildInfo",
        "listDatabases",
    }
)


class _CommandCounter(monitoring.CommandListener):
    """Counts commands as they are sent, those answered with an error, and how long each answer took; runs on
    the event loop, so it must stay cheap."""

    def __init__(self) -> None:
        # request id -> collection of the commands awaiting their answer: a failure names no collection.
        self._collections: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name == "getMore":
            collection = str(event.command.get("collection", ""))
        elif name in _NO_COLLECTION:
            collection = ""
        else:
            value = event.command.get(name)
            collection = value if isinstance(value, str) else ""
        COMMANDS.labels(name, collection).inc()
        self._collections[event.request_id] = collection

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._collections.pop(event.request_id, None)
        COMMAND_SECONDS.labels(event.command_name).observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        collection = self._collections.pop(event.request_id, "")
        COMMAND_SECONDS.labels(event.command_name).observe(event.duration_micros / 1e6)
        failure = event.failure if isinstance(event.failure, dict) else {}
        code = str(failure.get("codeName") or failure.get("code") or "")
        COMMAND_FAILURES.labels(event.command_name, collection, code).inc()


def only_duplicate_keys(exc: BulkWriteError) -> bool:
    """Every write the bulk write refused was refused for a duplicate key."""
    errors = exc.details.get("writeErrors") or []
    return bool(errors) and all(e.get("code") == 11000 for e in errors)


@contextmanager
def duplicate_key_raised() -> Iterator[None]:
    """A bulk write's duplicate key raised as DuplicateKeyError, as insert_one and update_one raise it, so
    callers handle both the same way (the consumer: the batch is applied again one event at a time)."""
    try:
        yield
    except BulkWriteError as exc:
        if only_duplicate_keys(exc):
            first = exc.details["writeErrors"][0]
            raise DuplicateKeyError(first.get("errmsg", "duplicate key"), 11000, first) from exc
        raise


def make_client(uri: str, max_pool_size: int = 10, **kwargs: Any) -> AsyncMongoClient:
    """One client per process. The pool is small on purpose: the database serves each connection with
    a thread of its own, and a dozen processes with pymongo's default of 100 each exhaust it."""
    # maxIdleTimeMS: SecantusDB closes a connection idle for 300 s; a pool that handed it out again
    # answered the next request with AutoReconnect. Retire idle connections before the server does.
    kwargs.setdefault("maxIdleTimeMS", 240_000)
    return AsyncMongoClient(
        uri, tz_aware=True, connect=False, maxPoolSize=max_pool_size, event_listeners=[_CommandCounter()], **kwargs
    )


async def update_by_id(
    collection: Any,
    doc_id: Any,
    update: dict[str, Any],
    *,
    upsert: bool = False,
    session: AsyncClientSession | None = None,
) -> dict[str, Any] | None:
    """Update one document by _id and return it as it is afterwards.

    Instead of find_one_and_update, which the local database (SecantusDB) answers by scanning the
    whole collection: two commands served by the _id index, whatever the collection's size. In a
    transaction the pair is atomic; outside one, the read may include a concurrent update too.
    """
    result = await collection.update_one({"_id": doc_id}, update, upsert=upsert, session=session)
    if result.matched_count == 0 and result.upserted_id is None:
        return None
    return await collection.find_one({"_id": doc_id}, session=session)


@dataclass
class Tx:
    """One MongoDB transaction and the events it will publish (via the outbox) if it commits."""

    session: AsyncClientSession
    db: AsyncDatabase
    source: str
    pending: list[tuple[EventData, str | None, str | None, str, dict[str, str]]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # the outbox rows written, once flushed
    _deferred: dict[str, tuple[Any, Callable[[Any], Awaitable[None]]]] = field(default_factory=dict)
    # Documents read ahead in this transaction (collection -> _id -> document, None when there is none),
    # each for one use: see `read_ahead` and `take_read_ahead`.
    _read_ahead: dict[str, dict[Any, dict[str, Any] | None]] = field(default_factory=dict)
    # Writes staged for one bulk write per collection (see `stage`), in the order they were staged.
    _staged: dict[str, list[Any]] = field(default_factory=dict)

    def stage(self, collection: str, *ops: Any) -> None:
        """Writes whose answer nobody waits for (pymongo's InsertOne, UpdateOne, ReplaceOne, DeleteOne...),
        sent with every other write staged on `collection` in one ordered bulk write: at the end of the
        transaction, or before this Tx next reads the collection (`read_ahead`, `find_one_by_id`). A
        consumer batch whose handlers each add a row then costs one command per collection, not one per
        event. Read a staged collection only through those two, never through `tx[collection]` directly."""
        self._staged.setdefault(collection, []).extend(ops)

    async def flush_staged(self, collection: str | None = None) -> None:
        """Send the writes staged on `collection` (on every collection when None) now."""
        names = [collection] if collection is not None else list(self._staged)
        for name in names:
            ops = self._staged.pop(name, None)
            if not ops:
                continue
            with duplicate_key_raised():  # as a write of its own would have failed
                await self.db[name].bulk_write(ops, ordered=True, session=self.session)

    async def read_ahead(self, collection: str, ids: list[Any]) -> dict[Any, dict[str, Any] | None]:
        """Read these documents in one query, for the handlers of a batch that each read one of them.
        Returns what was found (id -> document or None), to read ahead what those documents name."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        await self.flush_staged(collection)
        docs = await self.db[collection].find({"_id": {"$in": ids}}, session=self.session).to_list()
        found: dict[Any, dict[str, Any] | None] = dict.fromkeys(ids)
        found.update((d["_id"], d) for d in docs)
        self._read_ahead.setdefault(collection, {}).update(found)
        return found

    def take_read_ahead(self, collection: str, doc_id: Any) -> tuple[bool, dict[str, Any] | None]:
        """(True, the document or None) if it was read ahead and not taken yet; else (False, None).

        Taken once: whoever changes the document after reading it makes the read-ahead copy stale, so a
        second read goes to the database (which answers with this transaction's own writes)."""
        ahead = self._read_ahead.get(collection)
        if ahead is None or doc_id not in ahead:
            return False, None
        return True, ahead.pop(doc_id)

    async def find_one_by_id(
        self, collection: str, doc_id: Any, projection: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The document `doc_id` in this transaction: its read-ahead copy if one is there and not taken yet
        (the whole document, whatever `projection` asks), else read from the database."""
        ahead, doc = self.take_read_ahead(collection, doc_id)
        if ahead:
            return doc
        await self.flush_staged(collection)
        return await self.db[collection].find_one({"_id": doc_id}, projection, session=self.session)

    def forget_read_ahead(self, collection: str, doc_id: Any) -> None:
        """A document written in this transaction: its read-ahead copy, if still there, is stale."""
        self.take_read_ahead(collection, doc_id)

    def deferred(self, key: str, factory: Callable[[], A], write: Callable[[A], Awaitable[None]]) -> A:
        """This transaction's accumulator `key`, made by `factory` on first use; `write(accumulator)` runs
        once, as the transaction's last write before its outbox rows. Many small changes of one kind (the
        counters a batch of events moves) then cost one write instead of one each."""
        if key not in self._deferred:
            self._deferred[key] = (factory(), write)
        return self._deferred[key][0]

    async def _flush_deferred(self) -> None:
        for accumulator, write in self._deferred.values():
            await write(accumulator)

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
            }
            if subject:
                row["subject"] = subject
            if trace:  # W3C traceparent/tracestate: the relay's producer span continues this trace
                row["trace"] = trace
            rows.append(row)
        await self.db[OUTBOX].insert_many(rows, session=self.session)
        self.rows = rows


class Database:
    """A service's own database, and the one way to change it: `transaction`."""

    def __init__(self, client: AsyncMongoClient, name: str, source: str) -> None:
        self.client = client
        self.db: AsyncDatabase = client[name]
        self.source = source
        # Called with the outbox rows of every committed transaction (the relay's fast path).
        self.on_commit: Callable[[list[dict[str, Any]]], None] | None = None

    def __getitem__(self, collection: str):
        return self.db[collection]

    async def transaction(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `work` in a multi-document transaction, retried on transient conflicts.

        Events emitted through the Tx are inserted into the outbox in the same
        transaction: either the change and its events are stored, or neither is.
        """

        last: list[Tx] = []

        async def attempt(session: AsyncClientSession) -> T:
            if last:
                TRANSACTION_RETRIES.inc()
            tx = Tx(session=session, db=self.db, source=self.source)
            last[:] = [tx]
            result = await work(tx)
            await tx._flush_deferred()
            await tx.flush_staged()
            await tx._flush_outbox()
            return result

        async with self.client.start_session() as session:
            result = await session.with_transaction(
                attempt, read_concern=ReadConcern("snapshot"), write_concern=JOURNALED
            )
        # Counted once committed (an aborted or retried attempt counts nothing).
        committed = last[0] if last else None
        if committed is not None and committed.pending:
            for data, *_ in committed.pending:
                DOMAIN_EVENTS.labels(data.event_type, data.metric_detail()).inc()
            if self.on_commit is not None:
                self.on_commit(committed.rows)
        return result

    async def ensure_collections(self, *names: str) -> None:
        """Create these collections if they are not there. A collection first written inside concurrent
        transactions is created by each of them, and all but one fail with a write conflict and are run
        again: collections written only in transactions are created at start-up instead."""
        existing = set(await self.db.list_collection_names())
        for name in names:
            if name not in existing:
                try:
                    await self.db.create_collection(name)
                except CollectionInvalid:
                    pass  # created meanwhile by another process starting beside this one

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    async def ensure_outbox_indexes(self) -> None:
        """The outbox holds only what is not yet published (a row is deleted once the broker has it),
        so `_id` (time-ordered) is the only index it needs; every secondary index would cost each
        insert. Those of earlier versions (`published_at`) are dropped."""
        outbox = self.db[OUTBOX]
        existing = await outbox.index_information()
        for legacy in ("unpublished", "published_ttl"):
            if legacy in existing:
                await outbox.drop_index(legacy)
        if "published_ttl" in existing:
            # Rows an earlier version kept after publishing: the sweeper would send them again.
            await outbox.delete_many({"published_at": {"$ne": None}})
