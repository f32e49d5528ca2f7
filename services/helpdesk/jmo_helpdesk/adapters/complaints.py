"""Complaints, their ticket counter and the officers' audit trail, in MongoDB."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jmo_shared.mongo import Database, Tx, update_by_id

from ..domain.complaints import Complaint, Reply, Status
from .collections import AUDIT, COMPLAINTS, COUNTERS


def complaint_to_doc(c: Complaint) -> dict[str, Any]:
    return {
        "_id": c.ticket,
        "member_id": c.member_id,
        "nik": c.nik,
        "category": c.category,
        "text": c.text,
        "claim_id": c.claim_id,
        "filed_at": c.filed_at,
        "sla_due_at": c.sla_due_at,
        "status": c.status.value,
        "replies": [{"author": r.author, "author_id": r.author_id, "text": r.text, "at": r.at} for r in c.replies],
        "sla_breached": c.sla_breached,
        "resolution": c.resolution,
        "closed_at": c.closed_at,
    }


def complaint_from_doc(d: dict[str, Any]) -> Complaint:
    return Complaint(
        ticket=d["_id"],
        member_id=d["member_id"],
        nik=d.get("nik", ""),
        category=d["category"],
        text=d["text"],
        claim_id=d.get("claim_id"),
        filed_at=d["filed_at"],
        sla_due_at=d["sla_due_at"],
        status=Status(d["status"]),
        replies=[Reply(r["author"], r["author_id"], r["text"], r["at"]) for r in d.get("replies", [])],
        sla_breached=d.get("sla_breached", False),
        resolution=d.get("resolution"),
        closed_at=d.get("closed_at"),
    )


# Every status but CLOSED (what `status != closed` means for a complaint: its status is always one of these).
_UNRESOLVED = tuple(s.value for s in Status if s is not Status.CLOSED)


class ComplaintRepository:
    """Writes inside a transaction; reads always scoped by the caller (member id, or an officer's view)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def next_sequence(self, tx: Tx, year: int) -> int:
        # One counter document per year: concurrent filings conflict on it and the transaction retries.
        doc = await update_by_id(tx[COUNTERS], f"ticket:{year}", {"$inc": {"seq": 1}}, upsert=True, session=tx.session)
        assert doc is not None  # upserted
        return int(doc["seq"])

    async def add(self, tx: Tx, c: Complaint) -> None:
        await tx[COMPLAINTS].insert_one(complaint_to_doc(c), session=tx.session)

    async def get_in(self, tx: Tx, ticket: str) -> Complaint | None:
        doc = await tx[COMPLAINTS].find_one({"_id": ticket}, session=tx.session)
        return complaint_from_doc(doc) if doc else None

    async def save(self, tx: Tx, c: Complaint) -> None:
        await tx[COMPLAINTS].replace_one({"_id": c.ticket}, complaint_to_doc(c), session=tx.session)

    async def audit(
        self,
        tx: Tx,
        officer_id: str,
        action: str,
        at: datetime,
        ticket: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await tx[AUDIT].insert_one(
            {"officer_id": officer_id, "action": action, "ticket": ticket, "at": at, "details": details or {}},
            session=tx.session,
        )

    async def of_member(self, member_id: str, skip: int, limit: int) -> tuple[list[Complaint], int]:
        """A page of the member's complaints, newest first (the (member_id, filed_at) index), and the total."""
        query = {"member_id": member_id}
        total = await self._db[COMPLAINTS].count_documents(query)
        docs = await self._db[COMPLAINTS].find(query).sort("filed_at", -1).skip(skip).limit(limit).to_list()
        return [complaint_from_doc(d) for d in docs], total

    async def one_of_member(self, member_id: str, ticket: str) -> Complaint | None:
        doc = await self._db[COMPLAINTS].find_one({"_id": ticket, "member_id": member_id})
        return complaint_from_doc(doc) if doc else None

    async def get(self, ticket: str) -> Complaint | None:
        doc = await self._db[COMPLAINTS].find_one({"_id": ticket})
        return complaint_from_doc(doc) if doc else None

    async def by_status(self, status: str, skip: int, limit: int) -> tuple[list[Complaint], int]:
        query = {"status": status}
        total = await self._db[COMPLAINTS].count_documents(query)
        # Oldest first: the queue an officer works through.
        docs = await self._db[COMPLAINTS].find(query).sort("filed_at", 1).skip(skip).limit(limit).to_list()
        return [complaint_from_doc(d) for d in docs], total

    async def flag_overdue(self, tx: Tx, now: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """Mark unresolved complaints past due as breached; returns (ticket, category) of those newly marked."""
        # One query per unresolved status, each all equalities then one range on the (sla_breached, status,
        # sla_due_at) index. With `status: {$ne: closed}` SecantusDB walked every complaint ever closed in time
        # (sla_breached false): the sweep grew with the helpdesk's history.
        docs: list[dict[str, Any]] = []
        for status in _UNRESOLVED:
            if len(docs) >= limit:
                break
            query = {"sla_breached": False, "status": status, "sla_due_at": {"$lt": now}}
            docs += (
                await tx[COMPLAINTS].find(query, {"category": 1}, session=tx.session).limit(limit - len(docs)).to_list()
            )
        if not docs:
            return []
        await tx[COMPLAINTS].update_many(
            {"_id": {"$in": [d["_id"] for d in docs]}, "sla_breached": False},
            {"$set": {"sla_breached": True, "sla_breached_at": now}},
            session=tx.session,
        )
        return [(d["_id"], d["category"]) for d in docs]
