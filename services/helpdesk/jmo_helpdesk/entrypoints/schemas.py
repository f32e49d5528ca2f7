"""Request bodies of the helpdesk API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FileComplaint(_Body):
    category: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=10, max_length=4000)
    claim_id: str | None = Field(default=None, min_length=1, max_length=64)


class OfficerReply(_Body):
    text: str = Field(min_length=1, max_length=4000)


class CloseComplaint(_Body):
    resolution: str = Field(min_length=1, max_length=2000)
