"""The CloudEvents 1.0 envelope in Kafka's structured mode.

The Kafka message value is the whole event as JSON; the key is the member
(or, for upstream feeds, the NIK) so one member's events stay in order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..tracing import kafka_headers as trace_headers

CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    # CloudEvents extension attribute (lower-case alphanumerics only).
    correlationid: str | None = None

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """Headers for a direct publish (tests, upstream simulators): with the current trace context, if any."""
        headers = [("content-type", CONTENT_TYPE.encode()), ("ce_type", self.type.encode())]
        if self.correlationid:
            headers.append(("correlationid", self.correlationid.encode()))
        return headers + trace_headers()
