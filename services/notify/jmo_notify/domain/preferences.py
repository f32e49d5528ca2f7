"""A member's choices: language, channels per kind, and quiet hours for what is not urgent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from .formats import WIB
from .kinds import CHANNELS, CONFIGURABLE_KINDS, KINDS
from .templates import DEFAULT_LANGUAGE, LANGUAGES

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class PreferencesInvalid(Exception):
    """Every field that is wrong, as (field, code, message)."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, _, m in problems))
        self.problems = problems


@dataclass(frozen=True)
class QuietHours:
    """A daily window in WIB (it may span midnight, 21:00-07:00) when non-urgent messages wait."""

    start: time
    end: time

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(WIB).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, at: datetime) -> datetime:
        """When the window that `at` is in ends (at itself when it is outside the window)."""
        if not self.contains(at):
            return at
        local = at.astimezone(WIB)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(at.tzinfo)

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}


@dataclass(frozen=True)
class Preferences:
    language: str = DEFAULT_LANGUAGE
    # Only the kinds the member chose for; the others use their defaults.
    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None

    def channels_for(self, kind: str) -> tuple[str, ...]:
        spec = KINDS[kind]
        if not spec.configurable:
            return spec.default_channels
        return tuple(self.channels.get(kind, spec.default_channels))

    def deliver_after(self, kind: str, now: datetime) -> datetime:
        """Now, or the end of the quiet hours for a non-urgent kind (the inbox entry is written at once)."""
        if KINDS[kind].urgent or self.quiet_hours is None:
            return now
        return self.quiet_hours.end_after(now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "channels": {kind: list(self.channels_for(kind)) for kind in KINDS},
            "quiet_hours": self.quiet_hours.as_dict() if self.quiet_hours else None,
        }


def parse_preferences(raw: Mapping[str, Any], current: Preferences | None = None) -> Preferences:
    """A member's PUT, checked field by field; what it leaves out stays as it was."""
    current = current or Preferences()
    problems: list[tuple[str, str, str]] = []
    language = raw.get("language") or current.language
    if language not in LANGUAGES:
        problems.append(("language", "unsupported_language", f"language must be one of {', '.join(LANGUAGES)}"))
    channels = dict(current.channels)
    for kind, chosen in (raw.get("channels") or {}).items():
        where = f"channels.{kind}"
        if kind not in KINDS:
            problems.append((where, "unknown_kind", f"kind must be one of {', '.join(CONFIGURABLE_KINDS)}"))
            continue
        if not KINDS[kind].configurable:
            problems.append((where, "not_configurable", "security notices are always sent"))
            continue
        bad = [c for c in chosen if c not in CHANNELS]
        if bad:
            problems.append((where, "unknown_channel", f"channels must be among {', '.join(CHANNELS)}"))
            continue
        channels[kind] = tuple(dict.fromkeys(chosen))  # in order, once each
    quiet = current.quiet_hours
    if "quiet_hours" in raw:
        quiet, problem = _quiet_hours(raw["quiet_hours"])
        if problem:
            problems.append(problem)
    if problems:
        raise PreferencesInvalid(problems)
    return Preferences(language=language, channels=channels, quiet_hours=quiet)


def _quiet_hours(raw: Any) -> tuple[QuietHours | None, tuple[str, str, str] | None]:
    if raw is None:
        return None, None
    start, end = _hhmm(raw.get("start")), _hhmm(raw.get("end"))
    if start is None or end is None:
        return None, ("quiet_hours", "invalid_time", "start and end are times of day in WIB, HH:MM")
    if start == end:
        return None, ("quiet_hours", "empty_window", "start and end must differ")
    return QuietHours(start, end), None


def _hhmm(value: Any) -> time | None:
    match = _HHMM.match(value) if isinstance(value, str) else None
    return time(int(match[1]), int(match[2])) if match else None


def preferences_from_doc(doc: Mapping[str, Any] | None) -> Preferences:
    if not doc:
        return Preferences()
    quiet = doc.get("quiet_hours")
    return Preferences(
        language=doc.get("language", DEFAULT_LANGUAGE),
        channels={k: tuple(v) for k, v in (doc.get("channels") or {}).items() if k in KINDS},
        quiet_hours=QuietHours(_hhmm(quiet["start"]), _hhmm(quiet["end"])) if quiet else None,  # type: ignore[arg-type]
    )


def preferences_to_doc(p: Preferences) -> dict[str, Any]:
    return {
        "language": p.language,
        "channels": {k: list(v) for k, v in p.channels.items()},
        "quiet_hours": p.quiet_hours.as_dict() if p.quiet_hours else None,
    }
