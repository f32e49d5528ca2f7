"""Request and response shapes of the profile API.

Request fields are optional here on purpose: the domain checks presence and
format so that every missing or malformed field comes back with its own code,
and a step entered out of order is refused before its contents are judged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jmo_shared.face_assertion import VERIFICATION_ID_MAX_LENGTH
from jmo_shared.paging import Page

Text = str | None


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """An answer model's examples, as the OpenAPI document shows them (checked against the model in tests)."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class _Body(BaseModel):
    # Numbers typed into text fields (RT "3", an account number) are read as text.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, str_max_length=300)


class MembershipStep(_Body):
    confirmed: bool | None = Field(default=None, description="true once the member checked the shown cards and name")


class FaceStep(_Body):
    model_config = ConfigDict(str_max_length=VERIFICATION_ID_MAX_LENGTH)

    verification_id: Text = Field(
        default=None,
        description="from identity's POST /v1/biometrics/verifications (purpose profile_update), unchanged",
    )


class ContactStep(_Body):
    phone: Text = Field(default=None, examples=["+6281234567890"])
    email: Text = Field(default=None, examples=["budi@example.id"])


class TaxBankStep(_Body):
    npwp: Text = Field(default=None, description="16 digits (your NIK, or 0 + the old 15-digit NPWP); optional")
    bank_code: Text = Field(default=None, examples=["014"])
    account_number: Text = Field(default=None, examples=["1234567890"])
    account_name: Text = Field(default=None, description="the account holder's name as the bank book shows it")


class AddressIn(_Body):
    street: Text = None
    rt: Text = None
    rw: Text = None
    village: Text = None
    district: Text = None
    regency: Text = None
    province: Text = None
    province_code: Text = Field(default=None, description="2 digits, the NIK's first two")
    regency_code: Text = Field(default=None, description="4 digits, the NIK's first four")
    postal_code: Text = None


class PopulationStep(_Body):
    nik: Text = None
    kk_number: Text = None
    address: AddressIn | None = None
    birth_place: Text = None
    mother_maiden_name: Text = None


class EmergencyContactIn(_Body):
    name: Text = None
    relation: Text = Field(default=None, description="spouse, parent, child, sibling, relative, friend or other")
    phone: Text = None


class AdditionalStep(_Body):
    marital_status: Text = Field(default=None, description="single, married, divorced or widowed")
    education: Text = Field(default=None, description="none, sd, smp, sma, d1-d4, s1-s3")
    occupation: Text = None
    emergency_contact: EmergencyContactIn | None = None


class StepStatus(BaseModel):
    step: Literal["membership", "face", "contact", "tax-bank", "population", "additional"]
    status: Literal["completed", "current", "pending"]


_STEPS_DONE: list[dict[str, Any]] = [
    {"step": step, "status": "completed"}
    for step in ("membership", "face", "contact", "tax-bank", "population", "additional")
]
UPDATE_ID = "8d2f4b6a-1c3e-4a5b-9d7f-0e1a2b3c4d5e"


class UpdateSummary(BaseModel):
    model_config = _examples(
        {
            "update_id": UPDATE_ID,
            "status": "open",
            "steps": [
                {"step": "membership", "status": "completed"},
                {"step": "face", "status": "completed"},
                {"step": "contact", "status": "current"},
                {"step": "tax-bank", "status": "pending"},
                {"step": "population", "status": "pending"},
                {"step": "additional", "status": "pending"},
            ],
            "next_step": "contact",
            "created_at": "2026-03-01T09:00:00Z",
            "confirmed_at": None,
        }
    )

    update_id: str
    status: Literal["open", "confirmed"]
    steps: list[StepStatus]
    next_step: str | None
    created_at: datetime
    confirmed_at: datetime | None


class UpdateReview(UpdateSummary):
    model_config = _examples(
        {
            "update_id": UPDATE_ID,
            "status": "open",
            "steps": _STEPS_DONE,
            "next_step": None,
            "created_at": "2026-03-01T09:00:00Z",
            "confirmed_at": None,
            "entered": {
                "contact": {"phone": "+6281234567890", "email": "budi@example.id"},
                "tax-bank": {
                    "npwp": "3171011708450001",
                    "bank_code": "014",
                    "account_number": "1234567890",
                    "account_name": "BUDI SANTOSO",
                    "inquiry_name": "BUDI SANTOSO",
                    "inquired_at": "2026-03-01T09:12:30Z",
                    "name_match": "same",
                },
                "additional": {
                    "marital_status": "married",
                    "education": "sma",
                    "occupation": "Operator produksi",
                    "emergency_contact": {"name": "SRI WAHYUNI", "relation": "spouse", "phone": "+6281298765432"},
                },
            },
            "changes": ["phone", "npwp", "bank_account", "marital_status", "emergency_contact"],
        }
    )

    entered: dict[str, dict]
    changes: list[str] | None = Field(
        default=None, description="fields confirming would change (once every step is done)"
    )


