"""MongoDB side of the reconciliation: what was sent and reported, the stored runs, and the run lease.

- `reconciliations`: one document per bank and business date (`_id` REC-<bank>-<yyyymmdd>), the
  latest finished run's report plus a short history of every run; a rerun replaces the report.
- `reconciliation_runs`: every run in full (the history), `_id` the run id.
- `reconciliation_leases`: one per bank and date, so two workers (or a worker and an operator)
  never run the same reconciliation at once, and the daily job runs it once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from jmo_shared.mongo import Database, Tx

from ..domain.reconciliation import BankNotice, SentPayout
from .repository import BANK_REPORTS, PAYOUTS

RECONCILIATIONS = "reconciliations"
RUNS = "reconciliation_runs"
LEASES = "reconciliation_leases"
HISTORY_KEPT = 50
# A released lease expires "long ago", so a worker whose clock runs behind can take it at once.
RELEASED = datetime(1970, 1, 1, tzinfo=UTC)
_IN_CHUNK = 1000

_PAYOUT_FIELDS = {
    "_id": 1,
    "claim_id": 1,
    "end_to_end_id": 1,
    "net_idr": 1,
    "status": 1,
    "sent_at": 1,
    "settled_at": 1,
    "failed_at": 1,
    "failure_code": 1,
}


def reconciliation_id(bank_code: str, business_date: date) -> str:
    return f"REC-{bank_code}-{business_date:%Y%m%d}"


async def ensure_reconciliation_indexes(db: Database) -> None:
    await db[PAYOUTS].create_index([("bank_code", 1), ("sent_at", 1)], name="sent_by_bank_and_time")
    await db[PAYOUTS].create_index("end_to_end_id", name="end_to_end_id")
    await db[PAYOUTS].create_index("sent_at", name="sent_at")
    await db[RECONCILIATIONS].create_index([("business_date", DESCENDING), ("bank_code", 1)], name="by_date")
    # The list filtered by bank only: without it SecantusDB scans every reconciliation (by_date leads with the date).
    await db[RECONCILIATIONS].create_index([("bank_code", 1), ("business_date", DESCENDING)], name="by_bank")
    await db[RUNS].create_index([("reconciliation_id", 1), ("started_at", DESCENDING)], name="runs_of")


def _sent_payout(doc: dict[str, Any]) -> SentPayout:
    return SentPayout(
        payout_id=doc["_id"],
        claim_id=doc["claim_id"],
        end_to_end_id=doc["end_to_end_id"],
        net_idr=doc["net_idr"],
        status=doc["status"],
        sent_at=doc["sent_at"],
        settled_at=doc.get("settled_at"),
        failed_at=doc.get("failed_at"),
        failure_code=doc.get("failure_code"),
    )


class ReconciliationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- the three sources' first two: our payouts and the bank's reports -------------

    async def sent_between(self, bank_code: str, start: datetime, end: datetime) -> list[SentPayout]:
        cursor = self._db[PAYOUTS].find(
            {"bank_code": bank_code, "sent_at": {"$gte": start, "$lt": end}}, _PAYOUT_FIELDS
        )
        return [_sent_payout(d) async for d in cursor]

    async def by_end_to_end_ids(self, bank_code: str, ids: list[str]) -> list[SentPayout]:
        found: list[SentPayout] = []
        for i in range(0, len(ids), _IN_CHUNK):
            cursor = self._db[PAYOUTS].find(
                {"end_to_end_id": {"$in": ids[i : i + _IN_CHUNK]}, "bank_code": bank_code, "sent_at": {"$ne": None}},
                _PAYOUT_FIELDS,
            )
            found += [_sent_payout(d) async for d in cursor]
        return found

    async def notices_of(self, payout_ids: list[str]) -> list[BankNotice]:
        notices: list[BankNotice] = []
        for i in range(0, len(payout_ids), _IN_CHUNK):
            cursor = self._db[BANK_REPORTS].find(
                {"payout_id": {"$in": payout_ids[i : i + _IN_CHUNK]}},
                {"payout_id": 1, "status": 1, "outcome": 1, "received_at": 1},
            )
            notices += [BankNotice(d["payout_id"], d["status"], d["outcome"], d["received_at"]) async for d in cursor]
        return notices

    async def banks_with_payouts(self, start: datetime, end: datetime) -> list[str]:
        banks = await self._db[PAYOUTS].distinct("bank_code", {"sent_at": {"$gte": start, "$lt": end}})
        return sorted(b for b in banks if b)

    # --- stored runs ---------------------------------------------------------------

    async def start_run(self, run: dict[str, Any]) -> None:
        await self._db[RUNS].insert_one(run)

    async def finish_run(self, run: dict[str, Any], replace_report: bool) -> None:
        """The run's final state and, for a finished run, the bank-date's current report, together."""

        async def work(tx: Tx) -> None:
            await tx[RUNS].replace_one({"_id": run["_id"]}, run, session=tx.session)
            summary = {
                k: run.get(k)
                for k in ("run_id", "trigger", "status", "started_at", "finished_at", "requested_by", "error")
            }
            summary["mismatches"] = run.get("counts", {}).get("mismatches")
            key = {"_id": run["reconciliation_id"]}
            current = await tx[RECONCILIATIONS].find_one(key, {"history": 1, "run_count": 1}, session=tx.session)
            history = [*(current or {}).get("history", []), summary][-HISTORY_KEPT:]
            run_count = (current or {}).get("run_count", 0) + 1
            if replace_report or current is None:
                doc = {**{k: v for k, v in run.items() if k != "_id"}, "history": history, "run_count": run_count}
                await tx[RECONCILIATIONS].replace_one(key, {**key, **doc}, upsert=True, session=tx.session)
            else:
                # A failed rerun keeps the last good report and only adds itself to the history.
                await tx[RECONCILIATIONS].update_one(
                    key,
                    {"$set": {"history": history, "run_count": run_count, "last_error": run.get("error")}},
                    session=tx.session,
                )

        await self._db.transaction(work)

    async def get(self, rec_id: str) -> dict[str, Any] | None:
        return await self._db[RECONCILIATIONS].find_one({"_id": rec_id})

    async def get_run(self, run_id: str) -> dict[str, Any] | None:
        return await self._db[RUNS].find_one({"_id": run_id})

    async def find(self, bank_code: str | None, business_date: date | None, limit: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if bank_code:
            query["bank_code"] = bank_code
        if business_date:
            query["business_date"] = business_date.isoformat()
        cursor = (
            self._db[RECONCILIATIONS]
            .find(query, {"mismatches": 0, "history": 0})
            .sort([("business_date", DESCENDING), ("bank_code", 1)])
            .limit(limit)
        )
        return await cursor.to_list()

    # --- the lease -----------------------------------------------------------------

    async def acquire(
        self, bank_code: str, business_date: date, holder: str, now: datetime, hold: timedelta, scheduled: bool
    ) -> bool:
        """Take the bank-date's lease if free (expired). A scheduled run also needs the day not yet
        done by the schedule and its retry time reached. One atomic upsert: of two workers, one wins."""
        query: dict[str, Any] = {"_id": f"{bank_code}:{business_date}", "expires_at": {"$lte": now}}
        if scheduled:
            query["scheduled_done_at"] = None
            # No retry time, or one reached: retry_at is only ever absent, None or a datetime. Not written as
            # $or ({retry_at: None} or {retry_at: {$lte: now}}): SecantusDB scans the collection for any $or,
            # whereas this filter is served by its _id.
            query["retry_at"] = {"$not": {"$gt": now}}
        try:
            await self._db[LEASES].update_one(
                query,
                {
                    "$set": {
                        "holder": holder,
                        "expires_at": now + hold,
                        "bank_code": bank_code,
                        "business_date": business_date.isoformat(),
                        "taken_at": now,
                    }
                },
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # it exists and is held, done, or not due: the filter missed it
        return True

    async def release(
        self,
        bank_code: str,
        business_date: date,
        holder: str,
        now: datetime,
        scheduled_done: bool = False,
        retry_at: datetime | None = None,
    ) -> None:
        fields: dict[str, Any] = {"expires_at": RELEASED, "released_at": now}
        if scheduled_done:
            fields["scheduled_done_at"] = now
        if retry_at is not None:
            fields["retry_at"] = retry_at
        await self._db[LEASES].update_one({"_id": f"{bank_code}:{business_date}", "holder": holder}, {"$set": fields})

    async def scheduled_done(self, bank_code: str, business_date: date) -> bool:
        doc = await self._db[LEASES].find_one({"_id": f"{bank_code}:{business_date}"}, {"scheduled_done_at": 1})
        return bool(doc and doc.get("scheduled_done_at"))
