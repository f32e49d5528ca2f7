"""What confirming a data update changes in the profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import profile as views
from .wizard import Update

Doc = Mapping[str, Any]

_BANK_IDENTITY = ("bank_code", "account_number")


@dataclass(frozen=True)
class Application:
    """The member-entered part of the profile after the update, and what differs from before."""

    entered: dict[str, Any]
    changed_fields: list[str]
    bank_account_changed: bool
    old_bank_account: dict[str, Any] | None
    new_bank_account: dict[str, Any]


def _current_population(person: Doc) -> dict[str, Any]:
    ktp = person.get("ktp") or {}
    entered = (person.get("entered") or {}).get("population") or {}
    return {
        name: entered.get(name) or ktp.get(name)
        for name in ("kk_number", "address", "birth_place", "mother_maiden_name")
    }


def _object_key(value: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not value:
        return ()
    # When it was entered is not part of what was entered.
    return tuple((k, str(value.get(k) or "").strip().upper()) for k in sorted(value) if k != "at")


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, Mapping) or isinstance(new, Mapping):
        return _object_key(old) != _object_key(new)
    return (old or None) != (new or None)


def plan(person: Doc, update: Update, now: datetime) -> Application:
    entered_before = dict(person.get("entered") or {})
    contact_before = views.contact(person)
    population_before = _current_population(person)
    additional_before = entered_before.get("additional") or {}
    emergency_before = entered_before.get("emergency_contact")
    bank_before = entered_before.get("bank_account")
    npwp_before = (entered_before.get("npwp") or {}).get("value")

    contact = update.data("contact")
    tax_bank = update.data("tax-bank")
    pop = update.data("population")
    extra = update.data("additional")
    face_id = update.data("face").get("verification_id")

    changed: list[str] = []
    for name in ("email", "phone"):
        if _differs(contact_before.get(name), contact.get(name)):
            changed.append(name)
    if _differs(npwp_before, tax_bank.get("npwp")):
        changed.append("npwp")

    bank_changed = bank_before is None or any(bank_before.get(k) != tax_bank.get(k) for k in _BANK_IDENTITY)
    new_bank = {
        "bank_code": tax_bank["bank_code"],
        "account_number": tax_bank["account_number"],
        "account_name": tax_bank["account_name"],
        "inquiry_name": tax_bank["inquiry_name"],
        "verified_at": tax_bank.get("inquired_at"),
        # The cooling-off for a changed account counts from the change, not from each update.
        "changed_at": now if bank_changed else (bank_before or {}).get("changed_at", now),
        "face_verification_id": face_id,
        "update_id": update.update_id,
    }
    if bank_changed or _differs((bank_before or {}).get("account_name"), new_bank["account_name"]):
        changed.append("bank_account")

    for name in ("kk_number", "address", "birth_place", "mother_maiden_name"):
        if _differs(population_before.get(name), pop.get(name)):
            changed.append(name)
    for name in ("marital_status", "education", "occupation"):
        if _differs(additional_before.get(name), extra.get(name)):
            changed.append(name)
    emergency = extra.get("emergency_contact") or {}
    if _differs(emergency_before, emergency):
        changed.append("emergency_contact")

    entered = {
        **entered_before,
        "contact": {"email": contact.get("email"), "phone": contact.get("phone"), "at": now},
        "npwp": {"value": tax_bank.get("npwp"), "at": now} if tax_bank.get("npwp") else None,
        "bank_account": new_bank,
        "population": {
            "kk_number": pop.get("kk_number"),
            "address": pop.get("address"),
            "birth_place": pop.get("birth_place"),
            "mother_maiden_name": pop.get("mother_maiden_name"),
            "at": now,
        },
        "additional": {name: extra.get(name) for name in ("marital_status", "education", "occupation")} | {"at": now},
        "emergency_contact": {**emergency, "at": now},
    }
    return Application(
        entered=entered,
        changed_fields=changed,
        bank_account_changed=bank_changed,
        old_bank_account=dict(bank_before) if bank_before else None,
        new_bank_account=new_bank,
    )
