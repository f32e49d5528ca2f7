"""E-mail addresses and Indonesian mobile numbers as the account stores them."""

from __future__ import annotations

import re

# Deliverability is proven by the mail itself; this only refuses what cannot be an address.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# +62 8xx: Indonesian mobile numbers are 10-13 digits written nationally (08...).
_MOBILE = re.compile(r"^\+628\d{7,11}$")
_SEPARATORS = re.compile(r"[\s().-]")


def normalise_email(email: str) -> str | None:
    """The address in the one form we store and compare (lower case), or None if malformed."""
    candidate = email.strip()
    if len(candidate) > 254 or not _EMAIL.match(candidate) or ".." in candidate:
        return None
    return candidate.lower()


def email_local_part(email: str) -> str:
    return email.partition("@")[0]


def normalise_phone(phone: str) -> str | None:
    """An Indonesian mobile number in E.164 (+628...), from the ways members type it."""
    digits = _SEPARATORS.sub("", phone.strip())
    if digits.startswith("08"):
        digits = "+62" + digits[1:]
    elif digits.startswith("628"):
        digits = "+" + digits
    return digits if _MOBILE.match(digits) else None


def normalise_contact(channel: str, value: str) -> str | None:
    return normalise_email(value) if channel == "email" else normalise_phone(value)


def mask_contact(channel: str, value: str) -> str:
    """Enough to recognise one's own address ("bu***@example.co.id", "+62812****7890"), not to learn it."""
    if channel == "email":
        local, _, domain = value.partition("@")
        return f"{local[:2]}***@{domain}"
    return value[:6] + "*" * max(len(value) - 10, 2) + value[-4:]