class ConfirmResult(BaseModel):
    model_config = _examples(
        {
            "update_id": UPDATE_ID,
            "status": "confirmed",
            "confirmed_at": "2026-03-01T09:20:00Z",
            "data_update_completed": True,
            "changed_fields": ["phone", "npwp", "bank_account"],
            "bank_account_changed": True,
        }
    )

    update_id: str
    status: Literal["confirmed"]
    confirmed_at: datetime
    data_update_completed: bool
    changed_fields: list[str]
    bank_account_changed: bool


# --- the profile ------------------------------------------------------------------------------------

Source = Literal["registry", "employer", "member", "bank"]


class SourcedName(BaseModel):
    value: str | None
    source: Source | None = Field(description="registry (KTP), employer (a card), member (typed in the app)")


class ProfileCard(BaseModel):
    kpj: str
    employer_id: str | None
    employer_name: str | None
    registered_on: str | None = Field(description="a date, YYYY-MM-DD")
    status: Literal["active", "ended"]
    ended_on: str | None = Field(description="a date, YYYY-MM-DD")
    end_cause: str | None
    source: Source


class Contact(BaseModel):
    email: str | None
    phone: str | None
    source: Source | None
    entered_in: Literal["registration", "data_update"] | None
    updated_at: datetime | None


class Npwp(BaseModel):
    value: str | None
    at: datetime | None = None
    source: Source


class ProfileBankAccount(BaseModel):
    bank_code: str | None
    bank_name: str | None
    account_number: str | None
    account_name: str | None
    inquiry_name: str | None = Field(default=None, description="the holder's name as the bank answered it")
    verified_at: datetime | None = None
    changed_at: datetime | None = None
    face_verification_id: str | None = None
    update_id: str | None = None
    source: Source


class ProfileAddress(BaseModel):
    street: str | None = None
    rt: str | None = None
    rw: str | None = None
    village: str | None = None
    district: str | None = None
    regency: str | None = None
    province: str | None = None
    province_code: str | None = None
    regency_code: str | None = None
    postal_code: str | None = None


class Population(BaseModel):
    nik: str
    full_name: str | None = None
    birth_date: str | None = Field(default=None, description="a date, YYYY-MM-DD")
    sex: str | None = None
    kk_number: str | None = None
    birth_place: str | None = None
    address: ProfileAddress | None = None
    mother_maiden_name: str | None = None
    provenance: dict[str, Source] = Field(description="where each field above came from")
    registry_recorded_at: datetime | None


class Additional(BaseModel):
    marital_status: str | None = None
    education: str | None = None
    occupation: str | None = None
    at: datetime | None = None
    source: Source


class EmergencyContact(BaseModel):
    name: str | None = None
    relation: str | None = None
    phone: str | None = None
    at: datetime | None = None
    source: Source


class DataUpdateState(BaseModel):
    completed: bool
    update_id: str | None
    completed_at: datetime | None


class Need(BaseModel):
    item: Literal["data_update", "bank_account", "contact"]
    message: str


class RecordValue(BaseModel):
    source: Source
    where: str
    value: str | None


class RecordDifference(RecordValue):
    kind: Literal["abbreviation", "different"]
    how_to_correct: str


class Mismatch(BaseModel):
    field: str
    reference: RecordValue
    differences: list[RecordDifference]
    message: str


