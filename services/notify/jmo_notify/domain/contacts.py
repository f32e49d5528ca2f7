"""The member's e-mail and phone as notify knows them, and whether each may be written to.

Projected from identity (AccountRegistered: given at registration, not yet confirmed; ContactChanged:
a new contact confirmed by a code sent there) and profile (ProfileUpdated: the contact the member
confirmed in a face-matched pengkinian data update). Events of the two topics arrive in any order:
each contact keeps the time of the news it holds, and older news never replaces newer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class ContactPoint:
    address: str
    confirmed: bool
    at: datetime


@dataclass(frozen=True)
class MemberContacts:
    member_id: str
    email: ContactPoint | None = None
    phone: ContactPoint | None = None

    def usable(self, channel: str) -> ContactPoint | None:
        """The contact a message on `channel` may go to: known and confirmed, else None."""
        point = self.email if channel == "email" else self.phone if channel == "sms" else None
        return point if point is not None and point.confirmed else None


def merged(current: ContactPoint | None, address: str | None, confirmed: bool, at: datetime) -> ContactPoint | None:
    """The contact after a piece of news about it (address, confirmed or not, as of `at`)."""
    if not address:
        return current
    if current is None:
        return ContactPoint(address, confirmed, at)
    if address == current.address:
        # The same address: a confirmation counts whenever it comes.
        return replace(current, confirmed=current.confirmed or confirmed, at=max(at, current.at))
    if at < current.at:
        return current  # older news about an address since replaced
    return ContactPoint(address, confirmed, at)


def apply_news(
    contacts: MemberContacts, email: str | None, phone: str | None, confirmed: bool, at: datetime
) -> MemberContacts:
    return replace(
        contacts, email=merged(contacts.email, email, confirmed, at), phone=merged(contacts.phone, phone, confirmed, at)
    )


@dataclass(frozen=True)
class ContactChange:
    """One contact replaced by identity: the channel ("email" / "phone"), the old and the new address."""

    channel: str
    old: str | None
    new: str


def changes_between(contacts: MemberContacts, email: str, phone: str) -> list[ContactChange]:
    """Which of the contacts a ContactChanged replaces (both when notify knew neither before)."""
    changes = []
    for channel, point, new in (("email", contacts.email, email), ("phone", contacts.phone, phone)):
        if point is None or point.address != new:
            changes.append(ContactChange(channel, point.address if point else None, new))
    return changes
