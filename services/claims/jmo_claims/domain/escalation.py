"""When a late claim is escalated, and to whom.

A claim still open at its SLA due time is breached, once, and escalated to the
first target; while it stays open, every `sla_escalation_step_working_days`
working days more take it to the next target, up to the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .policy import ClaimPolicy
from .sla import working_days_after
from .text import moment


@dataclass(frozen=True)
class Escalation:
    level: int  # 1 is the breach itself
    to: str
    first_breach: bool
    at: datetime


def escalation_due_at(sla_due_at: datetime, level: int, policy: ClaimPolicy) -> datetime | None:
    """When `level` (1-based) falls due; None past the last target."""
    if level < 1 or level > len(policy.sla_escalation_targets):
        return None
    return working_days_after(sla_due_at, (level - 1) * policy.sla_escalation_step_working_days, policy)


def level_due(sla_due_at: datetime, current_level: int, now: datetime, policy: ClaimPolicy) -> int:
    """The highest level due at `now`, or `current_level` when none is.

    A sweep that was down for days lands on the level due now in one step,
    instead of walking the member's timeline through every level it missed.
    """
    level = current_level
    while True:
        due = escalation_due_at(sla_due_at, level + 1, policy)
        if due is None or now < due:
            return level
        level += 1


def breach_note(level: int, to: str, sla_due_at: datetime, policy: ClaimPolicy) -> str:
    due = moment(sla_due_at.astimezone(policy.tz))
    if level == 1:
        return (
            f"We are late: your claim was due by {due} WIB. It has been escalated to {to}, "
            f"who will see it through. We are sorry for the wait."
        )
    return f"Still late (due by {due} WIB): your claim has been escalated further, to {to}."
