"""What the handlers need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Notification:
    """One message with a one-time code, to one e-mail address or phone number."""

    member_id: str
    channel: str  # "email" | "phone"
    destination: str
    purpose: str
    code: str
    text: str
    expires_at: datetime


class Notifier(Protocol):
    async def send(self, note: Notification, at: datetime) -> None:
        """Deliver the message (an e-mail, an SMS); raises if it could not be handed over."""
