"""Program information (JHT, JKK, JKM, JP, JKP): versioned content in Indonesian and English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

CODES = ("JHT", "JKK", "JKM", "JP", "JKP")
LANGUAGES = ("id", "en")


@dataclass(frozen=True)
class ProgramVersion:
    code: str
    version: int
    effective_date: date


def current_version(versions: list[ProgramVersion], today: date) -> ProgramVersion | None:
    """The newest version already in force; a version published ahead of its date waits for it."""
    in_force = [v for v in versions if v.effective_date <= today]
    return max(in_force, key=lambda v: (v.effective_date, v.version)) if in_force else None
