"""The member's contacts, preferences, the claims messages name, and the inbox, in MongoDB."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from jmo_shared.mongo import Database, Tx

from ..domain.contacts import ContactPoint, MemberContacts
from ..domain.preferences import Preferences, preferences_from_doc, preferences_to_doc
from .collections import CLAIMS, CONTACTS, NOTIFICATIONS, PREFERENCES


def _point_to_doc(p: ContactPoint | None) -> dict[str, Any] | None:
    return {"address": p.address, "confirmed": p.confirmed, "at": p.at} if p else None


def _point_from_doc(d: dict[str, Any] | None) -> ContactPoint | None:
    return ContactPoint(d["address"], bool(d["confirmed"]), d["at"]) if d else None


class NotifyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- projections (inside the consumer's transaction) -------------------------
    # The writes are staged (Tx.stage): a consumer batch writes each collection once. Every read of
    # these collections in the transaction goes through the Tx (find_one_by_id), which sends them first.

    async def read_ahead(self, tx: Tx, member_ids: list[str], claim_ids: list[str]) -> None:
        """What a consumer batch's handlers read, a query per collection (each taken once, see Tx.read_ahead)."""
        await tx.read_ahead(CONTACTS, member_ids)
        await tx.read_ahead(PREFERENCES, member_ids)
        await tx.read_ahead(CLAIMS, claim_ids)

    async def contacts_in(self, tx: Tx, member_id: str) -> MemberContacts | None:
        doc = await tx.find_one_by_id(CONTACTS, member_id)
        if doc is None:
            return None
        return MemberContacts(member_id, _point_from_doc(doc.get("email")), _point_from_doc(doc.get("phone")))

    def save_contacts(self, tx: Tx, c: MemberContacts) -> None:
        tx.forget_read_ahead(CONTACTS, c.member_id)
        tx.stage(
            CONTACTS,
            UpdateOne(
                {"_id": c.member_id},
                {"$set": {"email": _point_to_doc(c.email), "phone": _point_to_doc(c.phone)}},
                upsert=True,
            ),
        )

    async def preferences_in(self, tx: Tx, member_id: str) -> Preferences:
        return preferences_from_doc(await tx.find_one_by_id(PREFERENCES, member_id))

    def note_claim(self, tx: Tx, claim_id: str, member_id: str, fields: dict[str, Any]) -> None:
        tx.forget_read_ahead(CLAIMS, claim_id)
        tx.stage(CLAIMS, UpdateOne({"_id": claim_id}, {"$set": {"member_id": member_id, **fields}}, upsert=True))

    async def claim_in(self, tx: Tx, claim_id: str) -> dict[str, Any]:
        return await tx.find_one_by_id(CLAIMS, claim_id) or {}

    def add_notification(self, tx: Tx, doc: dict[str, Any]) -> None:
        # $setOnInsert: an event whose processed id has expired and comes again changes nothing.
        tx.stage(NOTIFICATIONS, UpdateOne({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True))

    # --- the member's API ------------------------------------------------------

    async def preferences(self, member_id: str) -> Preferences:
        return preferences_from_doc(await self._db[PREFERENCES].find_one({"_id": member_id}))

    async def save_preferences(self, member_id: str, prefs: Preferences, now: datetime) -> None:
        await self._db[PREFERENCES].update_one(
            {"_id": member_id}, {"$set": {**preferences_to_doc(prefs), "updated_at": now}}, upsert=True
        )

    async def inbox(self, member_id: str, skip: int, limit: int) -> tuple[list[dict[str, Any]], int, int]:
        """A page of the member's notifications, newest first; the total and the unread count."""
        query = {"member_id": member_id}
        total = await self._db[NOTIFICATIONS].count_documents(query)
        unread = await self._db[NOTIFICATIONS].count_documents({**query, "read_at": None})
        docs = await (
            self._db[NOTIFICATIONS]
            .find(query)
            .sort([("created_at", -1), ("_id", -1)])
            .skip(skip)
            .limit(limit)
            .to_list()
        )
        return docs, total, unread

    async def mark_read(self, member_id: str, notification_id: str, now: datetime) -> dict[str, Any] | None:
        """Read once: the first time counts (a second call leaves read_at as it was)."""
        query = {"_id": notification_id, "member_id": member_id}
        await self._db[NOTIFICATIONS].update_one({**query, "read_at": None}, {"$set": {"read_at": now}})
        return await self._db[NOTIFICATIONS].find_one(query)
