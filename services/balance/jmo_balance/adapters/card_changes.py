"""Every committed change to `cards`, as the database reports it: what keeps the API's read cache honest.

A MongoDB change stream (SecantusDB serves them too; the outbox relay uses one).
Only the document key and the holder's NIK travel: an insert carries the whole
document and an update the fields it set, so the NIK is there whenever a card
gains or changes its holder; for other updates the cache knows the holder
from what it loaded.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database

from ..service_layer.read_cache import MemberReadCache
from .repository import CARDS

log = get_logger(__name__)

_ONLY_KEYS = [
    {
        "$project": {
            "operationType": 1,
            "documentKey": 1,
            "fullDocument.nik": 1,
            "updateDescription.updatedFields.nik": 1,
        }
    }
]


def _holder(change: dict[str, Any]) -> str | None:
    full = change.get("fullDocument") or {}
    updated = (change.get("updateDescription") or {}).get("updatedFields") or {}
    return full.get("nik") or updated.get("nik")


class CardChangeFeed:
    """Runs the change stream; `pace_seconds` is the least time between two empty answers of the database.

    SecantusDB answers a waiting change stream at every write anywhere on the server, whether
    it concerns `cards` or not, and the driver asks again at once: under load that was one
    round trip per write of the whole stack (15 per claim in `make bench`, more than any other
    command). After an empty answer the feed waits `pace_seconds` before asking again, so
    changes gather in the oplog and come in one answer; a change reaches the cache at most
    that much later. Idle, each ask waits `await_seconds` for a change, as before.
    """

    def __init__(
        self,
        db: Database,
        cache: MemberReadCache,
        retry_seconds: float = 1.0,
        pace_seconds: float = 0.25,
        await_seconds: float = 1.0,
    ) -> None:
        self._db = db
        self._cache = cache
        self._retry = retry_seconds
        self._pace = pace_seconds
        self._await_ms = int(await_seconds * 1000)
        self.opened = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                async with await self._db[CARDS].watch(_ONLY_KEYS, max_await_time_ms=self._await_ms) as stream:
                    # Opened: from here every change reaches the cache, so it may keep what it loads.
                    self._cache.start()
                    self.opened.set()
                    log.info("card_change_feed_open")
                    while stream.alive:
                        change = await stream.try_next()
                        if change is None:
                            await asyncio.sleep(self._pace)
                            continue
                        key = (change.get("documentKey") or {}).get("_id")
                        if key is None:
                            # drop / rename / invalidate: nothing cached can be trusted any more.
                            break
                        self._cache.changed(str(key), _holder(change))
            except asyncio.CancelledError:
                self._cache.stop()
                raise
            except Exception as exc:  # database away: serve from the database until the stream is back
                log.warning("card_change_feed_retry", error=str(exc), error_type=type(exc).__name__)
            self._cache.stop()
            self.opened.clear()
            await asyncio.sleep(self._retry)
