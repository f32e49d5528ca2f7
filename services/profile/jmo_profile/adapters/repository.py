"""The profile service's MongoDB collections.

- `profiles`: one document per NIK: the KTP record (`ktp`), the app account
  (`account`), what the member entered (`entered`), the data-update state.
- `cards`: one document per KPJ card (`_id` = KPJ): registration and ending
  arrive separately and in any order, so each writes only its own fields.
- `face_verifications`: recent face matches per member (until a week after expiry).
- `updates`: data-update wizards. `bank_account_changes`: the audit trail.

A `Store` works on the database directly (reads) or inside a transaction (`Store.of(tx)`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jmo_shared.mongo import Database, Tx

from ..domain.wizard import Update

PROFILES = "profiles"
CARDS = "cards"
FACE_VERIFICATIONS = "face_verifications"
UPDATES = "updates"
BANK_ACCOUNT_CHANGES = "bank_account_changes"

# A face match stays on record a week past its expiry: long enough for support to
# trace an update, short enough not to hoard biometric events.
FACE_RETENTION_SECONDS = 7 * 24 * 3600


async def ensure_indexes(db: Database) -> None:
    await db[PROFILES].create_index("member_id", name="member_id")
    await db[CARDS].create_index("nik", name="nik")
    await db[FACE_VERIFICATIONS].create_index("member_id", name="member_id")
    await db[FACE_VERIFICATIONS].create_index(
        "expires_at", name="expires_ttl", expireAfterSeconds=FACE_RETENTION_SECONDS
    )
    await db[UPDATES].create_index([("member_id", 1), ("status", 1)], name="member_status")
    await db[BANK_ACCOUNT_CHANGES].create_index([("member_id", 1), ("at", -1)], name="member_at")


class Store:
    def __init__(self, handle: Database | Tx, session: Any = None) -> None:
        self._h = handle
        self._s = session

    @classmethod
    def of(cls, tx: Tx) -> Store:
        return cls(tx, tx.session)

    # --- reads ---------------------------------------------------------------

    async def person(self, nik: str) -> dict[str, Any] | None:
        return await self._h[PROFILES].find_one({"_id": nik}, session=self._s)

    async def cards(self, nik: str) -> list[dict[str, Any]]:
        cursor = self._h[CARDS].find({"nik": nik}, session=self._s).sort("registered_on", 1)
        return [doc async for doc in cursor]

    async def card(self, kpj: str) -> dict[str, Any] | None:
        return await self._h[CARDS].find_one({"_id": kpj}, session=self._s)

    async def face_verification(self, verification_id: str) -> dict[str, Any] | None:
        return await self._h[FACE_VERIFICATIONS].find_one({"_id": verification_id}, session=self._s)

    async def update(self, update_id: str, member_id: str) -> Update | None:
        doc = await self._h[UPDATES].find_one({"_id": update_id, "member_id": member_id}, session=self._s)
        return _update_from_doc(doc) if doc else None

    async def open_update(self, member_id: str) -> Update | None:
        doc = await self._h[UPDATES].find_one({"member_id": member_id, "status": "open"}, session=self._s)
        return _update_from_doc(doc) if doc else None

    async def bank_account_changes(self, member_id: str, skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the member's bank-account changes, newest first, and how many there are (the
        member_at index serves both)."""
        query = {"member_id": member_id}
        cursor = self._h[BANK_ACCOUNT_CHANGES].find(query, session=self._s)
        rows = await cursor.sort([("at", -1), ("_id", -1)]).skip(skip).limit(limit).to_list()
        total = await self._h[BANK_ACCOUNT_CHANGES].count_documents(query, session=self._s)
        return rows, total

    # --- writes (inside a transaction) ---------------------------------------

    async def set_person_fields(self, nik: str, fields: dict[str, Any], now: datetime) -> None:
        await self._h[PROFILES].update_one(
            {"_id": nik},
            {"$set": {**fields, "updated_at": now}, "$setOnInsert": {"created_at": now}},
            upsert=True,
            session=self._s,
        )

    async def set_card_fields(self, kpj: str, fields: dict[str, Any]) -> None:
        await self._h[CARDS].update_one({"_id": kpj}, {"$set": fields}, upsert=True, session=self._s)

    async def save_face_verification(self, verification_id: str, doc: dict[str, Any]) -> None:
        # $setOnInsert keeps `used_by_update` if the event is redelivered after use.
        await self._h[FACE_VERIFICATIONS].update_one(
            {"_id": verification_id}, {"$setOnInsert": doc}, upsert=True, session=self._s
        )

    async def mark_face_verification_used(self, verification_id: str, update_id: str) -> None:
        await self._h[FACE_VERIFICATIONS].update_one(
            {"_id": verification_id}, {"$set": {"used_by_update": update_id}}, session=self._s
        )

    async def insert_update(self, update: Update) -> None:
        await self._h[UPDATES].insert_one(_update_to_doc(update), session=self._s)

    async def save_update(self, update: Update) -> None:
        await self._h[UPDATES].replace_one({"_id": update.update_id}, _update_to_doc(update), session=self._s)

    async def add_bank_account_change(self, doc: dict[str, Any]) -> None:
        await self._h[BANK_ACCOUNT_CHANGES].insert_one(doc, session=self._s)


def _update_to_doc(update: Update) -> dict[str, Any]:
    return {
        "_id": update.update_id,
        "member_id": update.member_id,
        "nik": update.nik,
        "status": update.status,
        "steps": update.steps,
        "created_at": update.created_at,
        "confirmed_at": update.confirmed_at,
        "result": update.result,
    }


def _update_from_doc(doc: dict[str, Any]) -> Update:
    return Update(
        update_id=doc["_id"],
        member_id=doc["member_id"],
        nik=doc["nik"],
        created_at=doc["created_at"],
        status=doc["status"],
        steps=doc.get("steps") or {},
        confirmed_at=doc.get("confirmed_at"),
        result=doc.get("result"),
    )
