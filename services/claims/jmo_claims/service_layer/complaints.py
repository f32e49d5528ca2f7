"""Complaints the helpdesk received about a claim, shown on the claim.

The helpdesk holds no claims, so it cannot tell whether the claim_id a member
typed is theirs: this handler links a ComplaintFiled only when the claim
belongs to the member who filed it, and ignores it otherwise. Complaints live
in their own collection (one document per claim), not on the claim document,
so the claim's state machine (which rewrites the claim whole) never loses them.
"""

from __future__ import annotations

from typing import Any

from jmo_shared.events import CloudEvent
from jmo_shared.events.helpdesk import ComplaintFiled
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters.collections import CLAIMS

log = get_logger(__name__)

CLAIM_COMPLAINTS = "claim_complaints"  # _id = claim id: member_id, complaints [{ticket, category, filed_at}]


async def on_complaint_filed(tx: Tx, data: ComplaintFiled, event: CloudEvent) -> None:
    claim = await tx[CLAIMS].find_one({"_id": data.claim_id}, {"member_id": 1}, session=tx.session)
    if claim is None or claim["member_id"] != data.member_id:
        # Another member's claim (or none): linking it would show a stranger's complaint on it.
        log.info("complaint_not_linked", ticket=data.ticket, claim_id=data.claim_id,
                 reason="no_such_claim" if claim is None else "not_the_members_claim")
        return
    existing = await tx[CLAIM_COMPLAINTS].find_one(
        {"_id": data.claim_id, "complaints.ticket": data.ticket}, {"_id": 1}, session=tx.session
    )
    if existing is not None:
        return
    entry = {"ticket": data.ticket, "category": data.category, "filed_at": data.filed_at}
    await tx[CLAIM_COMPLAINTS].update_one(
        {"_id": data.claim_id},
        {"$setOnInsert": {"member_id": data.member_id}, "$push": {"complaints": entry}},
        upsert=True, session=tx.session,
    )


HANDLERS = [(ComplaintFiled, on_complaint_filed)]


def _entries(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    items = sorted((doc or {}).get("complaints", []), key=lambda c: c["filed_at"])
    return [{"ticket": c["ticket"], "category": c["category"], "filed_at": c["filed_at"].isoformat()} for c in items]


def _with_complaints(claim: dict[str, Any], doc: dict[str, Any] | None) -> dict[str, Any]:
    """The claim with its complaints listed and placed on its timeline, in time order.

    A complaint entry carries the claim's status at the time it was filed and
    kind "complaint", so the status entries still read as the state machine's path.
    """
    complaints = _entries(doc)
    timeline = list(claim.get("timeline", []))
    for complaint in complaints:
        earlier = [e for e in timeline if e.get("kind", "status") == "status" and e["at"] <= complaint["filed_at"]]
        status = earlier[-1]["status"] if earlier else (timeline[0]["status"] if timeline else claim.get("status"))
        timeline.append({
            "status": status, "at": complaint["filed_at"], "reason_code": None, "kind": "complaint",
            "ticket": complaint["ticket"],
            "note": f"Complaint {complaint['ticket']} ({complaint['category']}) filed at the helpdesk.",
        })
    timeline.sort(key=lambda e: e["at"])  # stable: status entries at the same instant keep their order
    return claim | {"complaints": complaints, "timeline": timeline}


class ComplaintAwareQueries:
    """The claim queries, with each claim's complaints added to the answer (reads scoped like the claim)."""

    def __init__(self, inner: Any, db: Database) -> None:
        self._inner = inner
        self._db = db

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def claim(self, member, claim_id: str) -> dict[str, Any]:
        answer = await self._inner.claim(member, claim_id)  # 404 for a claim that is not the member's
        doc = await self._db[CLAIM_COMPLAINTS].find_one({"_id": claim_id, "member_id": member.member_id})
        return _with_complaints(answer, doc)

    async def claims(self, member) -> dict[str, Any]:
        answer = await self._inner.claims(member)
        ids = [c["claim_id"] for c in answer.get("claims", [])]
        docs = {d["_id"]: d async for d in self._db[CLAIM_COMPLAINTS].find({"_id": {"$in": ids},
                                                                            "member_id": member.member_id})}
        return answer | {"claims": [_with_complaints(c, docs.get(c["claim_id"])) for c in answer.get("claims", [])]}
