"""A member's app account and what a registration must carry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from jmo_shared.errors import FieldError

from .contact import normalise_email, normalise_phone
from .passwords import PasswordPolicy
from .registry import validate_nik

_KPJ = re.compile(r"^\d{11}$")


@dataclass(frozen=True)
class Registration:
    """What the member typed, already in canonical form."""

    nik: str
    kpj: str
    full_name: str
    birth_date: date
    email: str
    phone: str
    password: str


@dataclass(frozen=True)
class Account:
    member_id: str
    nik: str
    email: str
    phone: str
    full_name: str
    birth_date: date
    kpj_numbers: tuple[str, ...]
    password_hash: str
    created_at: datetime
    # None until the member typed the code we sent there.
    email_confirmed_at: datetime | None = None
    phone_confirmed_at: datetime | None = None
    # After an account recovery: money may not be redirected (bank account change) before this.
    restricted_until: datetime | None = None

    def contact(self, channel: str) -> str:
        return self.email if channel == "email" else self.phone

    def confirmed(self, channel: str) -> bool:
        return (self.email_confirmed_at if channel == "email" else self.phone_confirmed_at) is not None

    def confirmed_contacts(self) -> list[tuple[str, str]]:
        """(channel, address) of every contact the member proved they receive: where secrets may go."""
        return [(ch, self.contact(ch)) for ch in ("email", "phone") if self.confirmed(ch)]


def recovery_restriction(now: datetime, cooling_off: timedelta) -> datetime:
    """Until when a recovered account may not redirect money: whoever recovered it may not be the member."""
    return now + cooling_off


def parse_registration(
    *,
    nik: str,
    kpj: str,
    full_name: str,
    birth_date: date,
    email: str,
    phone: str,
    password: str,
    policy: PasswordPolicy,
) -> tuple[Registration | None, list[FieldError]]:
    """Canonical registration data, or every field error at once (so the app can mark them all)."""
    errors: list[FieldError] = []
    valid_nik = validate_nik(nik)
    if valid_nik is None:
        errors.append(
            FieldError("nik", "invalid_nik", "not a valid NIK: 16 digits with a known region code and birth date")
        )
    kpj_clean = kpj.strip()
    if not _KPJ.match(kpj_clean):
        errors.append(FieldError("kpj", "invalid_kpj", "a KPJ membership number has 11 digits"))
    name = " ".join(full_name.split())
    if not name:
        errors.append(FieldError("full_name", "required", "enter your name as written on your KTP"))
    email_clean = normalise_email(email)
    if email_clean is None:
        errors.append(FieldError("email", "invalid_email", "not a valid e-mail address"))
    phone_clean = normalise_phone(phone)
    if phone_clean is None:
        errors.append(FieldError("phone", "invalid_phone", "an Indonesian mobile number, e.g. +6281234567890"))
    errors += policy.problems(password, nik=valid_nik or nik.strip(), email=email_clean or email)
    if errors:
        return None, errors
    assert valid_nik is not None and email_clean is not None and phone_clean is not None
    return Registration(valid_nik, kpj_clean, name, birth_date, email_clean, phone_clean, password), []
