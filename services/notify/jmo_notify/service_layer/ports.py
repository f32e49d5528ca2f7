"""The channels a message leaves by: each adapter sends one message or raises; one that can hand over
a round of messages at once also offers `send_many` (BatchChannel)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    delivery_id: str  # also the e-mail's Message-ID: a receiver can drop a resend after a crash
    channel: str
    kind: str
    member_id: str
    destination: str
    subject: str
    text: str
    lang: str


class Channel(Protocol):
    async def send(self, message: Outgoing) -> None:
        """Hand the message over; raise when it could not be (the delivery is retried later)."""
        ...


class BatchChannel(Channel, Protocol):
    async def send_many(self, messages: list[Outgoing]) -> list[Exception | None]:
        """Hand these messages over together; for each, None when it went, else why it did not (it is
        retried later). Raising fails them all."""
        ...
