"""Comparing people's names across the app, the KTP and the employer's report."""

from __future__ import annotations

import unicodedata


def normalise_name(name: str) -> str:
    """Case and spacing differ between registries ("BUDI  santoso" vs "Budi Santoso"):
    those alone must not make a member's name 'differ'. Spelling still does."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def same_name(a: str, b: str) -> bool:
    return normalise_name(a) == normalise_name(b)
