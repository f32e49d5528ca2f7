"""Each member's recent bank-account inquiries, counted to stop the tax-bank step being used to
learn who holds an account (the inquiry answers the holder's name).

One document per member in `bank_inquiries`: the times of the last `limit` inquiries, oldest first,
and `purge_at`, after which it says nothing any more (a TTL index removes it). A document that lapsed
but is still there only holds times out of the window: it leaves room as it should.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from jmo_shared.mongo import Database

BANK_INQUIRIES = "bank_inquiries"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

        The list always holds `limit` times (a new member's starts padded with the epoch), so "room
        left" is "the oldest is out of the window": one condition on the document found by _id, which
        concurrent inquiries cannot all pass for the same last place.
        """
        try:
            await self._db[BANK_INQUIRIES].insert_one(
                {"_id": member_id, "at": [_EPOCH] * (self.limit - 1) + [now], "purge_at": now + self.window}
            )
            return None
        except DuplicateKeyError:
            pass
        counted = await self._db[BANK_INQUIRIES].update_one(
            {"_id": member_id, "at.0": {"$lte": now - self.window}},
            {"$push": {"at": {"$each": [now], "$slice": -self.limit}}, "$set": {"purge_at": now + self.window}},
        )
        if counted.matched_count:
            return None
        doc = await self._db[BANK_INQUIRIES].find_one({"_id": member_id}) or {}
        oldest = (doc.get("at") or [now])[0]
        return max(oldest + self.window - now, timedelta(seconds=1))
