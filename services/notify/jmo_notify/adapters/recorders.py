"""The local SMS and push adapters: no gateway, what would have been sent is recorded in the database.

They stand in for an SMS gateway and a push provider in a local run and in tests (read
`recorded_sms` / `recorded_push`); a deployment replaces them with adapters of the same port.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from jmo_shared.clock import Clock
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database

from ..service_layer.ports import Outgoing

log = get_logger(__name__)


class RecordingChannel:
    def __init__(self, db: Database, collection: str, clock: Clock) -> None:
        self._db = db
        self._collection = collection
        self._clock = clock

    async def send(self, message: Outgoing) -> None:
        (outcome,) = await self.send_many([message])
        if outcome is not None:
            raise outcome

    async def send_many(self, messages: list[Outgoing]) -> list[Exception | None]:
        """A round's messages in one command. Keyed by the delivery: a retry after a lost answer
        records each once."""
        if not messages:
            return []
        now = self._clock.now()
        outcomes: list[Exception | None] = [None] * len(messages)
        try:
            await self._db[self._collection].bulk_write(
                [UpdateOne({"_id": m.delivery_id}, {"$setOnInsert": _recorded(m, now)}, upsert=True) for m in messages],
                ordered=False,
            )
        except BulkWriteError as exc:
            # Unordered: the others were recorded; only the ones named here failed.
            for error in exc.details.get("writeErrors") or []:
                outcomes[error["index"]] = RuntimeError(error.get("errmsg", "not recorded"))
        for m, outcome in zip(messages, outcomes):
            if outcome is None:
                log.info("message_recorded", channel=m.channel, kind=m.kind, delivery_id=m.delivery_id)
        return outcomes


def _recorded(message: Outgoing, now: datetime) -> dict[str, Any]:
    return {
        "member_id": message.member_id,
        "kind": message.kind,
        "to": message.destination,
        "title": message.subject,
        "text": message.text,
        "lang": message.lang,
        "recorded_at": now,
    }
