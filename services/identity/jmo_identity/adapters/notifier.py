"""The local notification adapter: codes are logged and kept in the `notifications` collection.

There is no SMS or e-mail gateway in a local run or in tests: this adapter
stands in for one. Tests (and a developer trying the app) read the code from
`notifications` in identity's database. A production deployment replaces it
with a gateway adapter implementing the same port; this one must never run
there, as it stores and logs the codes in clear.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database

from ..service_layer.ports import Notification

NOTIFICATIONS = "notifications"

log = get_logger(__name__)


class LocalNotifier:
    def __init__(self, db: Database, retention: timedelta) -> None:
        self._db = db
        self._retention = retention

    async def send(self, note: Notification, at: datetime) -> None:
        await self._db[NOTIFICATIONS].insert_one(
            {
                "_id": uuid.uuid4().hex,
                "member_id": note.member_id,
                "channel": note.channel,
                "destination": note.destination,
                "purpose": note.purpose,
                "code": note.code,
                "text": note.text,
                "expires_at": note.expires_at,
                "created_at": at,
                "purge_at": at + self._retention,
            }
        )
        log.info(
            "notification_sent",
            channel=note.channel,
            destination=note.destination,
            purpose=note.purpose,
            code=note.code,
            member_id=note.member_id,
        )