class ProfileView(BaseModel):
    """The member's profile: each fact with where it came from, what a claim still needs, and where records differ."""

    model_config = _examples(
        {
            "member_id": "0f4c2a9e8b7d4c1a9e3f5b6d7c8a9e0f",
            "nik": "3171011708450001",
            "full_name": {"value": "BUDI SANTOSO", "source": "registry"},
            "cards": [
                {
                    "kpj": "12345678901",
                    "employer_id": "EMP-0042",
                    "employer_name": "PT Maju Bersama",
                    "registered_on": "2015-01-01",
                    "status": "ended",
                    "ended_on": "2026-01-31",
                    "end_cause": "resignation",
                    "source": "employer",
                }
            ],
            "contact": {
                "email": "budi@example.id",
                "phone": "+6281234567890",
                "source": "member",
                "entered_in": "registration",
                "updated_at": "2026-02-20T07:45:00Z",
            },
            "npwp": None,
            "bank_account": None,
            "population": {
                "nik": "3171011708450001",
                "full_name": "BUDI SANTOSO",
                "birth_date": "1985-08-17",
                "sex": "M",
                "kk_number": "3171012345678901",
                "birth_place": "JAKARTA",
                "address": {
                    "street": "Jl. Merdeka No. 10",
                    "rt": "003",
                    "rw": "005",
                    "village": "GAMBIR",
                    "district": "GAMBIR",
                    "regency": "KOTA JAKARTA PUSAT",
                    "province": "DKI JAKARTA",
                    "province_code": "31",
                    "regency_code": "3171",
                    "postal_code": "10110",
                },
                "mother_maiden_name": None,
                "provenance": {
                    "nik": "registry",
                    "full_name": "registry",
                    "birth_date": "registry",
                    "sex": "registry",
                    "kk_number": "registry",
                    "birth_place": "registry",
                    "address": "registry",
                },
                "registry_recorded_at": "2026-02-20T07:40:00Z",
            },
            "additional": None,
            "emergency_contact": None,
            "data_update": {"completed": False, "update_id": None, "completed_at": None},
            "completeness": [
                {"item": "data_update", "message": "complete a data update (pengkinian data)"},
                {"item": "bank_account", "message": "register a bank account in your own name"},
            ],
            "mismatches": [
                {
                    "field": "full_name",
                    "reference": {"source": "registry", "where": "KTP (population registry)", "value": "BUDI SANTOSO"},
                    "differences": [
                        {
                            "source": "employer",
                            "where": "KPJ card 12345678901 (PT Maju Bersama)",
                            "value": "BUDI SANTOSA",
                            "kind": "different",
                            "how_to_correct": "ask your employer (HRD) to correct the membership data reported to "
                            "BPJS Ketenagakerjaan",
                        }
                    ],
                    "message": "full_name on KPJ card 12345678901 (PT Maju Bersama) differs from "
                    "KTP (population registry)",
                }
            ],
        }
    )

    member_id: str
    nik: str
    full_name: SourcedName
    cards: list[ProfileCard]
    contact: Contact
    npwp: Npwp | None
    bank_account: ProfileBankAccount | None
    population: Population | None
    additional: Additional | None
    emergency_contact: EmergencyContact | None
    data_update: DataUpdateState
    completeness: list[Need] = Field(description="what a JHT claim still needs from the profile")
    mismatches: list[Mismatch] = Field(description="field-by-field differences between the records")


# --- the bank account's audit trail ---------------------------------------------------------------------


class MaskedBankAccount(BaseModel):
    bank_code: str | None
    bank_name: str | None
    account_number: str | None = Field(description="masked: only the last digits show")
    account_name: str | None
    inquiry_name: str | None


class BankAccountChange(BaseModel):
    at: datetime
    update_id: str
    face_verification_id: str | None
    old: MaskedBankAccount | None = Field(description="null for the member's first account")
    new: MaskedBankAccount | None


BANK_ACCOUNT_CHANGE_EXAMPLE: dict[str, Any] = {
    "at": "2026-03-01T09:20:00Z",
    "update_id": UPDATE_ID,
    "face_verification_id": "2b7c9d1e3f4a4b6c8d9e0f1a2b3c4d5e",
    "old": {
        "bank_code": "009",
        "bank_name": "BNI",
        "account_number": "******6789",
        "account_name": "BUDI SANTOSO",
        "inquiry_name": "BUDI SANTOSO",
    },
    "new": {
        "bank_code": "014",
        "bank_name": "BCA",
        "account_number": "******7890",
        "account_name": "BUDI SANTOSO",
        "inquiry_name": "BUDI SANTOSO",
    },
}


class BankAccountChangePage(Page[BankAccountChange]):
    """The bank account's changes, newest first, one page at a time (account numbers masked)."""

    model_config = _examples(
        {
            "items": [BANK_ACCOUNT_CHANGE_EXAMPLE],
            "page": 1,
            "page_size": 20,
            "total": 1,
            "changes": [BANK_ACCOUNT_CHANGE_EXAMPLE],
        }
    )

    changes: list[BankAccountChange] = Field(
        deprecated=True, description="the same page's changes as `items` (kept for older app versions): read `items`"
    )
