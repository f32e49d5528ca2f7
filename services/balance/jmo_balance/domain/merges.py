"""Penggabungan saldo: moving every balance of a member's KPJ cards onto one card."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from jmo_shared.errors import DomainError, ErrorKind, FieldError

from .model import ACTIVE, MERGED, Card

BALANCE_MERGE = "balance_merge"
COMPLETED = "completed"


@dataclass(frozen=True)
class Verification:
    verification_id: str
    member_id: str
    nik: str
    purpose: str
    expires_at: datetime
    used_by: str | None = None


@dataclass(frozen=True)
class MergePlan:
    target: str
    sources: tuple[str, ...]


def merge_id_for(nik: str, verification_id: str) -> str:
    """One face verification buys one merge: the id follows from it, so a repeat finds the first."""
    return "mrg_" + hashlib.sha256(f"{nik}:{verification_id}".encode()).hexdigest()[:24]


def _refusal(code: str, message: str, kind: ErrorKind, field: str = "kpj_numbers") -> DomainError:
    return DomainError(code=code, detail=message, kind=kind, errors=[FieldError(field, code, message)])


def check_verification(v: Verification | None, member_id: str, nik: str, now: datetime, merge_id: str) -> None:
    # Someone else's verification is reported as unknown, like one that never existed.
    if v is None or v.member_id != member_id or v.nik != nik:
        raise _refusal(
            "verification_not_found",
            "no face verification with this id for this member (if it was just made, retry in a moment)",
            ErrorKind.INVALID,
            "verification_id",
        )
    if v.purpose != BALANCE_MERGE:
        raise _refusal(
            "verification_wrong_purpose",
            "the face verification was made for another purpose",
            ErrorKind.INVALID,
            "verification_id",
        )
    if v.expires_at <= now:
        raise _refusal(
            "verification_expired", "the face verification expired; verify again", ErrorKind.INVALID, "verification_id"
        )
    if v.used_by is not None and v.used_by != merge_id:
        raise _refusal(
            "verification_used", "this face verification was already used", ErrorKind.CONFLICT, "verification_id"
        )


def plan_merge(
    requested: Sequence[str], cards: Mapping[str, Card], nik: str, today: date, held_kpjs: set[str]
) -> MergePlan:
    """Which card receives the money. Raises a DomainError the member can act on."""
    if len(set(requested)) != len(requested):
        raise _refusal("duplicate_kpj", "each KPJ number may appear once", ErrorKind.INVALID)
    if len(requested) < 2:
        raise _refusal("too_few_cards", "a merge needs at least two KPJ cards", ErrorKind.INVALID)
    for i, kpj in enumerate(requested):
        card = cards.get(kpj)
        if card is None or not card.registered or card.nik != nik:
            raise _refusal(
                "card_not_found", f"KPJ {kpj} is not one of your cards", ErrorKind.NOT_FOUND, f"kpj_numbers.{i}"
            )
        if card.status_on(today) == MERGED:
            raise _refusal(
                "card_already_merged",
                f"KPJ {kpj} was already merged into {card.merged_into}",
                ErrorKind.CONFLICT,
                f"kpj_numbers.{i}",
            )
    held = sorted(held_kpjs & set(requested))
    if held:
        raise _refusal(
            "open_claim_reservation",
            f"a claim holds money on KPJ {', '.join(held)}; merge after it is paid or closed",
            ErrorKind.CONFLICT,
        )
    chosen = [cards[k] for k in requested]
    first = chosen[0]
    if first.status_on(today) == ACTIVE:
        target = first
    else:
        # New contributions arrive on an active card: prefer the oldest active one.
        active = [c for c in chosen if c.status_on(today) == ACTIVE]
        target = min(active, key=lambda c: (c.registered_on or date.min, c.kpj)) if active else first
    return MergePlan(target=target.kpj, sources=tuple(k for k in requested if k != target.kpj))
