"""Pending deliveries (an outbox of messages to members), worked by the delivery loop, and the dead letters."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne

from jmo_shared.mongo import Database, Tx

from ..domain.delivery import DEAD, PENDING, SENT
from .collections import DELIVERIES


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, tx: Tx, docs: list[dict[str, Any]]) -> None:
        # One per event, channel and recipient, whatever happens to the event's processed id:
        # upserts that change nothing when a redelivered event plans the same deliveries again.
        # Staged: a consumer batch's deliveries go in one bulk write (Tx.stage).
        tx.stage(DELIVERIES, *(UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True) for doc in docs))

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Pending, due and not leased (another worker's sends in hand are not ours to look at again)."""
        query = {"status": PENDING, "next_attempt_at": {"$lte": now}, "lease_until": {"$lte": now}}
        return await self._db[DELIVERIES].find(query).sort("next_attempt_at", 1).limit(limit).to_list()

    async def take(self, delivery_ids: list[str], now: datetime, lease: timedelta) -> set[str]:
        """Lease due deliveries to this process, so two workers never send the same one at once.

        Returns the ids this call leased (another worker may have leased some first). Two commands
        for the whole round, whatever its size: the lease is marked with a token of this call's own,
        then the ids carrying it are read back.
        """
        if not delivery_ids:
            return set()
        token = uuid.uuid4().hex
        await self._db[DELIVERIES].update_many(
            {"_id": {"$in": delivery_ids}, "status": PENDING, "lease_until": {"$lte": now}},
            {"$set": {"lease_until": now + lease, "lease_token": token}},
        )
        leased = self._db[DELIVERIES].find({"_id": {"$in": delivery_ids}, "lease_token": token}, {"_id": 1})
        return {doc["_id"] for doc in await leased.to_list()}

    async def sent(self, delivery_ids: list[str], now: datetime) -> None:
        """Deliveries this process leased and sent: one command for all of them."""
        if not delivery_ids:
            return
        await self._db[DELIVERIES].update_many(
            {"_id": {"$in": delivery_ids}, "status": PENDING},
            {"$set": {"status": SENT, "sent_at": now, "lease_until": now}, "$inc": {"attempts": 1}},
        )

    async def failed(
        self, delivery_id: str, attempts: int, status: str, next_attempt_at: datetime | None, error: str, now: datetime
    ) -> None:
        changes: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "last_error": error[:500],
            "last_attempt_at": now,
            "lease_until": now,
        }
        if status == DEAD:
            changes["dead_at"] = now
        else:
            changes["next_attempt_at"] = next_attempt_at
        await self._db[DELIVERIES].update_one({"_id": delivery_id}, {"$set": changes})

    async def dead(self, skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        query = {"status": DEAD}
        total = await self._db[DELIVERIES].count_documents(query)
        docs = await self._db[DELIVERIES].find(query).sort("dead_at", -1).skip(skip).limit(limit).to_list()
        return docs, total

    async def replay(self, delivery_id: str, now: datetime) -> dict[str, Any] | None:
        """A dead letter back to pending, due now, with a fresh budget of attempts."""
        result = await self._db[DELIVERIES].update_one(
            {"_id": delivery_id, "status": DEAD},
            {
                "$set": {
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "lease_until": now,
                    "replayed_at": now,
                },
                "$unset": {"dead_at": ""},
                "$inc": {"replays": 1},
            },
        )
        if result.modified_count == 0:
            return None
        return await self._db[DELIVERIES].find_one({"_id": delivery_id})

    async def of_notification(self, notification_id: str) -> list[dict[str, Any]]:
        return await self._db[DELIVERIES].find({"notification_id": notification_id}).to_list()
