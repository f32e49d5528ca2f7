"""Purging what a service keeps only for a while: processed-event ids.

(Outbox rows are deleted as soon as the broker has them: jmo_shared.outbox.)
The collection carries a TTL index, which is all a MongoDB replica set needs. The local
database (SecantusDB) implements TTL by reading every document of every TTL-indexed
collection each minute under a lock all reads share, which grows with the data and
stalls everything else; the local stack turns that sweep off (jmo_local.secantusd)
and the workers purge here instead, with one delete by a range on the indexed
timestamp: it costs what is deleted, not what is kept. Harmless next to a TTL
monitor (whichever comes first deletes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import Counter

from .consumer import PROCESSED
from .logging import get_logger
from .mongo import Database

log = get_logger(__name__)

PURGED = Counter("retention_purged_total", "Documents deleted after their retention period", ["collection"])

# Redeliveries come within hours or days: a month of ids is ample (the TTL index's period).
PROCESSED_RETENTION = timedelta(days=30)


async def purge_once(db: Database, now: datetime | None = None) -> dict[str, int]:
    now = now or datetime.now(UTC)
    result = await db[PROCESSED].delete_many({"at": {"$lt": now - PROCESSED_RETENTION}})
    PURGED.labels(PROCESSED).inc(result.deleted_count)
    if result.deleted_count:
        log.info("retention_purged", collection=PROCESSED, deleted=result.deleted_count)
    return {PROCESSED: result.deleted_count}
