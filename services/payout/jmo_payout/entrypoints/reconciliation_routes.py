"""Reconciliation reports for operations staff (role ops or officer): run one now, list, read."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from jmo_shared.auth import Principal
from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.http import current_principal

from ..service_layer.reconciliation import (
    EXAMPLE_CLEAN_SUMMARY,
    EXAMPLE_SUMMARY,
    ReconciliationService,
    ReconciliationSummary,
    ReconciliationView,
)

STAFF_ROLES = ("ops", "officer")


async def staff(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not any(principal.has_role(role) for role in STAFF_ROLES):
        raise DomainError(code="forbidden", detail="requires the ops or officer role", kind=ErrorKind.FORBIDDEN)
    return principal


def get_reconciliation(request: Request) -> ReconciliationService:
    return request.app.state.reconciliation


Staff = Annotated[Principal, Depends(staff)]
Service = Annotated[ReconciliationService, Depends(get_reconciliation)]
BankCode = Annotated[str, Field(pattern=r"^\d{3}$")]

reconciliations = APIRouter(prefix="/v1/reconciliations", tags=["reconciliation"])


class RunReconciliation(BaseModel):
    bank_code: BankCode
    date: date


class ReconciliationList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE_SUMMARY, EXAMPLE_CLEAN_SUMMARY]}]})

    items: list[ReconciliationSummary]


@reconciliations.post(
    "",
    status_code=201,
    response_model=ReconciliationView,
    summary="Reconcile one bank's business day now (payouts sent vs bank reports vs its camt.053 statement)",
    description="Replaces the bank-date's report (the run is added to its history). 409 reconciliation_running "
    "while another run of the same bank-date is in progress; 502 statement_unavailable when the "
    "bank's statement cannot be fetched or read (the failed run is kept in the history).",
)
async def run_reconciliation(body: RunReconciliation, who: Staff, service: Service) -> ReconciliationView:
    report = await service.run(body.bank_code, body.date, trigger="api", requested_by=who.member_id)
    assert report is not None  # only a scheduled run can be skipped
    return report


@reconciliations.get("", response_model=ReconciliationList, summary="Reconciliation reports, newest day first")
async def list_reconciliations(
    who: Staff,
    service: Service,
    bank_code: Annotated[str | None, Query(pattern=r"^\d{3}$")] = None,
    day: Annotated[date | None, Query(alias="date")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ReconciliationList:
    return ReconciliationList(items=await service.find(bank_code, day, limit))


@reconciliations.get(
    "/{reconciliation_id}",
    response_model=ReconciliationView,
    summary="One bank-date's report: counts, totals, every mismatch, and the run history",
)
async def get_reconciliation_report(
    who: Staff,
    service: Service,
    reconciliation_id: Annotated[str, Path(min_length=1, max_length=40)],
) -> ReconciliationView:
    return await service.get(reconciliation_id)
