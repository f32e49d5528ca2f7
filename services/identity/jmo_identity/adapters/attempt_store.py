"""Recent attempts per key (an e-mail's failed logins, a client address's requests, a NIK's refused
registrations), for throttling.

Only the times are kept (the last few, enough to decide), under a hashed key,
and the document expires by itself once the window has passed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from jmo_shared.mongo import Database, update_by_id

LOGIN_FAILURES = "login_failures"  # per e-mail
CLIENT_ATTEMPTS = "client_attempts"  # per scope and client address
REFUSED_REGISTRATIONS = "registration_refusals"  # per NIK


def client_key(scope: str, client: str) -> str:
    # Addresses are personal data and not needed to count: keep only their hash.
    return hashlib.sha256(f"{scope}:{client}".encode()).hexdigest()


def nik_key(nik: str) -> str:
    return hashlib.sha256(f"registration:{nik}".encode()).hexdigest()


class AttemptStore:
    def __init__(self, db: Database, collection: str) -> None:
        self._db = db
        self.collection = collection

    async def failures(self, key: str) -> list[datetime]:
        doc = await self._db[self.collection].find_one({"_id": key})
        return list(doc.get("failures") or []) if doc else []

    async def record(self, key: str, at: datetime, keep: int, window: timedelta) -> list[datetime]:
        """Add one attempt atomically (concurrent guesses all count); returns the kept ones."""
        doc = await update_by_id(
            self._db[self.collection],
            key,
            {"$push": {"failures": {"$each": [at], "$slice": -keep}}, "$set": {"purge_at": at + window}},
            upsert=True,
        )
        return list(doc.get("failures") or []) if doc else [at]

    async def clear(self, key: str) -> None:
        await self._db[self.collection].delete_one({"_id": key})
