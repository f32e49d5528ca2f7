"""A member's profile as the app shows it, assembled from where each fact came from.

Sources (provenance): `registry` is the population registry (Dukcapil, the KTP),
`employer` the membership record an employer reported (one per KPJ card),
`member` what the member typed (at registration or in a data update), `bank`
the holder name the bank's account inquiry answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .banks import BANK_NAMES
from .names import NameMatch, compare_names

REGISTRY, EMPLOYER, MEMBER, BANK = "registry", "employer", "member", "bank"

WHERE_TO_CORRECT = {
    REGISTRY: "if your KTP itself is wrong, have it corrected at the Dukcapil office",
    EMPLOYER: "ask your employer (HRD) to correct the membership data reported to BPJS Ketenagakerjaan",
    MEMBER: "correct it in a data update (pengkinian data) in the app",
    BANK: "ask your bank to correct the account holder name, or register an account in your KTP name",
}

Doc = Mapping[str, Any]


def card_view(card: Doc) -> dict[str, Any]:
    ended = card.get("ended_on") is not None
    return {
        "kpj": card["_id"],
        "employer_id": card.get("employer_id"),
        "employer_name": card.get("employer_name"),
        "registered_on": card.get("registered_on"),
        "status": "ended" if ended else "active",
        "ended_on": card.get("ended_on"),
        "end_cause": card.get("end_cause"),
        "source": EMPLOYER,
    }


def full_name(person: Doc, cards: list[Doc]) -> tuple[str | None, str | None]:
    """The name of record: the KTP's, else the first card's, else what the member typed."""
    ktp = person.get("ktp") or {}
    if ktp.get("full_name"):
        return ktp["full_name"], REGISTRY
    named = [c for c in cards if c.get("full_name")]
    if named:
        return named[0]["full_name"], EMPLOYER
    account = person.get("account") or {}
    if account.get("full_name"):
        return account["full_name"], MEMBER
    return None, None


def contact(person: Doc) -> dict[str, Any]:
    entered = (person.get("entered") or {}).get("contact")
    if entered:
        return {
            "email": entered.get("email"),
            "phone": entered.get("phone"),
            "source": MEMBER,
            "entered_in": "data_update",
            "updated_at": entered.get("at"),
        }
    account = person.get("account") or {}
    return {
        "email": account.get("email"),
        "phone": account.get("phone"),
        "source": MEMBER if account else None,
        "entered_in": "registration" if account else None,
        "updated_at": account.get("registered_at"),
    }


def bank_account(person: Doc) -> dict[str, Any] | None:
    account = (person.get("entered") or {}).get("bank_account")
    if not account:
        return None
    return {**account, "bank_name": BANK_NAMES.get(account.get("bank_code", "")), "source": MEMBER}


_POPULATION_FIELDS = ("kk_number", "birth_place", "address")


def population(nik: str, person: Doc) -> dict[str, Any] | None:
    """KTP data from the registry, with what the member entered taking precedence field by field."""
    ktp = person.get("ktp") or {}
    entered = (person.get("entered") or {}).get("population") or {}
    if not ktp and not entered:
        return None
    view: dict[str, Any] = {"nik": nik}
    provenance: dict[str, str] = {"nik": REGISTRY if ktp else MEMBER}
    for name in ("full_name", "birth_date", "sex"):
        if ktp.get(name) is not None:
            view[name], provenance[name] = ktp[name], REGISTRY
    for name in _POPULATION_FIELDS:
        if entered.get(name):
            view[name], provenance[name] = entered[name], MEMBER
        elif ktp.get(name):
            view[name], provenance[name] = ktp[name], REGISTRY
    if entered.get("mother_maiden_name"):
        view["mother_maiden_name"], provenance["mother_maiden_name"] = entered["mother_maiden_name"], MEMBER
    view["provenance"] = provenance
    view["registry_recorded_at"] = ktp.get("recorded_at")
    return view


def completeness(person: Doc) -> list[dict[str, str]]:
    """What a JHT claim still needs from the profile (NPWP over the threshold is the claims service's call)."""
    needs = []
    if not (person.get("data_update") or {}).get("completed"):
        needs.append({"item": "data_update", "message": "complete a data update (pengkinian data)"})
    if not (person.get("entered") or {}).get("bank_account"):
        needs.append({"item": "bank_account", "message": "register a bank account in your own name"})
    current = contact(person)
    if not current.get("email") or not current.get("phone"):
        needs.append({"item": "contact", "message": "give a mobile number and an e-mail address"})
    return needs


def _value(source: str, where: str, value: Any) -> dict[str, Any]:
    return {"source": source, "where": where, "value": value}


def _card_where(card: Doc) -> str:
    return f"KPJ card {card['_id']} ({card.get('employer_name') or 'employer'})"


def _field_mismatch(field: str, values: list[dict[str, Any]], is_name: bool) -> dict[str, Any] | None:
    values = [v for v in values if v["value"]]
    if len(values) < 2:
        return None
    reference, others = values[0], values[1:]
    differences = []
    for other in others:
        if is_name:
            match = compare_names(reference["value"], other["value"])
            if match is NameMatch.SAME:
                continue
            kind = "abbreviation" if match is NameMatch.EQUIVALENT else "different"
        else:
            if str(reference["value"]).strip().upper() == str(other["value"]).strip().upper():
                continue
            kind = "different"
        differences.append({**other, "kind": kind, "how_to_correct": WHERE_TO_CORRECT[other["source"]]})
    if not differences:
        return None
    places = ", ".join(d["where"] for d in differences)
    return {
        "field": field,
        "reference": reference,
        "differences": differences,
        "message": f"{field} on {places} differs from {reference['where']}",
    }


def mismatches(person: Doc, cards: list[Doc]) -> list[dict[str, Any]]:
    """Field-by-field differences between the KTP, each card and what the member entered.

    Claims are refused when these differ, so the member learns which record to
    correct, and where, before submitting one. The KTP is the reference when known.
    """
    ktp = person.get("ktp") or {}
    account = person.get("account") or {}
    entered = person.get("entered") or {}
    ktp_where = "KTP (population registry)"
    names = []
    dates = []
    places = []
    if ktp:
        names.append(_value(REGISTRY, ktp_where, ktp.get("full_name")))
        dates.append(_value(REGISTRY, ktp_where, ktp.get("birth_date")))
        places.append(_value(REGISTRY, ktp_where, ktp.get("birth_place")))
    for card in cards:
        names.append(_value(EMPLOYER, _card_where(card), card.get("full_name")))
        dates.append(_value(EMPLOYER, _card_where(card), card.get("birth_date")))
    names.append(_value(MEMBER, "your app account", account.get("full_name")))
    bank = entered.get("bank_account") or {}
    names.append(_value(BANK, "your bank account", bank.get("inquiry_name")))
    places.append(_value(MEMBER, "your data update", (entered.get("population") or {}).get("birth_place")))
    found = [
        _field_mismatch("full_name", names, is_name=True),
        _field_mismatch("birth_date", dates, is_name=False),
        _field_mismatch("birth_place", places, is_name=False),
    ]
    return [m for m in found if m is not None]


def profile_view(nik: str, member_id: str, person: Doc, cards: list[Doc]) -> dict[str, Any]:
    entered = person.get("entered") or {}
    name, name_source = full_name(person, cards)
    npwp = entered.get("npwp")
    additional = entered.get("additional")
    emergency = entered.get("emergency_contact")
    update = person.get("data_update") or {}
    return {
        "member_id": member_id,
        "nik": nik,
        "full_name": {"value": name, "source": name_source},
        "cards": [card_view(c) for c in cards],
        "contact": contact(person),
        "npwp": {**npwp, "source": MEMBER} if npwp else None,
        "bank_account": bank_account(person),
        "population": population(nik, person),
        "additional": {**additional, "source": MEMBER} if additional else None,
        "emergency_contact": {**emergency, "source": MEMBER} if emergency else None,
        "data_update": {
            "completed": bool(update.get("completed")),
            "update_id": update.get("update_id"),
            "completed_at": update.get("at"),
        },
        "completeness": completeness(person),
        "mismatches": mismatches(person, cards),
    }
