"""HTTP routes of the helpdesk: thin, each parses, calls one handler and returns its answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from jmo_shared.auth import Principal
from jmo_shared.http import MemberInRole, RequiredIdempotencyKey, require_role
from jmo_shared.paging import Paging

from ..adapters.places import PlaceFilter
from ..bootstrap import HelpdeskService
from .schemas import (
    CloseComplaint,
    ComplaintAnswer,
    ComplaintFiled,
    FileComplaint,
    MyComplaintPage,
    OfficerComplaintAnswer,
    OfficerComplaintPage,
    OfficerReply,
    PlaceAnswer,
    PlacePage,
    ProgramAnswer,
    ProgramList,
)

public = APIRouter(prefix="/v1", tags=["places and programs"])
members = APIRouter(prefix="/v1/complaints", tags=["complaints"])
officers = APIRouter(prefix="/v1/officer/complaints", tags=["officer"])


def _service(request: Request) -> HelpdeskService:
    return request.app.state.helpdesk


Service = Annotated[HelpdeskService, Depends(_service)]


Member = MemberInRole
Officer = Annotated[Principal, Depends(require_role("officer"))]


# Answers leave out what the service layer leaves out (a place's `distance_km` outside a search by
# position, the officer's id in a member's replies): exclude_unset keeps them out.


@public.get("/places", response_model=PlacePage, response_model_exclude_unset=True)
async def list_places(
    service: Service,
    paging: Paging,
    kind: Literal["office", "plkk"] | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    province: Annotated[str | None, Query(max_length=80)] = None,
    regency: Annotated[str | None, Query(max_length=80)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float | None, Query(gt=0)] = None,
) -> dict[str, Any]:
    f = PlaceFilter(kind=kind, q=q or None, province=province or None, regency=regency or None)
    places, total, radius = await service.places.search(f, lat, lon, radius_km, paging.skip, paging.page_size)
    return paging.answer(places, total, radius_km=radius)


@public.get("/places/{place_id}", response_model=PlaceAnswer, response_model_exclude_unset=True)
async def get_place(place_id: str, service: Service) -> dict[str, Any]:
    return await service.places.get(place_id)


@public.get("/programs", response_model=ProgramList)
async def list_programs(service: Service, lang: str = "id") -> dict[str, Any]:
    return await service.programs.list(lang)


@public.get("/programs/{code}", response_model=ProgramAnswer)
async def get_program(code: str, service: Service, lang: str = "id") -> dict[str, Any]:
    return await service.programs.get(code, lang)


@members.post(
    "",
    status_code=201,
    response_model=ComplaintFiled,
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


@members.get("", response_model=MyComplaintPage, response_model_exclude_unset=True)
async def list_my_complaints(member: Member, paging: Paging, service: Service) -> dict[str, Any]:
    """The member's complaints, newest first. `complaints` repeats `items` for older clients."""
    items, total = await service.complaints.mine(member, paging.skip, paging.page_size)
    return paging.answer(items, total, complaints=items)


@members.get("/{ticket}", response_model=ComplaintAnswer, response_model_exclude_unset=True)
async def get_my_complaint(ticket: str, member: Member, service: Service) -> dict[str, Any]:
    return await service.complaints.one_of_mine(member, ticket)


@officers.get("", response_model=OfficerComplaintPage)
async def list_complaints_for_officers(
    officer: Officer,
    service: Service,
    paging: Paging,
    status: Literal["open", "answered", "closed"] = "open",
) -> dict[str, Any]:
    items, total = await service.complaints.queue(officer, status, paging.page, paging.skip, paging.page_size)
    return paging.answer(items, total)


@officers.post("/{ticket}/replies", response_model=OfficerComplaintAnswer)
async def reply_to_complaint(ticket: str, body: OfficerReply, officer: Officer, service: Service) -> dict[str, Any]:
    return await service.complaints.reply(officer, ticket, body.text)


@officers.post("/{ticket}/close", response_model=OfficerComplaintAnswer)
async def close_complaint(ticket: str, body: CloseComplaint, officer: Officer, service: Service) -> dict[str, Any]:
    return await service.complaints.close(officer, ticket, body.resolution)
