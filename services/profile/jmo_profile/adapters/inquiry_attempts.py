"""Each member's recent bank-account inquiries, counted to stop the tax-bank step being used to
learn who holds an account (the inquiry answers the holder's name).

One document per member in `bank_inquiries`: the times of the last `limit` inquiries, oldest first,
and `purge_at`, after which it says nothing any more (a TTL index removes it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from jmo_shared.mongo import Database

BANK_INQUIRIES = "bank_inquiries"


async def ensure_indexes(db: Database) -> None:
    await db[BANK_INQUIRIES].create_index("purge_at", expireAfterSeconds=0, name="purge")


class InquiryAttempts:
    def __init__(self, db: Database, limit: int, window: timedelta) -> None:
        self._db = db
        self.limit = limit
        self.window = window

    async def take(self, member_id: str, now: datetime) -> timedelta | None:
        """Count one inquiry if the member has fewer than `limit` in the window: None when counted,
        else how long until the oldest of them leaves the window.

        One conditional upsert: concurrent inquiries cannot all pass the same last free place.
        """
        since = now - self.window
        room = {"$or": [{f"at.{self.limit - 1}": {"$exists": False}}, {"at.0": {"$lte": since}}]}
        try:
            await self._db[BANK_INQUIRIES].update_one(
                {"_id": member_id, **room},
                {"$push": {"at": {"$each": [now], "$slice": -self.limit}}, "$set": {"purge_at": now + self.window}},
                upsert=True,
            )
            return None
        except DuplicateKeyError:  # the member's document exists and has no room
            pass
        doc = await self._db[BANK_INQUIRIES].find_one({"_id": member_id}) or {}
        times = doc.get("at") or [now]
        return max(times[0] + self.window - now, timedelta(seconds=1))
