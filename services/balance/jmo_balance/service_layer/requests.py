"""The merge command as the API receives it: one transaction, with an optional Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from jmo_shared.errors import DomainError
from jmo_shared.idempotency import IdempotencyStore, fingerprint
from jmo_shared.mongo import Database, Tx

from .merges import MergeRequest, MergeService

ACCEPTED = 202


class MergeRequests:
    def __init__(self, db: Database, merges: MergeService, idempotency: IdempotencyStore,
                 on_merged: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.merges = merges
        self.idempotency = idempotency
        # Called with the NIK once the merge committed: the member's next read must show it.
        self.on_merged = on_merged

    async def submit(self, req: MergeRequest, idempotency_key: str | None = None) -> dict[str, Any]:
        """Merge now and answer {merge_id, status}; the same request again answers the same."""
        if idempotency_key is not None:
            stored = await self.idempotency.begin(req.member_id, idempotency_key, fingerprint(asdict(req)))
            if stored is not None:
                return stored.body

        async def work(tx: Tx) -> dict[str, Any]:
            view = await self.merges.merge(tx, req)
            answer = {"merge_id": view["merge_id"], "status": view["status"]}
            if idempotency_key is not None:
                await self.idempotency.complete(tx, req.member_id, idempotency_key, ACCEPTED, answer)
            return answer

        try:
            answer = await self.db.transaction(work)
        except DomainError:
            if idempotency_key is not None:
                await self.idempotency.release(req.member_id, idempotency_key)
            raise
        if self.on_merged is not None:
            self.on_merged(req.nik)
        return answer
