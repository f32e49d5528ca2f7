"""Reads of the projections and the claims, and the claim repository used in transactions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import DeleteOne, ReplaceOne

from jmo_shared.face_assertion import FaceAssertionReader
from jmo_shared.mongo import Database, Tx

from ..domain.claim import Claim, Status
from ..domain.eligibility import PARTIAL_REASONS
from ..domain.model import BankAccount, Document, FaceMatch, Member, Profile
from . import status_counts
from .codec import bank_account_from_doc, card_from_doc, claim_from_doc, claim_to_doc, day, profile_from_doc
from .collections import CARDS, CLAIMS, DOCUMENT_FILES, FACE_VERIFICATIONS, MEMBERS, OPEN_CLAIMS

_HISTORY_FIELDS = {"reason": 1, "status": 1, "open": 1, "verification_id": 1}


@dataclass(frozen=True)
class ClaimHistory:
    """What a member's claims so far say about a new one."""

    open_claim: bool  # one is in progress (its open-claim slot is taken in the same transaction)
    verifications_used: frozenset[str]  # the face matches claims were made with: each is used once


# A partial claim counts as taken unless it ended without money leaving the fund.
_PARTIAL_NOT_TAKEN = [Status.REJECTED.value, Status.PAYOUT_FAILED.value]


class ReadModel:
    """What the API reads; every query is scoped to one member (NIK / member id)."""

    def __init__(self, db: Database, faces: FaceAssertionReader | None = None) -> None:
        self._db = db
        self._faces = faces

    async def member(self, nik: str) -> tuple[Member, Profile | None]:
        member, profile, _ = await self.member_and_claims(nik)
        return member, profile

    async def member_and_claims(self, nik: str) -> tuple[Member, Profile | None, ClaimHistory]:
        """The member, their profile, and what their claims so far say: three queries in all."""
        doc = await self._db[MEMBERS].find_one({"_id": nik}) or {}
        cards = [card_from_doc(c) async for c in self._db[CARDS].find({"nik": nik}).sort("_id", 1)]
        # Every claim of the NIK (a handful at most), by the (nik, reason) index's prefix: the partial
        # withdrawals taken, the open claim and the face matches used, in one query.
        claims = await self._db[CLAIMS].find({"nik": nik}, _HISTORY_FIELDS).to_list()
        partials = [
            p for p in claims if p.get("reason") in PARTIAL_REASONS and p.get("status") not in _PARTIAL_NOT_TAKEN
        ]
        # The registry's KTP is the reference; the employer's registration is the fallback.
        birth = day((doc.get("person") or {}).get("birth_date"))
        if birth is None:
            registered = await self._db[CARDS].find_one({"nik": nik, "birth_date": {"$ne": None}}, {"birth_date": 1})
            birth = day(registered["birth_date"]) if registered else None
        member = Member(
            nik=nik,
            birth_date=birth,
            cards=tuple(cards),
            partial_taken=bool(partials),
            partial_paid=any(p["status"] == Status.PAID.value for p in partials),
        )
        history = ClaimHistory(
            open_claim=any(c.get("open") for c in claims),
            verifications_used=frozenset(c["verification_id"] for c in claims if c.get("verification_id")),
        )
        return member, profile_from_doc(doc.get("profile")), history

    async def face(self, verification_id: str) -> FaceMatch | None:
        """The match a client's verification_id names: its signed assertion (usable before FaceVerified
        arrives), else the FaceVerified projection by plain id."""
        if self._faces is not None:
            assertion = await self._faces.read(verification_id)
            if assertion is not None:
                return FaceMatch(
                    assertion.verification_id, assertion.member_id, assertion.purpose, assertion.expires_at
                )
        doc = await self._db[FACE_VERIFICATIONS].find_one({"_id": verification_id})
        if doc is None:
            return None
        return FaceMatch(doc["_id"], doc["member_id"], doc["purpose"], doc["expires_at"])

    async def documents(self, document_ids: list[str]) -> dict[str, Document]:
        oids = []
        for document_id in document_ids:
            try:
                oids.append(ObjectId(document_id))
            except (InvalidId, TypeError):
                continue  # not one of ours: reported as not found
        found = {}
        async for doc in self._db[DOCUMENT_FILES].find({"_id": {"$in": oids}}, {"metadata": 1}):
            meta = doc.get("metadata") or {}
            found[str(doc["_id"])] = Document(str(doc["_id"]), meta.get("kind", ""), meta.get("member_id", ""))
        return found

    async def claims_of(self, member_id: str, skip: int = 0, limit: int = 20) -> tuple[list[Claim], int]:
        """One page of the member's claims, newest first, and how many they have (the (member_id,
        submitted_at) index serves both)."""
        query = {"member_id": member_id}
        docs = (
            await self._db[CLAIMS]
            .find(query)
            .sort([("submitted_at", -1), ("_id", -1)])
            .skip(skip)
            .limit(limit)
            .to_list()
        )
        total = await self._db[CLAIMS].count_documents(query)
        return [claim_from_doc(d) for d in docs], total

    async def claim_of(self, member_id: str, claim_id: str) -> Claim | None:
        doc = await self._db[CLAIMS].find_one({"_id": claim_id, "member_id": member_id})
        return claim_from_doc(doc) if doc else None


