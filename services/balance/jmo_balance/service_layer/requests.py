"""The merge command as the API receives it: one transaction, with an optional Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from jmo_shared.errors import DomainError
from jmo_shared.idempotency import IdempotencyStore
from jmo_shared.mongo import Database, Tx

from .merges import MergeRequest, MergeService

ACCEPTED = 202


class MergeRequests:
    def __init__(
        self,
        db: Database,
        merges: MergeService,
        idempotency: IdempotencyStore,
        on_merged: Callable[[str], None] | None = None,
    ) -> None:
        self.db = db
        self.merges = merges
        self.idempotency = idempotency
        # Called with the NIK once the merge committed: the member's next read must show it.
        self.on_merged = on_merged

    async def submit(self, req: MergeRequest, idempotency_key: str | None = None) -> dict[str, Any]:
        """Merge now and answer {merge_id, status}; the same request again answers the same.

        The key is optional: a merge is idempotent by itself (its id comes from the member and the
        verification). Only a refusal gives the key back; after any other failure the merge may
        have committed, and the key stays taken until it times out."""

        async def work(tx: Tx) -> dict[str, Any]:
            view = await self.merges.merge(tx, req)
            answer = {"merge_id": view["merge_id"], "status": view["status"]}
            if idempotency_key is not None:
                await self.idempotency.complete(tx, req.member_id, idempotency_key, ACCEPTED, answer)
            return answer

        async def create() -> dict[str, Any]:
            answer = await self.db.transaction(work)
            if self.on_merged is not None:
                self.on_merged(req.nik)
            return answer

        return await self.idempotency.run(
            req.member_id,
            idempotency_key,
            asdict(req),
            "merge the cards",
            create,
            replay=lambda stored: stored.body,
            required=False,
            release_on=DomainError,
        )
