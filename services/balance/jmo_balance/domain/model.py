"""KPJ cards and their balance sheet: which card holds which money, as of a day.

A card is keyed by its KPJ number. It exists for the member once the core
system registered it (MemberRegistered); contributions that came earlier are
kept on it and count from then. Merged cards form one pot on the target card:
returns are computed on the pot, the source cards show zero and keep their
history (and any late contribution to them counts on the target).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from .returns import Figures, Month, MonthFlow, RateTable, compute_figures, merge_flows

ACTIVE = "active"
ENDED = "ended"
MERGED = "merged"


@dataclass(frozen=True)
class Card:
    kpj: str
    nik: str | None = None
    full_name: str = ""
    employer_name: str = ""
    registered_on: date | None = None
    ended_on: date | None = None
    merged_into: str | None = None
    merged_on: date | None = None
    flows: Mapping[Month, MonthFlow] = field(default_factory=dict)
    reserved_idr: int = 0

    @property
    def registered(self) -> bool:
        return self.nik is not None and self.registered_on is not None

    def status_on(self, day: date) -> str:
        if self.merged_into and self.merged_on and self.merged_on <= day:
            return MERGED
        if self.ended_on and self.ended_on <= day:
            return ENDED
        return ACTIVE

    def root_on(self, day: date) -> str:
        """The card whose pot holds this card's money on that day."""
        return self.merged_into if self.status_on(day) == MERGED and self.merged_into else self.kpj

    def visible_on(self, day: date) -> bool:
        if not self.registered:
            return False
        first_flow = min(self.flows, default=None)
        return (self.registered_on is not None and self.registered_on <= day) or (
            first_flow is not None and first_flow <= (day.year, day.month)
        )


@dataclass(frozen=True)
class CardFigures:
    kpj: str
    employer: str
    status: str
    contributions_idr: int
    returns_idr: int
    withdrawn_idr: int
    balance_idr: int
    reserved_idr: int
    merged_into: str | None
    credited_through: int | None

    @property
    def available_idr(self) -> int:
        return max(0, self.balance_idr - self.reserved_idr)

    def key_figures(self) -> tuple[int, int, int, int, int]:
        """What a BalanceChanged carries: a change in any of these is a change of the card."""
        return (self.contributions_idr, self.returns_idr, self.balance_idr, self.reserved_idr, self.available_idr)


def _card_figures(card: Card, figures: Figures, status: str, merged_into: str | None, reserved: int) -> CardFigures:
    return CardFigures(
        kpj=card.kpj,
        employer=card.employer_name,
        status=status,
        contributions_idr=figures.contributions_idr,
        returns_idr=figures.returns_idr,
        withdrawn_idr=figures.withdrawn_idr,
        balance_idr=figures.balance_idr,
        reserved_idr=reserved,
        merged_into=merged_into,
        credited_through=figures.credited_through,
    )


def balance_sheet(
    cards: Sequence[Card], rates: RateTable, as_of: date, include_holds: bool = True
) -> list[CardFigures]:
    """Figures of every visible card as of a day, merged cards pooled on their target.

    Holds (reservations) describe the present: pass include_holds=False for a past day.
    """
    by_kpj = {c.kpj: c for c in cards}
    pots: dict[str, list[Card]] = {}
    for card in cards:
        root = card.root_on(as_of)
        pots.setdefault(root if root in by_kpj else card.kpj, []).append(card)
    out: list[CardFigures] = []
    for card in sorted(cards, key=lambda c: (c.registered_on or date.max, c.kpj)):
        if not card.visible_on(as_of):
            continue
        status = card.status_on(as_of)
        if status == MERGED and card.merged_into in by_kpj:
            empty = Figures(credited_through=as_of.year - 1)
            out.append(_card_figures(card, empty, status, card.merged_into, 0))
            continue
        pot = merge_flows(member.flows for member in pots.get(card.kpj, [card]))
        figures = compute_figures(pot, rates, as_of)
        out.append(_card_figures(card, figures, status, None, card.reserved_idr if include_holds else 0))
    return out


def total_idr(figures: Sequence[CardFigures]) -> int:
    return sum(f.balance_idr for f in figures)


def mask_nik(nik: str) -> str:
    """3174011201900001 -> 3174********0001: enough to recognise, not enough to misuse."""
    if len(nik) <= 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


def primary_card(cards: Sequence[Card], today: date) -> Card | None:
    """The card the membership card shows: the latest merge target, else the most recent active card."""
    live = [c for c in cards if c.registered and c.status_on(today) != MERGED]
    if not live:
        return None
    merged_on_by_target: dict[str, date] = {}
    for c in cards:
        if c.status_on(today) == MERGED and c.merged_into and c.merged_on:
            merged_on_by_target[c.merged_into] = max(c.merged_on, merged_on_by_target.get(c.merged_into, date.min))
    targets = [c for c in live if c.kpj in merged_on_by_target]
    if targets:
        return max(targets, key=lambda c: (merged_on_by_target[c.kpj], c.kpj))
    active = [c for c in live if c.status_on(today) == ACTIVE] or live
    return max(active, key=lambda c: (c.registered_on or date.min, c.kpj))
