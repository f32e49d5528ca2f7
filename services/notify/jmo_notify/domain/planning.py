"""Which deliveries a notice becomes: the channels the member chose, to confirmed contacts only,
after the quiet hours when it can wait; security notices to the old and the new contact, always."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .contacts import ContactChange, MemberContacts
from .kinds import EMAIL, PUSH, SMS
from .preferences import Preferences


@dataclass(frozen=True)
class PlannedDelivery:
    channel: str
    destination: str  # an e-mail address, a phone number, or for push the member id (the app's devices)
    not_before: datetime
    # Tells a delivery of one notice apart from another on the same channel (old and new contact).
    recipient: str = "member"


@dataclass(frozen=True)
class Skipped:
    channel: str
    reason: str  # "no_contact" | "unconfirmed"


def plan_deliveries(
    kind: str, member_id: str, contacts: MemberContacts | None, prefs: Preferences, now: datetime
) -> tuple[list[PlannedDelivery], list[Skipped]]:
    """The deliveries of an ordinary notice (the inbox entry is not one: it is always written)."""
    contacts = contacts or MemberContacts(member_id)
    not_before = prefs.deliver_after(kind, now)
    planned: list[PlannedDelivery] = []
    skipped: list[Skipped] = []
    for channel in prefs.channels_for(kind):
        if channel == PUSH:
            planned.append(PlannedDelivery(PUSH, member_id, not_before))
            continue
        point = contacts.email if channel == EMAIL else contacts.phone
        if point is None:
            skipped.append(Skipped(channel, "no_contact"))
        elif not point.confirmed:
            skipped.append(Skipped(channel, "unconfirmed"))
        else:
            planned.append(PlannedDelivery(channel, point.address, not_before))
    return planned, skipped


def plan_security_notice(member_id: str, changes: list[ContactChange], now: datetime) -> list[PlannedDelivery]:
    """To the old contact (whoever holds it should hear that it was replaced) and the new one, now,
    whatever the member's preferences and quiet hours; and to the app."""
    planned: list[PlannedDelivery] = []
    for change in changes:
        channel = EMAIL if change.channel == "email" else SMS
        if change.old:
            planned.append(PlannedDelivery(channel, change.old, now, recipient="old"))
        planned.append(PlannedDelivery(channel, change.new, now, recipient="new"))
    planned.append(PlannedDelivery(PUSH, member_id, now))
    return planned


def is_stale(occurred_at: datetime, now: datetime, max_age: timedelta) -> bool:
    """Too old to send out (it still goes in the inbox)."""
    return now - occurred_at > max_age
