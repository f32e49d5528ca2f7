"""HTTP routes of the helpdesk: thin, each parses, calls one handler and returns its answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from jmo_shared.auth import Principal
from jmo_shared.errors import DomainError, ErrorKind, FieldError
from jmo_shared.http import MemberInRole, RequiredIdempotencyKey, require_role

from ..adapters.places import PlaceFilter
from ..bootstrap import HelpdeskService
from .schemas import CloseComplaint, FileComplaint, OfficerReply

public = APIRouter(prefix="/v1", tags=["places and programs"])
members = APIRouter(prefix="/v1/complaints", tags=["complaints"])
officers = APIRouter(prefix="/v1/officer/complaints", tags=["officer"])


def _service(request: Request) -> HelpdeskService:
    return request.app.state.helpdesk


Service = Annotated[HelpdeskService, Depends(_service)]


Member = MemberInRole
Officer = Annotated[Principal, Depends(require_role("officer"))]


@public.get("/places")
async def list_places(
    service: Service,
    kind: Literal["office", "plkk"] | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    province: Annotated[str | None, Query(max_length=80)] = None,
    regency: Annotated[str | None, Query(max_length=80)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float | None, Query(gt=0)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    size = page_size or service.settings.places_default_page_size
    if size > service.settings.places_max_page_size:
        raise DomainError(
            "validation_failed",
            "page_size too large",
            ErrorKind.INVALID,
            [FieldError("page_size", "too_large", f"at most {service.settings.places_max_page_size}")],
        )
    f = PlaceFilter(kind=kind, q=q or None, province=province or None, regency=regency or None)
    return await service.places.search(f, lat, lon, radius_km, page, size)


@public.get("/places/{place_id}")
async def get_place(place_id: str, service: Service) -> dict[str, Any]:
    return await service.places.get(place_id)


@public.get("/programs")
async def list_programs(service: Service, lang: str = "id") -> dict[str, Any]:
    return await service.programs.list(lang)


@public.get("/programs/{code}")
async def get_program(code: str, service: Service, lang: str = "id") -> dict[str, Any]:
    return await service.programs.get(code, lang)


@members.post(
    "",
    status_code=201,
    responses={
        400: {"description": "idempotency_key_required"},
        409: {"description": "request_in_flight (the same Idempotency-Key)"},
    },
)
async def file_complaint(
    body: FileComplaint,
    member: Member,
    service: Service,
    idempotency_key: RequiredIdempotencyKey = None,
) -> dict[str, Any]:
    """File a complaint (pengaduan); a retry with the same Idempotency-Key answers the first ticket."""
    return await service.complaints.file(member, body.category, body.text, body.claim_id, idempotency_key)


@members.get("")
async def list_my_complaints(member: Member, service: Service) -> dict[str, Any]:
    return await service.complaints.mine(member)


@members.get("/{ticket}")
async def get_my_complaint(ticket: str, member: Member, service: Service) -> dict[str, Any]:
    return await service.complaints.one_of_mine(member, ticket)


@officers.get("")
async def list_complaints_for_officers(
    officer: Officer,
    service: Service,
    status: Literal["open", "answered", "closed"] = "open",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    return await service.complaints.queue(officer, status, page, page_size)


@officers.post("/{ticket}/replies")
async def reply_to_complaint(ticket: str, body: OfficerReply, officer: Officer, service: Service) -> dict[str, Any]:
    return await service.complaints.reply(officer, ticket, body.text)


@officers.post("/{ticket}/close")
async def close_complaint(ticket: str, body: CloseComplaint, officer: Officer, service: Service) -> dict[str, Any]:
    return await service.complaints.close(officer, ticket, body.resolution)
