"""What the handlers need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


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


class CaptureRefused(Exception):
    """The face adapter's verdict that a photo cannot be used: the member takes another one.

    `hint` and `hint_id` tell the member why (English, Indonesian); `quality` holds the figures
    measured before the refusal, e.g. {"brightness": 21.4}.
    """

    def __init__(self, code: str, hint: str, hint_id: str, quality: dict[str, Any]) -> None:
        super().__init__(f"{code}: {hint}")
        self.code = code
        self.hint = hint
        self.hint_id = hint_id
        self.quality = quality
