"""Field by field: does what the claims service knows about a member agree with itself?

Members of the real app are refused because a name or birth date differs
between the KTP, the card and the bank; the officer sees each comparison with
its sources, so a mismatch is found, not guessed. Sources: the population
registry's KTP record, the employer's card registration, the member's last
confirmed data update, the bank's account inquiry and the NIK itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from .model import BankAccount

MATCH = "match"
MISMATCH = "mismatch"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class IdentityFacts:
    claim_nik: str
    ktp_name: str | None = None
    ktp_birth_date: date | None = None
    ktp_sex: str | None = None  # M | F
    card_nik: str | None = None
    card_name: str | None = None
    card_birth_date: date | None = None
    profile_name: str | None = None
    claim_account: BankAccount | None = None
    current_account: BankAccount | None = None


@dataclass(frozen=True)
class FieldCheck:
    field: str
    result: str  # match | mismatch | unknown
    values: tuple[tuple[str, str | None], ...]  # (source, value)
    message: str


def normalised_name(name: str | None) -> str | None:
    """Case, punctuation and spacing do not make two names different."""
    if not name:
        return None
    return " ".join(re.sub(r"[^\w\s]", " ", name.upper()).split()) or None


def _same(value: str | None) -> str | None:
    return value


def _compare(
    field: str, values: list[tuple[str, str | None]], key: Callable[[str | None], str | None] = _same, what: str = ""
) -> FieldCheck:
    known = {key(v) for _, v in values if v}
    shown = tuple(values)
    label = what or field.replace("_", " ")
    if len([v for _, v in values if v]) < 2:
        missing = ", ".join(s for s, v in values if not v)
        return FieldCheck(field, UNKNOWN, shown, f"Not enough sources to compare the {label} (missing: {missing}).")
    if len(known) == 1:
        return FieldCheck(field, MATCH, shown, f"The {label} agrees across {', '.join(s for s, v in values if v)}.")
    differing = ", ".join(f"{s} '{v}'" for s, v in values if v)
    return FieldCheck(field, MISMATCH, shown, f"The {label} differs: {differing}.")


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def nik_birth(nik: str) -> tuple[int, int, int, str] | None:
    """(day, month, two-digit year, sex) encoded in a NIK (DDMMYY after the region; women's day + 40).

    Only the two-digit year is compared: the NIK does not say the century.
    """
    if not re.fullmatch(r"\d{16}", nik):
        return None
    try:
        born = stdnum_nik.get_birth_date(nik)
    except (ValidationError, ValueError):
        return None
    coded_day = int(nik[6:8])
    if not (1 <= coded_day <= 31 or 41 <= coded_day <= 71):  # stdnum takes the day modulo 40
        return None
    sex = "F" if coded_day > 40 else "M"
    return born.day, born.month, born.year % 100, sex


def _nik_birth_check(facts: IdentityFacts) -> FieldCheck:
    encoded = nik_birth(facts.claim_nik)
    shown_nik = f"{encoded[0]:02d}-{encoded[1]:02d}-{encoded[2]:02d} ({encoded[3]})" if encoded else None
    ktp = facts.ktp_birth_date
    shown_ktp = f"{_iso(ktp)} ({facts.ktp_sex or '?'})" if ktp else None
    values = (("nik", shown_nik), ("ktp", shown_ktp))
    label = "birth date and sex encoded in the NIK"
    if encoded is None or ktp is None:
        return FieldCheck(
            "nik_birth_date",
            UNKNOWN,
            values,
            f"Cannot compare the {label} ({'NIK not decodable' if encoded is None else 'no KTP record'}).",
        )
    day, month, year, sex = encoded
    same = (day, month, year) == (ktp.day, ktp.month, ktp.year % 100) and (facts.ktp_sex in (None, sex))
    if same:
        return FieldCheck("nik_birth_date", MATCH, values, f"The {label} agree with the KTP.")
    return FieldCheck("nik_birth_date", MISMATCH, values, f"The {label} differ from the KTP record.")


def _account(a: BankAccount | None) -> str | None:
    return f"{a.bank_code}/{a.account_number}" if a else None


def check_fields(facts: IdentityFacts) -> list[FieldCheck]:
    claim_account = facts.claim_account
    return [
        _compare(
            "full_name",
            [("ktp", facts.ktp_name), ("card", facts.card_name), ("profile", facts.profile_name)],
            key=normalised_name,
            what="full name",
        ),
        _compare("birth_date", [("ktp", _iso(facts.ktp_birth_date)), ("card", _iso(facts.card_birth_date))]),
        _compare("nik", [("claim", facts.claim_nik), ("card", facts.card_nik)], what="NIK"),
        _nik_birth_check(facts),
        _compare(
            "bank_account_holder_name",
            [("bank_inquiry", claim_account.inquiry_name if claim_account else None), ("ktp", facts.ktp_name)],
            key=normalised_name,
            what="bank account holder's name",
        ),
        _compare(
            "bank_account",
            [("claim", _account(claim_account)), ("profile", _account(facts.current_account))],
            what="bank account the claim pays to",
        ),
    ]


def mismatched_fields(checks: list[FieldCheck]) -> list[str]:
    return [c.field for c in checks if c.result == MISMATCH]
