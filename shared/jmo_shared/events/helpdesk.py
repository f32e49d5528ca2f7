"""Events of the helpdesk service (topic helpdesk.events, keyed by member id)."""

from __future__ import annotations

from datetime import datetime

from ..topics import HELPDESK_EVENTS
from .base import EventData


class ComplaintFiled(EventData):
    event_type = "jht.helpdesk.ComplaintFiled.v1"
    topic = HELPDESK_EVENTS
    key_field = "member_id"
    summary = "A member filed a complaint about one of their claims; the claims service shows it on the claim."

    ticket: str
    member_id: str
    claim_id: str
    category: str
    filed_at: datetime


class ComplaintAnswered(EventData):
    event_type = "jht.helpdesk.ComplaintAnswered.v1"
    topic = HELPDESK_EVENTS
    key_field = "member_id"
    summary = "An officer replied to a member's complaint; the member is told to read the answer in the app."

    ticket: str
    member_id: str
    category: str
    claim_id: str | None = None
    answered_at: datetime
