"""What the claims service knows about a member, projected from other systems' events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Employment:
    ended_on: date
    cause: str  # resignation | termination | contract_end | retirement
    letter_date: date


@dataclass(frozen=True)
class Card:
    """One KPJ card: who registered it, whether the employment behind it ended, its balance."""

    kpj: str
    registered_on: date | None = None
    employer_name: str | None = None
    employment: Employment | None = None
    balance_idr: int | None = None
    available_idr: int | None = None

    @property
    def active(self) -> bool:
        return self.employment is None


@dataclass(frozen=True)
class BankAccount:
    bank_code: str
    account_number: str
    account_name: str
    inquiry_name: str | None = None
    changed_at: datetime | None = None
    face_verification_id: str | None = None


@dataclass(frozen=True)
class Profile:
    """The member's last confirmed pengkinian data."""

    data_update_completed: bool
    full_name: str
    npwp: str | None = None
    bank_account: BankAccount | None = None


@dataclass(frozen=True)
class Member:
    nik: str
    birth_date: date | None = None
    cards: tuple[Card, ...] = ()
    # A partial claim (10% or 30%) is open or was paid: it is allowed once only.
    partial_taken: bool = False
    # A paid partial claim makes an NPWP mandatory for every later claim.
    partial_paid: bool = False

    def card(self, kpj: str) -> Card | None:
        return next((c for c in self.cards if c.kpj == kpj), None)

    @property
    def first_registered_on(self) -> date | None:
        dates = [c.registered_on for c in self.cards if c.registered_on is not None]
        return min(dates) if dates else None

    @property
    def still_working(self) -> bool:
        return any(c.active and c.registered_on is not None for c in self.cards)


@dataclass(frozen=True)
class FaceMatch:
    verification_id: str
    member_id: str
    purpose: str
    expires_at: datetime


@dataclass(frozen=True)
class Document:
    document_id: str
    kind: str
    member_id: str


@dataclass(frozen=True)
class Estimate:
    gross_idr: int
    tax_idr: int
    net_idr: int


@dataclass(frozen=True)
class Unmet:
    code: str
    message: str


@dataclass(frozen=True)
class ReasonAssessment:
    kpj: str
    reason: str
    eligible: bool
    eligible_from: date | None
    unmet: tuple[Unmet, ...]
    required_documents: tuple[str, ...]
    estimated: Estimate
    partial_percent: int | None = None
    paid_to: str = "member"
    conditional_documents: tuple[tuple[str, str], ...] = field(default=())