# The status a Claim had in the database when this repository read or wrote it (an attribute of the
# Claim object only, never stored): what `save` takes off the claims-per-status counters.
_STORED_STATUS = "_stored_status"


def _remember_stored_status(claim: Claim, status: str) -> None:
    setattr(claim, _STORED_STATUS, status)


class ClaimRepository:
    """Claims inside a transaction; the open-claim slot and the claims-per-status counters move with the
    claim's status."""

    async def read_ahead(self, tx: Tx, claim_ids: list[str], niks: list[str] | None = None) -> None:
        """Read these claims, and these members' projections, a query each, for a consumer batch's `get`s
        and `current_bank_account`s (each taken once, see Tx.read_ahead)."""
        await tx.read_ahead(CLAIMS, claim_ids)
        await tx.read_ahead(MEMBERS, niks or [])

    async def get(self, tx: Tx, claim_id: str) -> Claim | None:
        doc = await tx.find_one_by_id(CLAIMS, claim_id)
        if doc is None:
            return None
        claim = claim_from_doc(doc)
        _remember_stored_status(claim, doc["status"])
        return claim

    async def add(self, tx: Tx, claim: Claim) -> None:
        # Unique per NIK: a concurrent second submission fails here even if both passed the checks.
        await tx[OPEN_CLAIMS].insert_one(
            {"_id": claim.nik, "claim_id": claim.claim_id, "since": claim.submitted_at}, session=tx.session
        )
        await tx[CLAIMS].insert_one(claim_to_doc(claim), session=tx.session)
        await status_counts.moved(tx, None, claim.status.value)
        _remember_stored_status(claim, claim.status.value)

    async def save(self, tx: Tx, claim: Claim, expect_status: Status | None = None) -> bool:
        """Store the claim; with `expect_status`, only if it is still in that status (False otherwise)."""
        doc: dict[str, Any] = claim_to_doc(claim)
        query: dict[str, Any] = {"_id": claim.claim_id}
        if expect_status is not None:
            query["status"] = expect_status.value
        # The stored status, for the claims-per-status counters: as `get` read it in this transaction (a
        # concurrent change of the claim makes the replace below conflict), else read now.
        before = getattr(claim, _STORED_STATUS, None)
        tx.forget_read_ahead(CLAIMS, claim.claim_id)
        if before is not None and expect_status is None:
            # Read (or written) in this transaction, so it is there and the replace matches: staged, a
            # consumer batch's claims go in one write (Tx.stage; `get` reads through the Tx, which sends
            # them first).
            tx.stage(CLAIMS, ReplaceOne(query, doc))
        else:
            if before is None:
                stored = await tx.find_one_by_id(CLAIMS, claim.claim_id, {"status": 1})
                before = stored.get("status") if stored else None
            await tx.flush_staged(CLAIMS)
            result = await tx[CLAIMS].replace_one(query, doc, session=tx.session)
            if result.matched_count == 0:
                return False
        await status_counts.moved(tx, before, doc["status"])
        _remember_stored_status(claim, doc["status"])
        if not claim.open:
            tx.stage(OPEN_CLAIMS, DeleteOne({"_id": claim.nik, "claim_id": claim.claim_id}))
        return True

    async def current_bank_account(self, tx: Tx, nik: str) -> BankAccount | None:
        doc = await tx.find_one_by_id(MEMBERS, nik, {"profile.bank_account": 1})
        return bank_account_from_doc(((doc or {}).get("profile") or {}).get("bank_account"))
