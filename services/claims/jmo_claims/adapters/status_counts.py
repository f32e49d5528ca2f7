"""Claims per status, kept as counters that move in the claim's own transaction (the claims_by_status gauge).

Counting instead (`count_documents({"status": s})` per status every 30 s) costs time in proportion to
every claim ever paid or rejected: SecantusDB answers a count by fetching and decoding each matching
document, even through an index, and holds its storage-wide lock meanwhile (measured in
docs/performance/queries.md: PAID counted in 0.27 s at 3,500 paid claims, 4.6 s at 35,000, while an
unrelated read waited up to 4 s). The counters are read in 65 small documents whatever the claims.

- `moved` is called by the claim repository in the transaction that inserts a claim or changes its
  status; the transaction's moves are summed and written once, as its last write before the outbox
  (one update for a consumer batch of many claims), so at every snapshot the counters sum to the
  claims per status.
- The counters are split over `SLOTS` documents (`slot:<k>`, one field per status) and a transaction
  moves those of one slot. A process hands out the slots in turn from a random start, so its own
  concurrent transactions never share one, and another process's (the API beside the worker, a second
  replica) meet one of them by chance only, about (its transactions in flight) / SLOTS of the time. When
  two do meet, one gets a write conflict and is retried whole, as for any conflict (measured before the
  turns: one submission in six retried at 20 claims/s, when each drew one of 64 slots at random).
- `reconcile` (the worker, at start-up) sets each status's base (document `base`) from the claims
  themselves, in one snapshot: it seeds the counters of a database whose claims predate them, and
  corrects any drift (claims written by a version without counters during a rolling upgrade). Exact under
  concurrent writes: base = claims counted - slots read, in the same snapshot; moves committed after it add up.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter

from pymongo.errors import BulkWriteError

from jmo_shared.mongo import Database, Tx

from ..domain.claim import Status
from .collections import CLAIM_STATUS_COUNTS, CLAIMS

SLOTS = 64
_BASE = "base"
_TURNS = itertools.count(random.randrange(SLOTS))


def _slot_id() -> str:
    # The next slot in this process's turn: one per transaction (and per attempt of it, so a retried
    # attempt moves away from the slot it met another transaction on).
    return f"slot:{next(_TURNS) % SLOTS}"


def _ids() -> list[str]:
    return [*(f"slot:{k}" for k in range(SLOTS)), _BASE]


async def ensure_counters(db: Database) -> None:
    """Create the counter documents that do not exist yet, so `moved` never has to insert one: two
    transactions upserting the same new document would fail with a duplicate key, not a retryable conflict."""
    try:
        await db[CLAIM_STATUS_COUNTS].insert_many([{"_id": _id, "n": {}} for _id in _ids()], ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != 11000 for e in exc.details.get("writeErrors") or []):
            raise


async def moved(tx: Tx, before: str | None, after: str) -> None:
    """A claim entered status `after` (from `before`; None for a new claim), in this transaction."""
    if before == after:
        return
    # Gathered per transaction and written once, last: a consumer batch moving many claims moves
    # the counters in one update.
    change = tx.deferred(CLAIM_STATUS_COUNTS, Counter, lambda moves: _write(tx, moves))
    change[f"n.{after}"] += 1
    if before is not None:
        change[f"n.{before}"] -= 1


async def _write(tx: Tx, moves: Counter) -> None:
    change = {field: n for field, n in moves.items() if n}
    if not change:
        return  # moves that cancel out (a claim in and out of a status in one transaction)
    # upsert only as a safety net: ensure_counters created the document at start-up.
    await tx[CLAIM_STATUS_COUNTS].update_one({"_id": _slot_id()}, {"$inc": change}, upsert=True, session=tx.session)


def _totals(docs: list[dict]) -> dict[str, int]:
    totals = {s.value: 0 for s in Status}
    for doc in docs:
        for status, n in (doc.get("n") or {}).items():
            if status in totals:
                totals[status] += int(n)
    return totals


async def counts(db: Database) -> dict[str, int]:
    """Claims per status (every status, 0 when none), from the counters."""
    return _totals(await db[CLAIM_STATUS_COUNTS].find({"_id": {"$in": _ids()}}).to_list())


async def reconcile(db: Database) -> dict[str, int]:
    """Set each status's base so the counters equal the claims counted; returns the corrections made.

    One transaction (one snapshot) per status, so no transaction reads more than one status's claims.
    Counting is the expensive way (every claim of the status fetched): the worker does it once, at start.
    """
    await ensure_counters(db)
    corrections: dict[str, int] = {}
    for status in Status:

        async def work(tx: Tx, status: str = status.value) -> int:
            actual = await tx[CLAIMS].count_documents({"status": status}, session=tx.session)
            docs = await tx[CLAIM_STATUS_COUNTS].find({"_id": {"$in": _ids()}}, session=tx.session).to_list()
            base_before = next((int((d.get("n") or {}).get(status, 0)) for d in docs if d["_id"] == _BASE), 0)
            moved_total = _totals([d for d in docs if d["_id"] != _BASE])[status]
            base = actual - moved_total
            if base != base_before:
                await tx[CLAIM_STATUS_COUNTS].update_one(
                    {"_id": _BASE}, {"$set": {f"n.{status}": base}}, upsert=True, session=tx.session
                )
            return base - base_before

        corrections[status.value] = await db.transaction(work)
    return corrections
