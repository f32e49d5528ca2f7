"""The officer API (role `officer`): the manual-review queue, one claim, its documents, the decision."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from jmo_shared.auth import Principal
from jmo_shared.events import ClaimReason
from jmo_shared.http import require_role
from jmo_shared.paging import Paging

from ..bootstrap import ClaimsService
from .review_schemas import DecisionAnswer, DecisionRequest, OfficerClaim, Queue, ReasonCodes


def _service(request: Request) -> ClaimsService:
    return request.app.state.claims


Service = Annotated[ClaimsService, Depends(_service)]
Officer = Annotated[Principal, Depends(require_role("officer"))]

router = APIRouter(prefix="/v1/review", tags=["review (officers)"])

_FORBIDDEN = {403: {"description": "not an officer's token (`forbidden`)"}}


@router.get("/reason-codes", response_model=ReasonCodes, responses=_FORBIDDEN)
async def list_reason_codes(officer: Officer, service: Service) -> dict[str, Any]:
    """The reason codes an officer approves or rejects with, and the sentence the member reads for each."""
    return service.review.reason_codes()


@router.get("/claims", response_model=Queue, responses=_FORBIDDEN)
async def list_review_queue(
    officer: Officer,
    service: Service,
    paging: Paging,
    reason: ClaimReason | None = None,
    escalated: Annotated[bool | None, Query(description="only claims past their SLA (true) or not (false)")] = None,
) -> dict[str, Any]:
    """Claims in NEEDS_REVIEW, the one due soonest (or most overdue) first, a page at a time."""
    items, total = await service.review.queue(officer, reason, escalated, paging.skip, paging.page_size)
    return paging.answer(items, total)


@router.get("/claims/{claim_id}", response_model=OfficerClaim, responses=_FORBIDDEN)
async def get_claim_for_review(claim_id: str, officer: Officer, service: Service) -> dict[str, Any]:
    """Any claim, with its documents, the field-by-field checks, who did what and the audit trail."""
    return await service.review.claim(officer, claim_id)


@router.get(
    "/claims/{claim_id}/documents/{document_id}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the document's bytes as uploaded; Content-Type is the document's own "
            "(image/jpeg, image/png or application/pdf)",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        **_FORBIDDEN,
    },
)
async def download_claim_document(
    claim_id: str, document_id: str, officer: Officer, service: Service
) -> StreamingResponse:
    """One of the claim's documents, streamed from GridFS; checked against its upload checksum on the way."""
    download = await service.review.download(officer, claim_id, document_id)
    doc = download.document
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(doc.content_type, "bin")
    return StreamingResponse(
        download.content,
        media_type=doc.content_type,
        headers={
            "Content-Length": str(doc.size),
            # Named by kind, not by the member's file name: nothing the member typed goes into a header.
            "Content-Disposition": f'attachment; filename="{doc.kind}-{doc.document_id}.{extension}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "ETag": f'"{doc.sha256}"',
            "X-Checksum-SHA256": doc.sha256,
        },
    )


@router.post(
    "/claims/{claim_id}/decision",
    response_model=DecisionAnswer,
    responses={
        **_FORBIDDEN,
        409: {"description": "`claim_already_decided` or `claim_not_in_review`"},
        422: {"description": "`unknown_reason_code` or invalid fields"},
    },
)
async def decide_claim(claim_id: str, body: DecisionRequest, officer: Officer, service: Service) -> dict[str, Any]:
    """Approve (the claim goes on to payment) or reject (the reservation is released) a claim in review.

    Sending the same decision again answers the first one (`repeated: true`).
    """
    return await service.review.decide(officer, claim_id, body.decision, body.reason_code, body.note)
