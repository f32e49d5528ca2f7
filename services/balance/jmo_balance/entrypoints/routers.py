"""Thin routers: parse, call one service-layer function, return its answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from jmo_shared.http import CurrentMember, IdempotencyKey

from ..bootstrap import BalanceService
from ..service_layer.merges import MergeRequest
from .schemas import Balance, Jwks, MembershipCard, Merge, MergeAccepted, MergeCreate


async def _service(request: Request) -> BalanceService:
    # async: FastAPI runs a plain-def dependency in a thread pool, a hand-off on every request.
    return request.app.state.balance


Service = Annotated[BalanceService, Depends(_service)]

balance_router = APIRouter(prefix="/v1/balance", tags=["balance"])
card_router = APIRouter(prefix="/v1/card", tags=["membership card"])


@balance_router.get("", response_model=Balance, summary="The member's JHT balance per KPJ card")
async def get_balance(
    member: CurrentMember,
    svc: Service,
    as_of: Annotated[date | None, Query(description="YYYY-MM-DD; default today")] = None,
) -> Response:
    # The view answers JSON bytes it may have built before (read cache): no second validation pass.
    return Response(await svc.views.balance_json(member.nik, as_of), media_type="application/json")


@balance_router.post(
    "/merges", status_code=202, response_model=MergeAccepted, summary="Merge KPJ cards (penggabungan saldo)"
)
async def create_merge(
    body: MergeCreate,
    member: CurrentMember,
    svc: Service,
    idempotency_key: IdempotencyKey = None,
) -> dict:
    req = MergeRequest(
        member_id=member.member_id,
        nik=member.nik,
        kpj_numbers=list(body.kpj_numbers),
        verification_id=body.verification_id,
    )
    return await svc.merge_requests.submit(req, idempotency_key)


@balance_router.get("/merges/{merge_id}", response_model=Merge, summary="One of the member's merges")
async def get_merge(merge_id: str, member: CurrentMember, svc: Service) -> dict:
    return await svc.merges.get(merge_id, member.nik)


@card_router.get("", response_model=MembershipCard, summary="The digital membership card with a signed QR")
async def get_card(member: CurrentMember, svc: Service) -> Response:
    return Response(await svc.views.card_json(member.nik, svc.signer), media_type="application/json")


@card_router.get("/keys", response_model=Jwks, summary="Public keys (JWKS) that verify the card's QR offline")
async def get_card_keys(svc: Service) -> dict:
    return svc.signer.jwks()
