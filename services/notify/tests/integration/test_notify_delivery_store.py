"""The delivery store's round commands on the real database: two workers lease disjoint parts of
the same due deliveries, and a round's successes are marked sent in one go."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from jmo_notify.adapters.collections import DELIVERIES
from jmo_notify.adapters.deliveries import DeliveryStore
from jmo_notify.domain.delivery import PENDING, SENT
from jmo_shared.mongo import Database, make_client

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def pending(delivery_id: str, attempts: int = 0) -> dict:
    return {
        "_id": delivery_id,
        "status": PENDING,
        "attempts": attempts,
        "next_attempt_at": T0,
        "lease_until": T0,
        "channel": "email",
    }


async def test_two_workers_lease_disjoint_deliveries_and_successes_are_marked_in_one_go(infra) -> None:
    client = make_client(infra.mongo_uri)
    db = Database(client, f"t_deliveries_{uuid.uuid4().hex[:10]}", "notify")
    try:
        ids = [f"e{i}:email" for i in range(20)]
        await db[DELIVERIES].insert_many([pending(i, attempts=1 if i == "e0:email" else 0) for i in ids])
        await db[DELIVERIES].insert_one({**pending("sent:email"), "status": SENT})
        first, second = DeliveryStore(db), DeliveryStore(db)

        mine, theirs = await asyncio.gather(
            first.take(ids + ["sent:email"], T0, timedelta(seconds=60)),
            second.take(ids, T0, timedelta(seconds=60)),
        )
        assert mine.isdisjoint(theirs)
        assert mine | theirs == set(ids)  # every pending one leased once; the sent one by neither
        # Leased: a third worker gets none of them until the lease ends.
        assert await DeliveryStore(db).take(ids, T0 + timedelta(seconds=30), timedelta(seconds=60)) == set()

        done = T0 + timedelta(seconds=1)
        await first.sent(sorted(mine), done)
        for doc in await db[DELIVERIES].find({"_id": {"$in": sorted(mine)}}).to_list():
            assert doc["status"] == SENT and doc["sent_at"] == done and doc["lease_until"] == done
            assert doc["attempts"] == (2 if doc["_id"] == "e0:email" else 1)
        for doc in await db[DELIVERIES].find({"_id": {"$in": sorted(theirs)}}).to_list():
            assert doc["status"] == PENDING and doc["attempts"] == (1 if doc["_id"] == "e0:email" else 0)
    finally:
        await client.drop_database(db.db.name)
        await client.close()
