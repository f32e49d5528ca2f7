"""Events published by systems outside this project (keyed by NIK)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..topics import CORE_MEMBERSHIP, POPULATION_RECORDS
from .base import EventData

NIK = Field(pattern=r"^\d{16}$")
KPJ = Field(pattern=r"^\d{11}$")


class MemberRegistered(EventData):
    event_type = "jht.core.MemberRegistered.v1"
    topic = CORE_MEMBERSHIP
    key_field = "nik"
    summary = "An employer registered a worker: one event per KPJ card."

    nik: str = NIK
    kpj: str = KPJ
    full_name: str
    birth_date: date
    employer_id: str
    employer_name: str
    registered_on: date


class ContributionPosted(EventData):
    event_type = "jht.core.ContributionPosted.v1"
    topic = CORE_MEMBERSHIP
    key_field = "kpj"
    summary = "A month's JHT contribution (employer 3.7% + worker 2%) posted to a KPJ card."

    kpj: str = KPJ
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    wage_idr: int = Field(ge=0)
    employer_idr: int = Field(ge=0)
    worker_idr: int = Field(ge=0)
    posted_at: datetime
    # Publishers key this event by NIK; the field is optional for older producers.
    nik: str | None = Field(default=None, pattern=r"^\d{16}$")

    def key(self) -> str:
        return self.nik or self.kpj


class EmploymentEnded(EventData):
    event_type = "jht.core.EmploymentEnded.v1"
    topic = CORE_MEMBERSHIP
    key_field = "kpj"
    summary = "The employment behind a KPJ card ended."

    kpj: str = KPJ
    ended_on: date
    cause: Literal["resignation", "termination", "contract_end", "retirement"]
    letter_date: date
    nik: str | None = Field(default=None, pattern=r"^\d{16}$")

    def key(self) -> str:
        return self.nik or self.kpj


class Address(BaseModel):
    street: str = ""
    rt: str = ""
    rw: str = ""
    village: str = ""
    district: str = ""
    regency: str = ""
    province: str = ""
    province_code: str = ""
    regency_code: str = ""
    postal_code: str = ""


class PersonRecorded(EventData):
    event_type = "jht.population.PersonRecorded.v1"
    topic = POPULATION_RECORDS
    key_field = "nik"
    summary = "The population registry (Dukcapil) record of a person, with the KTP photo."

    nik: str = NIK
    kk_number: str = Field(pattern=r"^\d{16}$")
    full_name: str
    birth_place: str
    birth_date: date
    sex: Literal["M", "F"]
    address: Address = Field(default_factory=Address)
    photo_jpeg_b64: str = ""
