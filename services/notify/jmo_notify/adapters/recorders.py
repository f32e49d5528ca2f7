"""The local SMS and push adapters: no gateway, what would have been sent is recorded in the database.

They stand in for an SMS gateway and a push provider in a local run and in tests (read
`recorded_sms` / `recorded_push`); a deployment replaces them with adapters of the same port.
"""

from __future__ import annotations

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
        # Keyed by the delivery: a retry after a lost answer records it once.
        await self._db[self._collection].update_one(
            {"_id": message.delivery_id},
            {
                "$setOnInsert": {
                    "member_id": message.member_id,
                    "kind": message.kind,
                    "to": message.destination,
                    "title": message.subject,
                    "text": message.text,
                    "lang": message.lang,
                    "recorded_at": self._clock.now(),
                }
            },
            upsert=True,
        )
        log.info("message_recorded", channel=message.channel, kind=message.kind, delivery_id=message.delivery_id)
