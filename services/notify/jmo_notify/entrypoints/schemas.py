"""Request bodies of the notify API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class QuietHoursBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(examples=["21:00"], description="HH:MM, WIB")
    end: str = Field(examples=["07:00"], description="HH:MM, WIB")


class PreferencesBody(BaseModel):
    """What the member changes; a field left out stays as it was. `quiet_hours: null` turns them off."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(default=None, examples=["id"])
    channels: dict[str, list[str]] | None = Field(default=None, examples=[{"claim_paid": ["email", "push"]}])
    quiet_hours: QuietHoursBody | None = None
