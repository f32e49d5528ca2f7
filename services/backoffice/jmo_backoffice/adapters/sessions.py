"""Where sessions and sign-ins in progress are kept: MongoDB (the service), or memory (unit tests).

Stored under the SHA-256 of the session id, so the database holds nothing a browser
could present as a cookie. Expired sessions are refused on read and deleted; an
index on `expires_at` lets a TTL monitor (MongoDB's) remove the rest.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.pkce import PendingSignIn
from ..domain.session import Flash, StaffSession

SESSIONS = "sessions"
PENDING = "pending_signins"
PENDING_TTL = timedelta(minutes=10)


def session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore(Protocol):
    async def get(self, session_id: str) -> StaffSession | None: ...
    async def save(self, session: StaffSession, expires_at: datetime) -> None: ...
    async def delete(self, session_id: str) -> None: ...
    async def put_pending(self, pending: PendingSignIn, now: datetime) -> None: ...
    async def take_pending(self, state: str, now: datetime) -> PendingSignIn | None: ...


def _to_doc(session: StaffSession, expires_at: datetime) -> dict[str, Any]:
    doc = asdict(session)
    doc.pop("session_id")
    doc["roles"] = sorted(session.roles)
    doc["expires_at"] = expires_at
    return doc


def _from_doc(session_id: str, doc: dict[str, Any]) -> StaffSession:
    return StaffSession(
        session_id=session_id,
        user=doc["user"],
        display_name=doc["display_name"],
        roles=frozenset(doc["roles"]),
        csrf_token=doc["csrf_token"],
        created_at=_aware(doc["created_at"]),
        last_seen_at=_aware(doc["last_seen_at"]),
        access_token=doc.get("access_token", ""),
        token_expires_at=_aware(doc["token_expires_at"]) if doc.get("token_expires_at") else None,
        refresh_token=doc.get("refresh_token"),
        id_token=doc.get("id_token"),
        flash=[Flash(**f) for f in doc.get("flash", [])],
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class MongoSessions:
    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def ensure_indexes(self) -> None:
        await self._db[SESSIONS].create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)
        await self._db[PENDING].create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)

    async def get(self, session_id: str) -> StaffSession | None:
        doc = await self._db[SESSIONS].find_one({"_id": session_key(session_id)})
        return _from_doc(session_id, doc) if doc else None

    async def save(self, session: StaffSession, expires_at: datetime) -> None:
        await self._db[SESSIONS].replace_one(
            {"_id": session_key(session.session_id)}, _to_doc(session, expires_at), upsert=True
        )

    async def delete(self, session_id: str) -> None:
        await self._db[SESSIONS].delete_one({"_id": session_key(session_id)})

    async def put_pending(self, pending: PendingSignIn, now: datetime) -> None:
        await self._db[PENDING].insert_one(
            {"_id": session_key(pending.state), **asdict(pending), "expires_at": now + PENDING_TTL}
        )

    async def take_pending(self, state: str, now: datetime) -> PendingSignIn | None:
        # Taken once: a callback replayed with the same state finds nothing.
        doc = await self._db[PENDING].find_one_and_delete({"_id": session_key(state)})
        if doc is None or _aware(doc["expires_at"]) < now:
            return None
        return PendingSignIn(
            state=doc["state"], nonce=doc["nonce"], verifier=doc["verifier"], next_path=doc.get("next_path", "/")
        )


class MemorySessions:
    """The same contract in a dict: for unit tests and a single process without a database."""

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[dict[str, Any], datetime]] = {}
        self.pending: dict[str, tuple[PendingSignIn, datetime]] = {}

    async def ensure_indexes(self) -> None:
        return None

    async def get(self, session_id: str) -> StaffSession | None:
        found = self.sessions.get(session_key(session_id))
        return _from_doc(session_id, found[0]) if found else None

    async def save(self, session: StaffSession, expires_at: datetime) -> None:
        self.sessions[session_key(session.session_id)] = (_to_doc(session, expires_at), expires_at)

    async def delete(self, session_id: str) -> None:
        self.sessions.pop(session_key(session_id), None)

    async def put_pending(self, pending: PendingSignIn, now: datetime) -> None:
        self.pending[session_key(pending.state)] = (pending, now + PENDING_TTL)

    async def take_pending(self, state: str, now: datetime) -> PendingSignIn | None:
        found = self.pending.pop(session_key(state), None)
        if found is None or found[1] < now:
            return None
        return found[0]
