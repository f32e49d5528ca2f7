"""Complaints the helpdesk received about a claim, shown on the claim.

The helpdesk holds no claims, so it cannot tell whether the claim_id a member
typed is theirs: this handler links a ComplaintFiled only when the claim
belongs to the member who filed it, and ignores it otherwise. Where they are kept
is adapters/complaints.py.
"""

from __future__ import annotations

from typing import Any

from jmo_shared.events import CloudEvent
from jmo_shared.events.helpdesk import ComplaintFiled
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters.complaints import claim_owner, complaints_of, link_complaint

log = get_logger(__name__)


async def on_complaint_filed(tx: Tx, data: ComplaintFiled, event: CloudEvent) -> None:
    owner = await claim_owner(tx, data.claim_id)
    if owner != data.member_id:
        # Another member's claim (or none): linking it would show a stranger's complaint on it.
        log.info(
            "complaint_not_linked",
            ticket=data.ticket,
            claim_id=data.claim_id,
            reason="no_such_claim" if owner is None else "not_the_members_claim",
        )
        return
    await link_complaint(tx, data.claim_id, data.member_id, data.ticket, data.category, data.filed_at)


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
        timeline.append(
            {
                "status": status,
                "at": complaint["filed_at"],
                "reason_code": None,
                "kind": "complaint",
                "ticket": complaint["ticket"],
                "note": f"Complaint {complaint['ticket']} ({complaint['category']}) filed at the helpdesk.",
            }
        )
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
        docs = await complaints_of(self._db, member.member_id, [claim_id])
        return _with_complaints(answer, docs.get(claim_id))

    async def claims(self, member, skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        claims, total = await self._inner.claims(member, skip, limit)
        docs = await complaints_of(self._db, member.member_id, [c["claim_id"] for c in claims])
        return [_with_complaints(c, docs.get(c["claim_id"])) for c in claims], total
