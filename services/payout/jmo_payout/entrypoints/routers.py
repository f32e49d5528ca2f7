"""HTTP routes: parse, call one use case, return its answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from jmo_shared.http import PROBLEM_RESPONSE, CurrentMember

from ..service_layer.notifications import BankNotification, NotificationAnswer
from ..service_layer.queries import PayoutView
from ..service_layer.service import Payouts


def get_service(request: Request) -> Payouts:
    return request.app.state.payouts


Service = Annotated[Payouts, Depends(get_service)]

payouts = APIRouter(prefix="/v1/payouts", tags=["payouts"])


@payouts.get("", response_model=PayoutView, summary="The payout of one of the member's claims")
async def get_payout_of_claim(
    member: CurrentMember, service: Service, claim_id: Annotated[str, Query(min_length=1, max_length=64)]
) -> PayoutView:
    return await service.payout_of_claim(member, claim_id)


@payouts.get("/{payout_id}", response_model=PayoutView, summary="One of the member's payouts")
async def get_payout(
    member: CurrentMember, service: Service, payout_id: Annotated[str, Path(min_length=1, max_length=64)]
) -> PayoutView:
    return await service.payout_by_id(member, payout_id)


bank = APIRouter(prefix="/v1/bank", tags=["partner banks"])


@bank.post(
    "/notifications",
    response_model=NotificationAnswer,
    summary="A partner bank's signed transfer status report (pain.002-like)",
    description=(
        "Headers: X-Bank-Code, X-Timestamp (RFC 3339, within 5 minutes), X-Signature = hex "
        "HMAC-SHA256(bank secret, `{X-Timestamp}.{raw body}`). Idempotent: a repeated or late "
        "report answers 200 with the payout's current state and changes nothing."
    ),
    responses={
        401: {"description": "the signature, timestamp or bank code does not hold (its code)", **PROBLEM_RESPONSE},
        403: {"description": "`wrong_bank`: the report's bank_code is not the signing bank's", **PROBLEM_RESPONSE},
        404: {"description": "`payout_not_found`: no such payout", **PROBLEM_RESPONSE},
        409: {"description": "`payout_changed_concurrently`: send the report again", **PROBLEM_RESPONSE},
        422: {"description": "`validation_failed`: the signed body is not a report", **PROBLEM_RESPONSE},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BankNotification.model_json_schema()}},
        }
    },
)
async def receive_bank_notification(request: Request, service: Service) -> NotificationAnswer:
    # The signature covers the exact bytes sent, so the body is read raw, not parsed by FastAPI.
    raw = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        return await service.receive_bank_notification(raw, headers)
    except ValidationError as exc:  # the signed body is not a report
        raise RequestValidationError(exc.errors()) from exc
