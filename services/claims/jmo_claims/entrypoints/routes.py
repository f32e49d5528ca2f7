"""HTTP routes of the claims API: parse, call one handler, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from jmo_shared.errors import DomainError, ErrorKind, field_error
from jmo_shared.http import BodyTooLarge, CurrentMember, RequiredIdempotencyKey
from jmo_shared.paging import Paging

from ..bootstrap import ClaimsService
from ..domain.documents import DOCUMENT_KINDS
from .schemas import (
    KPJ_PATTERN,
    ClaimAnswer,
    ClaimPage,
    ClaimRequest,
    DocumentAnswer,
    EligibilityAnswer,
    SubmitAnswer,
)

# Room for the multipart boundaries and the `kind` field around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
UPLOAD_PATH = "/v1/claims/documents"


def _service(request: Request) -> ClaimsService:
    return request.app.state.claims


Service = Annotated[ClaimsService, Depends(_service)]

router = APIRouter(prefix="/v1/claims", tags=["claims"])


@router.get("/eligibility", response_model=EligibilityAnswer)
async def get_eligibility(
    member: CurrentMember,
    service: Service,
    kpj: Annotated[str | None, Query(pattern=KPJ_PATTERN, description="one card; default: every card")] = None,
) -> dict[str, Any]:
    """Per card and claim reason: eligible or not, from when, what is missing, and what it would pay."""
    return await service.queries.eligibility(member, kpj)


_UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "kind"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "JPEG, PNG or PDF (checked on the content)",
                        },
                        "kind": {"type": "string", "enum": sorted(DOCUMENT_KINDS)},
                    },
                }
            }
        },
    }
}


@router.post("/documents", status_code=201, response_model=DocumentAnswer, openapi_extra=_UPLOAD_SCHEMA)
async def upload_document(request: Request, member: CurrentMember, service: Service) -> dict[str, Any]:
    """Upload one claim document; answers its id, size and sha256."""
    uploads = service.uploads
    # The body is read at most to the document limit plus the form around it (BodyLimit, see api.py),
    # whether it declares its length or comes chunked.
    try:
        form = await request.form(max_files=1, max_fields=4)
    except BodyTooLarge:
        raise
    except HTTPException as exc:
        raise DomainError(code="invalid_multipart", detail=str(exc.detail), kind=ErrorKind.INVALID) from None
    try:
        upload, kind = form.get("file"), form.get("kind")
        if not isinstance(upload, UploadFile):
            raise field_error("file", "required", "Attach the document as the multipart field `file`.")
        if not isinstance(kind, str) or not kind:
            raise field_error("kind", "required", "Say which document this is in the field `kind`.")
        # The form spooled large files to disk; read at most one byte past the limit.
        content = await upload.read(uploads.max_bytes + 1)
        return await uploads.upload(member, kind, upload.filename or "", content)
    finally:
        await form.close()


@router.post(
    "",
    status_code=202,
    response_model=SubmitAnswer,
    responses={
        409: {"description": "open_claim_exists or request_in_flight"},
        422: {"description": "a precondition is not met (code and sentence per refusal)"},
    },
)
async def submit_claim(
    body: ClaimRequest,
    member: CurrentMember,
    service: Service,
    idempotency_key: RequiredIdempotencyKey = None,
) -> JSONResponse:
    """Submit a JHT claim; a retry with the same Idempotency-Key answers the first result."""
    status, answer = await service.submission.submit(member, body.model_dump(), idempotency_key)
    return JSONResponse(answer, status_code=status)


@router.get("", response_model=ClaimPage)
async def list_claims(member: CurrentMember, paging: Paging, service: Service) -> dict[str, Any]:
    """The member's claims, newest first, a page at a time (`claims` repeats `items` for older apps)."""
    claims, total = await service.queries.claims(member, paging.skip, paging.page_size)
    return paging.answer(claims, total, claims=claims)


@router.get("/{claim_id}", response_model=ClaimAnswer)
async def get_claim(claim_id: str, member: CurrentMember, service: Service) -> dict[str, Any]:
    """One of the member's claims with its timeline; another member's claim is 404."""
    return await service.queries.claim(member, claim_id)
