"""Idempotency-Key for POSTs that create or move money.

A replay with the same key returns the first answer; the same key while the
first request is still in flight answers 409; the same key with a different
body answers 422. The stored answer is written in the same transaction as the
business change, so a crash cannot leave a change without its answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pymongo.errors import DuplicateKeyError

from .errors import DomainError, ErrorKind
from .mongo import Database, Tx

COLLECTION = "idempotency_keys"
# A request that holds its key longer than this is taken to have crashed.
IN_FLIGHT_TIMEOUT = timedelta(seconds=60)

T = TypeVar("T")


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]


def fingerprint(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, db: Database, scope: str) -> None:
        self._db = db
        self._scope = scope

    async def ensure_indexes(self) -> None:
        await self._db[COLLECTION].create_index("created_at", expireAfterSeconds=7 * 24 * 3600)

    def _id(self, owner: str, key: str) -> str:
        return f"{self._scope}:{owner}:{key}"

    async def begin(self, owner: str, key: str, request_fingerprint: str) -> StoredAnswer | None:
        """Take the key. Returns the stored answer of a completed twin, or None to go ahead."""
        if not key or len(key) > 200:
            raise DomainError(
                code="invalid_idempotency_key",
                detail="Idempotency-Key must be 1-200 characters",
                kind=ErrorKind.BAD_REQUEST,
            )
        now = datetime.now(UTC)
        doc_id = self._id(owner, key)
        try:
            await self._db[COLLECTION].insert_one(
                {
                    "_id": doc_id,
                    "state": "in_flight",
                    "fingerprint": request_fingerprint,
                    "created_at": now,
                    "taken_at": now,
                }
            )
            return None
        except DuplicateKeyError:
            pass
        existing = await self._db[COLLECTION].find_one({"_id": doc_id})
        if existing is None:  # expired between the two calls
            return await self.begin(owner, key, request_fingerprint)
        if existing["fingerprint"] != request_fingerprint:
            raise DomainError(
                code="idempotency_key_reused",
                detail="this Idempotency-Key was used with a different request",
                kind=ErrorKind.INVALID,
            )
        if existing["state"] == "done":
            return StoredAnswer(existing["status"], existing["body"])
        if now - existing["taken_at"] < IN_FLIGHT_TIMEOUT:
            raise DomainError(
                code="request_in_flight",
                detail="a request with this Idempotency-Key is still being processed",
                kind=ErrorKind.CONFLICT,
            )
        # update_one by _id, not find_one_and_update: the local database answers that with a full scan.
        retaken = await self._db[COLLECTION].update_one(
            {"_id": doc_id, "state": "in_flight", "taken_at": existing["taken_at"]}, {"$set": {"taken_at": now}}
        )
        if retaken.modified_count == 0:
            raise DomainError(
                code="request_in_flight",
                detail="a request with this Idempotency-Key is still being processed",
                kind=ErrorKind.CONFLICT,
            )
        return None

    async def complete(self, tx: Tx, owner: str, key: str, status: int, body: dict[str, Any]) -> None:
        """Store the answer inside the business transaction."""
        await tx[COLLECTION].update_one(
            {"_id": self._id(owner, key)},
            {"$set": {"state": "done", "status": status, "body": body, "done_at": datetime.now(UTC)}},
            session=tx.session,
        )

    async def release(self, owner: str, key: str) -> None:
        """Give the key back after a refusal, so a corrected request may use it."""
        await self._db[COLLECTION].delete_one({"_id": self._id(owner, key), "state": "in_flight"})

    async def run(
        self,
        owner: str,
        key: str | None,
        request: Any,
        what: str,
        create: Callable[[], Awaitable[T]],
        replay: Callable[[StoredAnswer], T],
        *,
        required: bool = True,
        release_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    ) -> T:
        """The Idempotency-Key sequence of a create: the first answer again for a replay (`replay` of it),
        else `create()`, which stores its answer with `complete` in its own transaction when a key was given.

        `required`: without a key, a 400 naming `what` ("a retry cannot <what> twice"); when not required,
        a request without a key simply runs. A create that fails with `release_on` gives the key back, so a
        corrected request may use it; any other failure keeps it in flight until IN_FLIGHT_TIMEOUT (for
        creates that cannot tell whether their commit landed, a retry must not run them a second time
        before then)."""
        if not key:
            if required:
                raise DomainError(
                    code="idempotency_key_required",
                    kind=ErrorKind.BAD_REQUEST,
                    detail=f"send an Idempotency-Key header so a retry cannot {what} twice",
                )
            return await create()
        stored = await self.begin(owner, key, fingerprint(request))
        if stored is not None:
            return replay(stored)
        try:
            return await create()
        except release_on:
            await self.release(owner, key)
            raise
