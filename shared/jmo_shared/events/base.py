"""Base class and registry of versioned event types.

Each event's data is a pydantic model whose class declares its CloudEvents
`type` (e.g. `jht.claims.ClaimSubmitted.v1`), its topic and which field keys it.
A breaking change is a new class with a new `.vN` type, never an edit: the
contract tests compare every schema with its checked-in snapshot.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from ..logging import current_correlation_id
from .envelope import CloudEvent

REGISTRY: dict[str, type[EventData]] = {}

E = TypeVar("E", bound="EventData")


class EventData(BaseModel):
    # Consumers must accept fields added later (forward compatible).
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str | None]  # None: the topic depends on the data (bank topics)
    key_field: ClassVar[str]
    summary: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            if cls.event_type in REGISTRY:
                raise TypeError(f"duplicate event type {cls.event_type}")
            REGISTRY[cls.event_type] = cls

    def key(self) -> str:
        return str(getattr(self, self.key_field))

    def metric_detail(self) -> str:
        """A low-cardinality label for the domain_events_total metric (a status, a rail, a reason code)."""
        return ""

    def to_event(self, source: str, subject: str | None = None, correlation_id: str | None = None) -> CloudEvent:
        return CloudEvent(
            source=source,
            type=self.event_type,
            subject=subject,
            data=self.model_dump(mode="json"),
            correlationid=correlation_id or current_correlation_id(),
        )

    @classmethod
    def from_event(cls: type[E], event: CloudEvent) -> E:
        return cls.model_validate(event.data)


def parse_data(event: CloudEvent) -> EventData | None:
    """The typed data of an event, or None for a type this code does not know."""
    model = REGISTRY.get(event.type)
    return model.model_validate(event.data) if model else None
