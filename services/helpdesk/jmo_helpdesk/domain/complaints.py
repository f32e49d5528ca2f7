"""Complaints (pengaduan): tickets, the SLA on each, and what officers may do with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum

# Ticket years follow the calendar in Indonesia's capital (WIB, UTC+7), which members read.
WIB = timezone(timedelta(hours=7))


class Status(str, Enum):
    OPEN = "open"  # waiting for an officer
    ANSWERED = "answered"  # an officer replied; still not resolved
    CLOSED = "closed"


class ComplaintError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SlaPolicy:
    hours_by_category: dict[str, int]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted(self.hours_by_category))

    def due_at(self, category: str, filed_at: datetime) -> datetime:
        """The SLA runs to resolution (closing), in calendar hours: members wait on weekends too."""
        if category not in self.hours_by_category:
            raise ComplaintError("unknown_category", f"category must be one of {', '.join(self.categories)}")
        return filed_at + timedelta(hours=self.hours_by_category[category])


def format_ticket(prefix: str, year: int, sequence: int) -> str:
    """HD-2026-000123: six digits, more once a year passes a million complaints."""
    if sequence < 1:
        raise ValueError("ticket sequences start at 1")
    return f"{prefix}-{year:04d}-{sequence:06d}"


def ticket_year(filed_at: datetime) -> int:
    return filed_at.astimezone(WIB).year


@dataclass(frozen=True)
class Reply:
    author: str  # "officer" (members read replies; only officers write them)
    author_id: str
    text: str
    at: datetime


@dataclass
class Complaint:
    ticket: str
    member_id: str
    nik: str
    category: str
    text: str
    claim_id: str | None
    filed_at: datetime
    sla_due_at: datetime
    status: Status = Status.OPEN
    replies: list[Reply] = field(default_factory=list)
    sla_breached: bool = False
    resolution: str | None = None
    closed_at: datetime | None = None

    def overdue(self, now: datetime) -> bool:
        """Past due and not resolved in time (a complaint closed late stays a breach)."""
        end = self.closed_at if self.closed_at is not None else now
        return end > self.sla_due_at

    def reply(self, officer_id: str, text: str, at: datetime) -> None:
        if self.status is Status.CLOSED:
            raise ComplaintError("complaint_closed", "this complaint is closed")
        self.replies.append(Reply("officer", officer_id, text, at))
        self.status = Status.ANSWERED

    def close(self, resolution: str, at: datetime) -> bool:
        """Close it; True when closing it is what reveals a breach (the sweep had not seen it yet)."""
        if self.status is Status.CLOSED:
            raise ComplaintError("complaint_closed", "this complaint is already closed")
        self.status = Status.CLOSED
        self.resolution = resolution
        self.closed_at = at
        newly_breached = not self.sla_breached and self.overdue(at)
        self.sla_breached = self.sla_breached or newly_breached
        return newly_breached
