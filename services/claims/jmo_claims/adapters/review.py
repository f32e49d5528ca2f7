"""What the officer side reads (every member's claims) and the append-only audit of officer actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from jmo_shared.mongo import Database, Tx

from ..domain.claim import Claim, Status
from ..domain.mismatches import IdentityFacts
from .codec import bank_account_from_doc, claim_from_doc, day
from .collections import CARDS, CLAIMS, MEMBERS, REVIEW_AUDIT


class ReviewReads:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def queue(self, reason: str | None, escalated: bool | None, skip: int, limit: int) -> tuple[list[Claim], int]:
        """Claims waiting for an officer, the one due soonest first."""
        # Only equalities, in the shapes the queue indexes cover (collections.ensure_indexes).
        query: dict[str, Any] = {"status": Status.NEEDS_REVIEW.value}
        if escalated is not None:
            query["escalated"] = escalated
        if reason is not None:
            query["reason"] = reason
        docs = await (
            self._db[CLAIMS].find(query).sort([("sla_due_at", 1), ("_id", 1)]).skip(skip).limit(limit).to_list()
        )
        total = await self._db[CLAIMS].count_documents(query)
        return [claim_from_doc(d) for d in docs], total

    async def claim(self, claim_id: str) -> Claim | None:
        doc = await self._db[CLAIMS].find_one({"_id": claim_id})
        return claim_from_doc(doc) if doc else None

    async def identity(self, claim: Claim) -> IdentityFacts:
        """What the projections hold about the claim's member and card, for the field-by-field checks."""
        member = await self._db[MEMBERS].find_one({"_id": claim.nik}, {"person": 1, "profile": 1}) or {}
        card = await self._db[CARDS].find_one({"_id": claim.kpj}, {"nik": 1, "full_name": 1, "birth_date": 1}) or {}
        person = member.get("person") or {}
        profile = member.get("profile") or {}
        return IdentityFacts(
            claim_nik=claim.nik,
            ktp_name=person.get("full_name"),
            ktp_birth_date=day(person.get("birth_date")),
            ktp_sex=person.get("sex"),
            card_nik=card.get("nik"),
            card_name=card.get("full_name"),
            card_birth_date=day(card.get("birth_date")),
            profile_name=profile.get("full_name"),
            claim_account=claim.bank_account,
            current_account=bank_account_from_doc(profile.get("bank_account")),
        )


class ReviewAudit:
    """Append-only: entries are inserted, never updated or deleted."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def entry(
        officer_id: str, action: str, at: datetime, claim_id: str | None = None, **details: Any
    ) -> dict[str, Any]:
        return {
            "_id": uuid4().hex,
            "officer_id": officer_id,
            "action": action,
            "at": at,
            "claim_id": claim_id,
            **details,
        }

    async def record(self, entry: dict[str, Any], tx: Tx | None = None) -> None:
        if tx is not None:
            await tx[REVIEW_AUDIT].insert_one(entry, session=tx.session)
        else:
            await self._db[REVIEW_AUDIT].insert_one(entry)

    async def trail(self, claim_id: str, limit: int = 500) -> list[dict[str, Any]]:
        return await self._db[REVIEW_AUDIT].find({"claim_id": claim_id}).sort("at", 1).limit(limit).to_list()
