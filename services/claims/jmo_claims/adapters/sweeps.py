"""The worker's periodic reads: claims whose escalation is due (claims per status: status_counts.py)."""

from __future__ import annotations

from datetime import datetime

from jmo_shared.mongo import Database

from .collections import CLAIMS


async def escalation_due(db: Database, now: datetime, limit: int) -> list[str]:
    """Open claims whose next escalation is due, the longest overdue first (index escalation_due)."""
    docs = await (
        db[CLAIMS]
        .find({"open": True, "next_escalation_at": {"$lte": now}}, {"_id": 1})
        .sort("next_escalation_at", 1)
        .limit(limit)
        .to_list()
    )
    return [d["_id"] for d in docs]


async def backfill_escalation(db: Database) -> int:
    """Give open claims stored before SLA escalation existed their first escalation time (their SLA due time).

    Claims past their last escalation also have no next one, but carry an escalation level: left alone.
    """
    count = 0
    async for doc in db[CLAIMS].find(
        {"open": True, "next_escalation_at": None}, {"sla_due_at": 1, "escalation_level": 1}
    ):
        if "escalation_level" in doc:
            continue
        result = await db[CLAIMS].update_one(
            {"_id": doc["_id"], "escalation_level": {"$exists": False}},
            {"$set": {"next_escalation_at": doc["sla_due_at"], "escalation_level": 0, "escalated": False}},
        )
        count += result.modified_count
    return count
