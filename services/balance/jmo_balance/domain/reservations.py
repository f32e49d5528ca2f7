"""Holding a claim's amount on a card, and turning the hold into a debit or releasing it."""

from __future__ import annotations

from dataclasses import dataclass

from .model import MERGED, Card, CardFigures

OPEN = "open"
DEBITED = "debited"
RELEASED = "released"
REJECTED = "rejected"
# The claim was closed (rejected) before its submission reached us: never reserve for it.
CANCELLED = "cancelled"

CARD_NOT_FOUND = "card_not_found"
CARD_MERGED = "card_merged"
OPEN_CLAIM_EXISTS = "open_claim_exists"
NO_BALANCE = "no_balance"


@dataclass(frozen=True)
class Reserve:
    amount_idr: int
    balance_idr: int


@dataclass(frozen=True)
class Refuse:
    reason_code: str
    message: str


def claim_amount(figures: CardFigures, partial_percent: int | None) -> int:
    """A full claim takes what is available; a partial one floor(balance * percent / 100)."""
    if partial_percent is None:
        return figures.available_idr
    return min(figures.balance_idr * partial_percent // 100, figures.available_idr)


def decide_reservation(
    card: Card | None,
    figures: CardFigures | None,
    claim_nik: str,
    open_claim_id: str | None,
    partial_percent: int | None,
) -> Reserve | Refuse:
    # Another member's card answers exactly like an unknown one: nothing about it leaks.
    if card is None or figures is None or not card.registered or card.nik != claim_nik:
        return Refuse(CARD_NOT_FOUND, "no registered KPJ card with this number belongs to the member")
    if figures.status == MERGED:
        return Refuse(CARD_MERGED, f"this card was merged into KPJ {figures.merged_into}; claim on that card")
    if open_claim_id is not None:
        return Refuse(OPEN_CLAIM_EXISTS, f"claim {open_claim_id} is still open; one open claim per member")
    amount = claim_amount(figures, partial_percent)
    if amount <= 0:
        return Refuse(NO_BALANCE, "the card has no available balance to claim")
    return Reserve(amount_idr=amount, balance_idr=figures.balance_idr)


@dataclass(frozen=True)
class Reservation:
    claim_id: str
    member_id: str
    nik: str
    kpj: str
    amount_idr: int
    status: str

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


@dataclass(frozen=True)
class Debit:
    amount_idr: int
    # Set when the bank paid more than was held: the money left anyway, so it is
    # debited, but someone must look at why.
    anomaly: str | None = None


def settle(reservation: Reservation | None, gross_idr: int) -> Debit | None:
    """The debit a settled payout causes: once per claim, only from an open hold."""
    if reservation is None or not reservation.is_open:
        return None
    if gross_idr > reservation.amount_idr:
        return Debit(gross_idr, anomaly=f"paid {gross_idr} above the {reservation.amount_idr} held")
    return Debit(gross_idr)


def can_release(reservation: Reservation | None) -> bool:
    return reservation is not None and reservation.is_open
