"""Outstanding one-time codes (hashed), one document per challenge."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from jmo_shared.mongo import Database, update_by_id

from ..domain.codes import Challenge
from .signing import SIGNING_SECRETS

CHALLENGES = "one_time_codes"
# Kept a day past expiry so the send cap still sees recent sends, then purged.
PURGE_GRACE = timedelta(days=1)
_PEPPER = "code_pepper"


def _to_doc(c: Challenge) -> dict:
    return {
        "_id": c.challenge_id,
        "member_id": c.member_id,
        "purpose": c.purpose,
        "channel": c.channel,
        "destinations": [{"channel": ch, "address": a} for ch, a in c.destinations],
        "code_hash": c.code_hash,
        "attempts": c.attempts,
        "created_at": c.created_at,
        "expires_at": c.expires_at,
        "sent_at": list(c.sent_at),
        "consumed_at": c.consumed_at,
        "verification_id": c.verification_id,
        "purge_at": c.expires_at + PURGE_GRACE,
    }


def _from_doc(doc: dict) -> Challenge:
    return Challenge(
        challenge_id=doc["_id"],
        member_id=doc["member_id"],
        purpose=doc["purpose"],
        channel=doc["channel"],
        destinations=tuple((d["channel"], d["address"]) for d in doc.get("destinations") or ()),
        code_hash=doc["code_hash"],
        attempts=int(doc.get("attempts") or 0),
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        sent_at=tuple(doc.get("sent_at") or ()),
        consumed_at=doc.get("consumed_at"),
        verification_id=doc.get("verification_id"),
    )


class ChallengeStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, challenge_id: str, session: AsyncClientSession | None = None) -> Challenge | None:
        doc = await self._db[CHALLENGES].find_one({"_id": challenge_id}, session=session)
        return _from_doc(doc) if doc else None

    async def pending_for(self, member_id: str, now: datetime) -> list[Challenge]:
        cursor = self._db[CHALLENGES].find({"member_id": member_id, "consumed_at": None, "expires_at": {"$gt": now}})
        return [_from_doc(doc) async for doc in cursor]

    async def save(self, challenge: Challenge, session: AsyncClientSession) -> None:
        await self._db[CHALLENGES].replace_one(
            {"_id": challenge.challenge_id}, _to_doc(challenge), upsert=True, session=session
        )

    async def count_wrong(self, challenge_id: str, session: AsyncClientSession) -> int:
        doc = await update_by_id(self._db[CHALLENGES], challenge_id, {"$inc": {"attempts": 1}}, session=session)
        return int(doc["attempts"]) if doc else 0

    async def consume(self, challenge_id: str, at: datetime, session: AsyncClientSession) -> None:
        await self._db[CHALLENGES].update_one({"_id": challenge_id}, {"$set": {"consumed_at": at}}, session=session)


async def load_code_pepper(db: Database, configured: str | None) -> bytes:
    """The codes' HMAC key: IDENTITY_CODE_PEPPER, else one generated once and shared through the database."""
    if configured:
        return configured.encode()
    secrets_ = db[SIGNING_SECRETS]
    doc = await secrets_.find_one({"_id": _PEPPER})
    if doc is None:
        try:
            await secrets_.insert_one({"_id": _PEPPER, "value": secrets.token_hex(32)})
        except DuplicateKeyError:  # another process generated it first: use theirs
            pass
        doc = await secrets_.find_one({"_id": _PEPPER})
    assert doc is not None
    return str(doc["value"]).encode()
