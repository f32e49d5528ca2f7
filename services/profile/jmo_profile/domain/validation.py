"""What a member may enter in each step of the pengkinian data wizard.

Every check collects all the fields to correct at once (the app shows them
together) and returns cleaned values: E.164 phones, 16-digit NPWPs, upper-case
codes. Formats come from domain-rules.md; identifiers are checked with
python-stdnum rather than hand-written rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.id import npwp as npwp_number

from .errors import Invalid

MARITAL_STATUSES = ("single", "married", "divorced", "widowed")
EDUCATION_LEVELS = ("none", "sd", "smp", "sma", "d1", "d2", "d3", "d4", "s1", "s2", "s3")
RELATIONS = ("spouse", "parent", "child", "sibling", "relative", "friend", "other")

# Indonesian mobile numbers are 08xx plus 6-9 more digits domestically: +62 8 and 8-11 digits.
_MOBILE = re.compile(r"^\+628\d{8,11}$")
_PHONE_NOISE = re.compile(r"[\s\-().]")
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# Names as written on a KTP: letters, spaces and the punctuation names carry.
_PERSON_NAME = re.compile(r"^[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F .,'\u2019`-]*$")
_PLACE_NAME = re.compile(r"^[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F0-9 .,'()/-]*$")
_DIGITS = re.compile(r"^\d+$")


class Checker:
    """Collects field errors; `prefix` names nested objects (address.rt)."""

    def __init__(self, prefix: str = "") -> None:
        self.errors: list[Invalid] = []
        self._prefix = prefix

    def fail(self, field: str, code: str, message: str) -> None:
        self.errors.append(Invalid(f"{self._prefix}{field}", code, message))

    def required_text(self, body: Mapping[str, Any], field: str, max_len: int = 100) -> str | None:
        value = body.get(field)
        if value is None or not str(value).strip():
            self.fail(field, "required", f"{field} is required")
            return None
        text = " ".join(str(value).split())
        if len(text) > max_len:
            self.fail(field, "too_long", f"{field} has at most {max_len} characters")
            return None
        return text

    def person_name(self, body: Mapping[str, Any], field: str) -> str | None:
        text = self.required_text(body, field, max_len=100)
        if text is not None and not _PERSON_NAME.match(text):
            self.fail(field, "invalid_name", f"{field} may hold only letters, spaces and . , ' -")
            return None
        return text

    def place_name(self, body: Mapping[str, Any], field: str, max_len: int = 100) -> str | None:
        text = self.required_text(body, field, max_len=max_len)
        if text is not None and not _PLACE_NAME.match(text):
            self.fail(field, "invalid_place", f"{field} is not a place name")
            return None
        return text

    def choice(self, body: Mapping[str, Any], field: str, allowed: tuple[str, ...]) -> str | None:
        value = body.get(field)
        if value is None or not str(value).strip():
            self.fail(field, "required", f"{field} is required")
            return None
        cleaned = str(value).strip().lower()
        if cleaned not in allowed:
            self.fail(field, "not_allowed", f"{field} must be one of: {', '.join(allowed)}")
            return None
        return cleaned

    def digits(self, body: Mapping[str, Any], field: str, lengths: range, code: str, what: str) -> str | None:
        value = body.get(field)
        if value is None or not str(value).strip():
            self.fail(field, "required", f"{field} is required")
            return None
        text = str(value).strip()
        if not _DIGITS.match(text) or len(text) not in lengths:
            self.fail(field, code, what)
            return None
        return text


def normalise_phone(raw: str) -> str:
    """08.. and 628.. as people type them, in E.164 (+628..)."""
    phone = _PHONE_NOISE.sub("", raw.strip())
    if phone.startswith("0"):
        phone = "+62" + phone[1:]
    elif phone.startswith("62"):
        phone = "+" + phone
    return phone


def check_phone(check: Checker, body: Mapping[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None or not str(value).strip():
        check.fail(field, "required", f"{field} is required")
        return None
    phone = normalise_phone(str(value))
    if not _MOBILE.match(phone):
        check.fail(field, "invalid_phone", "an Indonesian mobile number in E.164 form is required, e.g. +6281234567890")
        return None
    return phone


def check_email(check: Checker, body: Mapping[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None or not str(value).strip():
        check.fail(field, "required", f"{field} is required")
        return None
    email = str(value).strip()
    local, _, domain = email.rpartition("@")
    if len(email) > 254 or len(local) > 64 or not _EMAIL.match(email):
        check.fail(field, "invalid_email", "not a valid e-mail address")
        return None
    return f"{local}@{domain.lower()}"


def check_npwp(check: Checker, raw: object, own_nik: str) -> str | None:
    """An NPWP in its 16-digit form, or None when the member has none (it is optional here)."""
    if raw is None or not str(raw).strip():
        return None
    try:
        number = npwp_number.validate(str(raw))
    except StdnumError:
        check.fail("npwp", "invalid_npwp", "not a valid NPWP (16 digits: your NIK, or 0 + the old 15-digit number)")
        return None
    if len(number) == 15:
        number = "0" + number
    # Since 2024 a resident's NPWP is their NIK: somebody else's NIK is not the member's tax number.
    if not number.startswith("0") and number != own_nik:
        check.fail("npwp", "npwp_not_own_nik", "an NPWP in NIK form must be your own NIK")
        return None
    return number


def check_bank_account(
    check: Checker, body: Mapping[str, Any], lengths: Mapping[str, int]
) -> tuple[str | None, str | None]:
    code = body.get("bank_code")
    bank_code = str(code).strip() if code is not None else ""
    if not bank_code:
        check.fail("bank_code", "required", "bank_code is required")
    elif bank_code not in lengths:
        check.fail("bank_code", "unknown_bank", "not a partner bank's 3-digit code")
        bank_code = ""
    raw = body.get("account_number")
    number = _PHONE_NOISE.sub("", str(raw)) if raw is not None else ""
    if not number:
        check.fail("account_number", "required", "account_number is required")
        return bank_code or None, None
    if not _DIGITS.match(number):
        check.fail("account_number", "invalid_account_number", "an account number has digits only")
        return bank_code or None, None
    if bank_code and len(number) != lengths[bank_code]:
        check.fail(
            "account_number", "invalid_account_length", f"account numbers at this bank have {lengths[bank_code]} digits"
        )
        return bank_code, None
    return bank_code or None, number


def check_region_codes(check: Checker, address: Mapping[str, Any], nik: str) -> tuple[str | None, str | None]:
    """Province (2 digits) and regency (4 digits, "31.71" accepted) must be those of the NIK."""
    province = str(address.get("province_code") or "").strip()
    regency = str(address.get("regency_code") or "").replace(".", "").strip()
    if not province:
        check.fail("province_code", "required", "province_code is required")
    elif not (_DIGITS.match(province) and len(province) == 2):
        check.fail("province_code", "invalid_province_code", "a province code has 2 digits")
        province = ""
    elif province != nik[:2]:
        check.fail("province_code", "province_code_mismatch", f"the province of your NIK is {nik[:2]}")
        province = ""
    if not regency:
        check.fail("regency_code", "required", "regency_code is required")
    elif not (_DIGITS.match(regency) and len(regency) == 4):
        check.fail("regency_code", "invalid_regency_code", "a regency code has 4 digits, e.g. 3171")
        regency = ""
    elif regency != nik[:4]:
        check.fail("regency_code", "regency_code_mismatch", f"the regency of your NIK is {nik[:4]}")
        regency = ""
    return province or None, regency or None


def check_address(check: Checker, body: Mapping[str, Any], nik: str) -> dict[str, str] | None:
    raw = body.get("address")
    if not isinstance(raw, Mapping):
        check.fail("address", "required", "address is required")
        return None
    inner = Checker(prefix="address.")
    street = inner.required_text(raw, "street", max_len=200)
    rt = inner.digits(raw, "rt", range(1, 4), "invalid_rt", "RT is 1-3 digits, e.g. 003")
    rw = inner.digits(raw, "rw", range(1, 4), "invalid_rw", "RW is 1-3 digits, e.g. 005")
    places = {f: inner.place_name(raw, f) for f in ("village", "district", "regency", "province")}
    province_code, regency_code = check_region_codes(inner, raw, nik)
    postal = inner.digits(raw, "postal_code", range(5, 6), "invalid_postal_code", "a postal code has 5 digits")
    check.errors.extend(inner.errors)
    fields = {
        "street": street,
        "rt": rt,
        "rw": rw,
        **places,
        "province_code": province_code,
        "regency_code": regency_code,
        "postal_code": postal,
    }
    # Every check that leaves a value out also records an error; the second test is for the type checker.
    present = {k: v for k, v in fields.items() if v is not None}
    if inner.errors or len(present) != len(fields):
        return None
    return present | {"rt": present["rt"].zfill(3), "rw": present["rw"].zfill(3)}


def contact_step(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[Invalid]]:
    check = Checker()
    phone = check_phone(check, body, "phone")
    email = check_email(check, body, "email")
    return {"phone": phone, "email": email}, check.errors


def tax_bank_step(
    body: Mapping[str, Any], nik: str, lengths: Mapping[str, int]
) -> tuple[dict[str, Any], list[Invalid]]:
    """What can be checked without asking the bank; the holder name comes from the inquiry."""
    check = Checker()
    npwp = check_npwp(check, body.get("npwp"), nik)
    bank_code, account_number = check_bank_account(check, body, lengths)
    account_name = check.person_name(body, "account_name")
    return (
        {"npwp": npwp, "bank_code": bank_code, "account_number": account_number, "account_name": account_name},
        check.errors,
    )


def population_step(body: Mapping[str, Any], nik: str) -> tuple[dict[str, Any], list[Invalid]]:
    check = Checker()
    given_nik = str(body.get("nik") or "").strip()
    if not given_nik:
        check.fail("nik", "required", "nik is required")
    elif given_nik != nik:
        check.fail("nik", "nik_mismatch", "this is not the NIK of your account")
    kk = check.digits(body, "kk_number", range(16, 17), "invalid_kk_number", "a KK number has 16 digits")
    address = check_address(check, body, nik)
    birth_place = check.place_name(body, "birth_place", max_len=60)
    mother = check.person_name(body, "mother_maiden_name")
    return (
        {
            "nik": nik,
            "kk_number": kk,
            "address": address,
            "birth_place": birth_place and birth_place.upper(),
            "mother_maiden_name": mother,
        },
        check.errors,
    )


def additional_step(body: Mapping[str, Any], member_phone: str | None) -> tuple[dict[str, Any], list[Invalid]]:
    check = Checker()
    marital = check.choice(body, "marital_status", MARITAL_STATUSES)
    education = check.choice(body, "education", EDUCATION_LEVELS)
    occupation = check.required_text(body, "occupation", max_len=100)
    raw = body.get("emergency_contact")
    emergency = None
    if not isinstance(raw, Mapping):
        check.fail("emergency_contact", "required", "emergency_contact is required")
    else:
        inner = Checker(prefix="emergency_contact.")
        name = inner.person_name(raw, "name")
        relation = inner.choice(raw, "relation", RELATIONS)
        phone = check_phone(inner, raw, "phone")
        # Whoever is called when the member cannot be reached must be somebody else.
        if phone is not None and phone == member_phone:
            inner.fail("phone", "same_as_member_phone", "the emergency contact needs a number other than yours")
        check.errors.extend(inner.errors)
        if not inner.errors:
            emergency = {"name": name, "relation": relation, "phone": phone}
    return (
        {"marital_status": marital, "education": education, "occupation": occupation, "emergency_contact": emergency},
        check.errors,
    )
