"""The registries an account is checked against, and how an applicant can differ from them.

Identity keeps, per NIK, the KPJ cards the membership core system reported
(MemberRegistered) and the population registry's record (PersonRecorded).
A new account must agree with both: the KPJ is one of the NIK's cards, the
name (after case/spacing) and birth date are the registries', and what the
NIK itself encodes (birth date, sex) fits the population record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from jmo_shared.errors import FieldError

from .names import same_name


@dataclass(frozen=True)
class Card:
    kpj: str
    full_name: str
    birth_date: date


@dataclass(frozen=True)
class Person:
    full_name: str
    birth_date: date
    sex: str  # "M" | "F"


@dataclass(frozen=True)
class RegistryEntry:
    nik: str
    cards: tuple[Card, ...]
    person: Person | None

    @property
    def kpj_numbers(self) -> list[str]:
        return sorted(card.kpj for card in self.cards)

    def card(self, kpj: str) -> Card | None:
        return next((c for c in self.cards if c.kpj == kpj), None)

    @property
    def registered_name(self) -> str:
        """The name as the population registry (the KTP) spells it."""
        if self.person is not None:
            return self.person.full_name
        return self.cards[0].full_name if self.cards else ""


@dataclass(frozen=True)
class Applicant:
    nik: str
    kpj: str
    full_name: str
    birth_date: date


@dataclass(frozen=True)
class NikFacts:
    """What the NIK itself says: DDMMYY of birth (+40 on the day for women)."""

    day: int
    month: int
    year_2digits: int
    sex: str

    def fits(self, birth_date: date) -> bool:
        return (birth_date.day, birth_date.month, birth_date.year % 100) == (self.day, self.month, self.year_2digits)


def validate_nik(raw: str) -> str | None:
    """The 16-digit NIK if python-stdnum accepts it (length, region code, date), else None."""
    try:
        return stdnum_nik.validate(raw)
    except ValidationError:
        return None


def nik_facts(nik: str) -> NikFacts:
    day = int(nik[6:8])
    return NikFacts(day=day % 40, month=int(nik[8:10]), year_2digits=int(nik[10:12]), sex="F" if day > 40 else "M")


def not_in_registry(entry: RegistryEntry | None) -> list[FieldError]:
    """Why the NIK cannot be checked yet: a registry has never reported it."""
    out = []
    if entry is None or not entry.cards:
        out.append(
            FieldError("nik", "unknown_to_membership_registry", "no KPJ membership card is registered to this NIK")
        )
    if entry is None or entry.person is None:
        out.append(
            FieldError("nik", "unknown_to_population_registry", "the population registry has no record of this NIK")
        )
    return out


def discrepancies(applicant: Applicant, entry: RegistryEntry) -> list[FieldError]:
    """One error per field that differs from the registries (empty when all agree).

    Values from the registry are never echoed: whoever types a NIK must not
    learn the name or birth date behind it.
    """
    out: list[FieldError] = []
    card = entry.card(applicant.kpj)
    if card is None:
        out.append(
            FieldError(
                "kpj", "kpj_not_registered_to_nik", "this KPJ number is not one of the membership cards of this NIK"
            )
        )
    # Compare with the named card; without one, a name any card carries is no evidence either way.
    cards = [card] if card is not None else []
    person = entry.person

    names = [c.full_name for c in cards] + ([person.full_name] if person else [])
    if not all(same_name(applicant.full_name, n) for n in names):
        out.append(
            FieldError(
                "full_name", "name_differs", "the name differs from the one in the registry (as written on your KTP)"
            )
        )
    dates = [c.birth_date for c in cards] + ([person.birth_date] if person else [])
    if not all(applicant.birth_date == d for d in dates):
        out.append(
            FieldError("birth_date", "birth_date_differs", "the birth date differs from the one in the registry")
        )

    facts = nik_facts(applicant.nik)
    if person is not None and (not facts.fits(person.birth_date) or facts.sex != person.sex):
        out.append(
            FieldError(
                "nik",
                "nik_inconsistent_with_registry",
                "the birth date or sex encoded in this NIK does not match the population record",
            )
        )
    return out
