"""Request and response shapes of the profile API.

Request fields are optional here on purpose: the domain checks presence and
format so that every missing or malformed field comes back with its own code,
and a step entered out of order is refused before its contents are judged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jmo_shared.face_assertion import VERIFICATION_ID_MAX_LENGTH

Text = str | None


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


class UpdateSummary(BaseModel):
    update_id: str
    status: Literal["open", "confirmed"]
    steps: list[StepStatus]
    next_step: str | None
    created_at: datetime
    confirmed_at: datetime | None


class UpdateReview(UpdateSummary):
    entered: dict[str, dict]
    changes: list[str] | None = Field(
        default=None, description="fields confirming would change (once every step is done)"
    )


class ConfirmResult(BaseModel):
    update_id: str
    status: Literal["confirmed"]
    confirmed_at: datetime
    data_update_completed: bool
    changed_fields: list[str]
    bank_account_changed: bool
