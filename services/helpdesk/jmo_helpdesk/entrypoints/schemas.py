"""Request bodies and answers of the helpdesk API (each answer with an example a client can code against)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from jmo_shared.paging import Page

# Times are ISO-8601 strings as the service layer writes them (UTC, `+00:00`).
Time = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FileComplaint(_Body):
    category: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=10, max_length=4000)
    claim_id: str | None = Field(default=None, min_length=1, max_length=64)


class OfficerReply(_Body):
    text: str = Field(min_length=1, max_length=4000)


class CloseComplaint(_Body):
    resolution: str = Field(min_length=1, max_length=2000)


# --- places and programs ----------------------------------------------------------------

_PLACE = {
    "place_id": "KC-JKT-01",
    "kind": "office",
    "name": "Kantor Cabang Jakarta Kuningan",
    "address": "Jl. Rasuna Said Kav. 90",
    "province": "DKI Jakarta",
    "regency": "Jakarta Selatan",
    "location": {"lat": -6.2241, "lon": 106.8316},
    "phone": "+62215200001",
    "opening_hours": "Senin-Jumat 08:00-15:00",
    "services": ["klaim JHT", "pengkinian data", "penggabungan saldo"],
}


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class PlaceAnswer(BaseModel):
    """An office (kantor cabang) or a PLKK clinic (work-accident service centre)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PLACE]})

    place_id: str
    kind: str = Field(description="`office` or `plkk`")
    name: str
    address: str
    province: str
    regency: str
    location: Location
    phone: str = Field(description="empty when unknown")
    opening_hours: str = Field(description="empty when unknown")
    services: list[str]
    distance_km: float | None = Field(
        default=None, description="from the position searched from; only in a search by lat/lon"
    )


class PlacePage(Page[PlaceAnswer]):
    """Places by province, regency and name; nearest first (with `distance_km`) when searched by lat/lon."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [{**_PLACE, "distance_km": 5.21}],
                    "page": 1,
                    "page_size": 20,
                    "total": 1,
                    "radius_km": 50.0,
                }
            ]
        }
    )

    radius_km: float | None = Field(description="the radius searched within; null without lat/lon")


class ProgramSummary(BaseModel):
    code: str = Field(description="JHT, JKK, JKM, JP or JKP")
    version: int
    effective_date: date
    title: str
    summary: str


class ProgramList(BaseModel):
    """Every program's version in force today, in one language."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lang": "id",
                    "programs": [
                        {
                            "code": "JHT",
                            "version": 1,
                            "effective_date": "2022-04-26",
                            "title": "Jaminan Hari Tua (JHT)",
                            "summary": "Tabungan hari tua yang dibayarkan sekaligus saat pensiun atau berhenti bekerja.",
                        }
                    ],
                }
            ]
        }
    )

    lang: str = Field(description="`id` or `en`")
    programs: list[ProgramSummary]


class ProgramSection(BaseModel):
    heading: str
    body: str


class ProgramAnswer(BaseModel):
    """One program's version in force today, in full."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "JHT",
                    "version": 1,
                    "effective_date": "2022-04-26",
                    "source": "PP 46/2015 jo. PP 60/2015; Permenaker 4/2022",
                    "lang": "id",
                    "title": "Jaminan Hari Tua (JHT)",
                    "summary": "Tabungan hari tua yang dibayarkan sekaligus saat pensiun atau berhenti bekerja.",
                    "sections": [
                        {
                            "heading": "Iuran",
                            "body": "5,7% dari upah per bulan: 3,7% dibayar pemberi kerja dan 2% dibayar pekerja.",
                        }
                    ],
                }
            ]
        }
    )

    code: str
    version: int
    effective_date: date
    source: str | None = Field(description="the regulation it follows")
    lang: str
    title: str
    summary: str
    sections: list[ProgramSection]


# --- complaints ---------------------------------------------------------------------------


class ComplaintFiled(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ticket": "HD-2026-000123", "status": "open", "sla_due_at": "2026-03-05T02:15:00+00:00"}]
        }
    )

    ticket: str
    status: str = Field(description="`open` when filed")
    sla_due_at: Time


class ComplaintReply(BaseModel):
    author: str = Field(description="`officer`")
    text: str
    at: Time
    author_id: str | None = Field(default=None, description="the officer; in officers' answers only")


_COMPLAINT = {
    "ticket": "HD-2026-000123",
    "status": "answered",
    "category": "claim",
    "text": "Klaim JHT saya belum dibayar sejak dua minggu.",
    "claim_id": "CLM-7F3A9C21",
    "filed_at": "2026-03-02T02:15:00+00:00",
    "sla_due_at": "2026-03-05T02:15:00+00:00",
    "sla_breached": False,
    "resolution": None,
    "closed_at": None,
    "replies": [{"author": "officer", "text": "Sedang kami periksa.", "at": "2026-03-02T06:40:00+00:00"}],
}
_OFFICER_COMPLAINT = {
    **_COMPLAINT,
    "replies": [{**_COMPLAINT["replies"][0], "author_id": "officer-7"}],  # type: ignore[index]
    "member_id": "m-5d1c0a8e2b44",
}


class ComplaintAnswer(BaseModel):
    """A complaint as its member reads it: officers' replies without who wrote them."""

    model_config = ConfigDict(json_schema_extra={"examples": [_COMPLAINT]})

    ticket: str
    status: str = Field(description="open | answered | closed")
    category: str
    text: str
    claim_id: str | None
    filed_at: Time
    sla_due_at: Time
    sla_breached: bool
    resolution: str | None
    closed_at: Time | None
    replies: list[ComplaintReply]


class OfficerComplaintAnswer(ComplaintAnswer):
    """A complaint as an officer reads it: whose it is, and which officer replied."""

    model_config = ConfigDict(json_schema_extra={"examples": [_OFFICER_COMPLAINT]})

    member_id: str


class MyComplaintPage(Page[ComplaintAnswer]):
    """The member's complaints, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_COMPLAINT], "page": 1, "page_size": 20, "total": 1, "complaints": [_COMPLAINT]}]
        }
    )

    complaints: list[ComplaintAnswer] = Field(deprecated=True, description="the same as `items`; read `items`")


class OfficerComplaintPage(Page[OfficerComplaintAnswer]):
    """Complaints in one status, oldest first: the queue an officer works through."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_OFFICER_COMPLAINT], "page": 1, "page_size": 20, "total": 1}]}
    )
