"""The officers' flag API (role `officer`): list flags, read one, clear one (audited)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request

from jmo_shared.auth import Principal
from jmo_shared.http import require_role
from jmo_shared.paging import Paging

from ..bootstrap import RiskService
from .schemas import ClearAnswer, ClearRequest, FlagDetail, FlagPage


def _service(request: Request) -> RiskService:
    return request.app.state.risk


Service = Annotated[RiskService, Depends(_service)]
Officer = Annotated[Principal, Depends(require_role("officer"))]

officers = APIRouter(prefix="/v1/risk", tags=["risk flags (officers)"])

_FORBIDDEN = {403: {"description": "not an officer's token (`forbidden`)"}}


@officers.get("/flags", response_model=FlagPage, responses=_FORBIDDEN)
async def list_flags(
    officer: Officer,
    service: Service,
    paging: Paging,
    status: Literal["open", "cleared"] | None = "open",
    rule: str | None = None,
    claim_id: str | None = None,
) -> dict[str, Any]:
    """Flags, newest first (open ones unless `status` says otherwise), a page at a time."""
    items, total = await service.desk.flags(officer, status, rule, claim_id, paging.skip, paging.page_size)
    return paging.answer(items, total)


@officers.get("/flags/{flag_id}", response_model=FlagDetail, responses=_FORBIDDEN)
async def get_flag(flag_id: str, officer: Officer, service: Service) -> dict[str, Any]:
    """One flag with its evidence and its audit trail."""
    return await service.desk.flag(officer, flag_id)


@officers.post("/flags/{flag_id}/clear", response_model=ClearAnswer, responses=_FORBIDDEN)
async def clear_flag(flag_id: str, body: ClearRequest, officer: Officer, service: Service) -> dict[str, Any]:
    """Clear a flag after checking it: publishes RiskFlagCleared (claims then lets its claim be approved)."""
    return await service.desk.clear(officer, flag_id, body.note)
