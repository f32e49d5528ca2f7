"""Where complaints about claims are kept: one document per claim, apart from the claim itself.

The claim's state machine rewrites the claim document whole, so complaints live in their own
collection and are never lost to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from jmo_shared.mongo import Database, Tx

from .collections import CLAIMS

CLAIM_COMPLAINTS = "claim_complaints"  # _id = claim id: member_id, complaints [{ticket, category, filed_at}]


async def claim_owner(tx: Tx, claim_id: str) -> str | None:
    """The member whose claim this is, or None when there is no such claim."""
    claim = await tx.find_one_by_id(CLAIMS, claim_id, {"member_id": 1})
    return None if claim is None else str(claim["member_id"])


async def link_complaint(tx: Tx, claim_id: str, member_id: str, ticket: str, category: str, filed_at: datetime) -> bool:
    """Add the complaint to the claim's list once; False when it was already there."""
    existing = await tx[CLAIM_COMPLAINTS].find_one(
        {"_id": claim_id, "complaints.ticket": ticket}, {"_id": 1}, session=tx.session
    )
    if existing is not None:
        return False
    entry = {"ticket": ticket, "category": category, "filed_at": filed_at}
    await tx[CLAIM_COMPLAINTS].update_one(
        {"_id": claim_id},
        {"$setOnInsert": {"member_id": member_id}, "$push": {"complaints": entry}},
        upsert=True,
        session=tx.session,
    )
    return True


async def complaints_of(db: Database, member_id: str, claim_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The complaint documents of these claims of this member, by claim id."""
    ids = list(claim_ids)
    if len(ids) == 1:
        doc = await db[CLAIM_COMPLAINTS].find_one({"_id": ids[0], "member_id": member_id})
        return {} if doc is None else {ids[0]: doc}
    return {d["_id"]: d async for d in db[CLAIM_COMPLAINTS].find({"_id": {"$in": ids}, "member_id": member_id})}
