"""The risk database: flags (one document per deterministic flag id) and the officers' audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jmo_shared.mongo import Database, Tx

from ..domain.rules import Flag

FLAGS = "flags"  # _id = flag id: rule, subject, evidence, member/claim, status open|cleared
# Append-only: every officer action on flags (who, when, what, why). Nothing updates or deletes in it.
FLAG_AUDIT = "flag_audit"


async def ensure_indexes(db: Database) -> None:
    await db[FLAGS].create_index([("status", 1), ("flagged_at", -1)], name="by_status")
    await db[FLAGS].create_index([("status", 1), ("rule", 1), ("flagged_at", -1)], name="by_status_rule")
    await db[FLAGS].create_index("claim_id")
    await db[FLAG_AUDIT].create_index([("flag_id", 1), ("at", 1)])
    await db[FLAG_AUDIT].create_index([("officer_id", 1), ("at", 1)])


def flag_to_doc(flag: Flag) -> dict[str, Any]:
    return {
        "_id": flag.flag_id,
        "rule": flag.rule,
        "subject": flag.subject,
        "window_start": flag.window_start,
        "evidence": flag.evidence,
        "member_id": flag.member_id,
        "nik": flag.nik,
        "claim_id": flag.claim_id,
        "flagged_at": flag.flagged_at,
        "status": "open",
        "cleared_by": None,
        "cleared_at": None,
        "note": "",
    }


class FlagStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(self, tx: Tx, flag: Flag) -> None:
        """Raises DuplicateKeyError when this flag is already stored."""
        await tx[FLAGS].insert_one(flag_to_doc(flag), session=tx.session)

    async def get(self, tx: Tx, flag_id: str) -> dict[str, Any] | None:
        return await tx[FLAGS].find_one({"_id": flag_id}, session=tx.session)

    async def mark_cleared(self, tx: Tx, flag_id: str, officer_id: str, note: str, at: datetime) -> bool:
        result = await tx[FLAGS].update_one(
            {"_id": flag_id, "status": "open"},
            {"$set": {"status": "cleared", "cleared_by": officer_id, "cleared_at": at, "note": note}},
            session=tx.session,
        )
        return result.modified_count == 1

    async def audit(self, tx: Tx | None, entry: dict[str, Any]) -> None:
        if tx is None:
            await self._db[FLAG_AUDIT].insert_one(entry)
        else:
            await tx[FLAG_AUDIT].insert_one(entry, session=tx.session)

    async def page(
        self, status: str | None, rule: str | None, claim_id: str | None, skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the flags, newest first, and how many match in all."""
        query: dict[str, Any] = {}
        if claim_id:
            query["claim_id"] = claim_id
        if status:
            query["status"] = status
        if rule:
            query["rule"] = rule
        total = await self._db[FLAGS].count_documents(query)
        docs = (
            await self._db[FLAGS].find(query).sort([("flagged_at", -1), ("_id", -1)]).skip(skip).limit(limit).to_list()
        )
        return docs, total

    async def one(self, flag_id: str) -> dict[str, Any] | None:
        return await self._db[FLAGS].find_one({"_id": flag_id})

    async def audit_of(self, flag_id: str) -> list[dict[str, Any]]:
        return await self._db[FLAG_AUDIT].find({"flag_id": flag_id}).sort("at", 1).to_list()
