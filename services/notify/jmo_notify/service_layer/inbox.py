"""The member's inbox and preferences, and the operators' dead-letter list."""

from __future__ import annotations

from typing import Any

from jmo_shared.auth import Principal
from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind, FieldError, not_found
from jmo_shared.logging import get_logger

from ..adapters.deliveries import DeliveryStore
from ..adapters.store import NotifyStore
from ..domain.formats import mask_address
from ..domain.kinds import KINDS
from ..domain.preferences import PreferencesInvalid, parse_preferences
from .metrics import REPLAYS

log = get_logger(__name__)


def notification_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "notification_id": doc["_id"],
        "kind": doc["kind"],
        "title": doc["title"],
        "body": doc["body"],
        "lang": doc["lang"],
        **doc.get("refs", {}),
        "created_at": doc["created_at"].isoformat(),
        "read": doc.get("read_at") is not None,
        "read_at": doc["read_at"].isoformat() if doc.get("read_at") else None,
    }


class Inbox:
    def __init__(self, store: NotifyStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def page(self, member: Principal, skip: int, limit: int) -> tuple[list[dict[str, Any]], int, int]:
        """A page of the member's notifications, newest first; the total and the unread count."""
        docs, total, unread = await self._store.inbox(member.member_id, skip, limit)
        return [notification_view(d) for d in docs], total, unread

    async def mark_read(self, member: Principal, notification_id: str) -> dict[str, Any]:
        doc = await self._store.mark_read(member.member_id, notification_id, self._clock.now())
        if doc is None:
            # Someone else's notification reads exactly like one that does not exist.
            raise not_found("notification", code="notification_not_found")
        return notification_view(doc)

    async def preferences(self, member: Principal) -> dict[str, Any]:
        return _preferences_view(await self._store.preferences(member.member_id))

    async def set_preferences(self, member: Principal, body: dict[str, Any]) -> dict[str, Any]:
        current = await self._store.preferences(member.member_id)
        try:
            prefs = parse_preferences(body, current)
        except PreferencesInvalid as exc:
            raise DomainError(
                "validation_failed",
                "the preferences have invalid fields",
                ErrorKind.INVALID,
                [FieldError(f, c, m) for f, c, m in exc.problems],
            ) from exc
        await self._store.save_preferences(member.member_id, prefs, self._clock.now())
        return _preferences_view(prefs)


def _preferences_view(prefs) -> dict[str, Any]:
    return {
        **prefs.as_dict(),
        "kinds": {name: {"urgent": spec.urgent, "configurable": spec.configurable} for name, spec in KINDS.items()},
    }


def dead_letter_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "delivery_id": doc["_id"],
        "notification_id": doc["notification_id"],
        "member_id": doc["member_id"],
        "kind": doc["kind"],
        "channel": doc["channel"],
        # Operators need to see which contact failed, not to read it out.
        "destination": mask_address(doc["destination"]) if doc["channel"] != "push" else doc["destination"],
        "attempts": doc.get("attempts", 0),
        "last_error": doc.get("last_error"),
        "created_at": doc["created_at"].isoformat(),
        "dead_at": doc["dead_at"].isoformat() if doc.get("dead_at") else None,
        "replays": doc.get("replays", 0),
    }


class DeadLetters:
    def __init__(self, store: DeliveryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def page(self, skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """A page of the dead letters, newest first, and how many there are."""
        docs, total = await self._store.dead(skip, limit)
        return [dead_letter_view(d) for d in docs], total

    async def replay(self, operator: Principal, delivery_id: str) -> dict[str, Any]:
        doc = await self._store.replay(delivery_id, self._clock.now())
        if doc is None:
            raise not_found("dead letter", code="dead_letter_not_found")
        REPLAYS.labels(doc["channel"], doc["kind"]).inc()
        log.info("dead_letter_replayed", delivery_id=delivery_id, operator=operator.member_id)
        return {
            "delivery_id": doc["_id"],
            "status": doc["status"],
            "next_attempt_at": doc["next_attempt_at"].isoformat(),
        }
