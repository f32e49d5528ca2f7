"""The database's own ceiling: how many of our transactions SecantusDB commits per second.

Every state change in the system is one MongoDB transaction shaped like the
idempotent consumer's (jmo_shared.consumer + jmo_shared.mongo): record the
event id in `processed_events`, change a business document, write the events
it emits to the `outbox` - with read concern snapshot and write concern
w=1, j=True, through `session.with_transaction`. This module runs exactly
that shape, and nothing else, against a scratch database of the same server
(`bench_ceiling`, dropped afterwards), from a few concurrent tasks, and
reports transactions per second: the rate the stack could at best reach if
the database were its only cost.

    python -m jmo_local.ceiling --seconds 8 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from bson import ObjectId
from pymongo import AsyncMongoClient, WriteConcern
from pymongo.read_concern import ReadConcern

from .stackstats import DEFAULT_MONGODB_URI

SCRATCH_DB = "bench_ceiling"
# The same as jmo_shared.mongo.JOURNALED: money must survive a crash.
JOURNALED = WriteConcern(w=1, j=True)


@dataclass
class CeilingResult:
    transactions: int
    seconds: float
    concurrency: int
    errors: int
    first_error: str = ""

    @property
    def per_second(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        return {
            "transactions": self.transactions,
            "seconds": round(self.seconds, 3),
            "concurrency": self.concurrency,
            "tx_per_s": round(self.per_second, 2),
            "errors": self.errors,
            "first_error": self.first_error,
        }


async def _one_transaction(client: AsyncMongoClient, db, worker: int, n: int) -> None:
    """processed-event id + upsert of a business document + an outbox row, in one transaction."""
    event_id = str(uuid.uuid4())
    now = datetime.now(UTC)

    async def work(session) -> None:
        await db.processed_events.insert_one({"_id": f"bench:{event_id}", "type": "bench", "at": now}, session=session)
        # A member's document, changed by each of its events (ten members per task: some rewrites).
        await db.cards.update_one(
            {"_id": f"card-{worker}-{n % 10}"},
            {"$inc": {"contributions_idr": 100_000, "version": 1}, "$set": {"as_of": now}},
            upsert=True,
            session=session,
        )
        await db.outbox.insert_many(
            [
                {
                    "_id": ObjectId(),
                    "event_id": event_id,
                    "type": "bench.Changed",
                    "topic": "bench.events",
                    "key": f"card-{worker}",
                    "value": b"x" * 480,
                    "created_at": now,
                    "published_at": None,
                }
            ],
            session=session,
        )

    async with client.start_session() as session:
        await session.with_transaction(work, read_concern=ReadConcern("snapshot"), write_concern=JOURNALED)


async def measure_ceiling(
    uri: str = DEFAULT_MONGODB_URI, seconds: float = 8.0, concurrency: int = 8, db_name: str = SCRATCH_DB
) -> CeilingResult:
    """Transactions/s of our shape on a scratch database of the server at `uri` (dropped afterwards)."""
    client = AsyncMongoClient(uri, tz_aware=True)
    db = client[db_name]
    counts = [0] * concurrency
    errors: list[str] = []
    try:
        await client.drop_database(db_name)
        # Collections exist before the clock starts: creating them inside a transaction is not our shape.
        for name in ("processed_events", "cards", "outbox"):
            await db.create_collection(name)
        started = time.monotonic()
        deadline = started + seconds

        async def run(worker: int) -> None:
            while time.monotonic() < deadline:
                try:
                    await _one_transaction(client, db, worker, counts[worker])
                    counts[worker] += 1
                except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                    errors.append(f"{type(exc).__name__}: {exc}")

        await asyncio.gather(*(run(w) for w in range(concurrency)))
        elapsed = time.monotonic() - started
    finally:
        await client.drop_database(db_name)
        await client.close()
    return CeilingResult(sum(counts), elapsed, concurrency, len(errors), errors[0][:300] if errors else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--mongodb-uri", default=os.environ.get("MONGODB_URI", DEFAULT_MONGODB_URI))
    args = parser.parse_args()
    result = asyncio.run(measure_ceiling(args.mongodb_uri, args.seconds, args.concurrency))
    print(
        f"ceiling: {result.transactions} transactions in {result.seconds:.1f}s at concurrency "
        f"{result.concurrency} -> {result.per_second:.1f} tx/s ({result.errors} errors)"
    )
    if result.first_error:
        print(f"  first error: {result.first_error}")


if __name__ == "__main__":
    main()
