"""The review queue, one claim (data, checks, documents, timeline, complaints) and the officer's decision."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from ..adapters.services import INLINE_TYPES, UpstreamError
from ..service_layer.signin import flash
from .web import (
    CurrentSession,
    Form,
    Service,
    Token,
    redirect,
    render_page,
    require_role,
)

router = APIRouter(include_in_schema=False)


@router.get("/queue")
async def queue(
    request: Request,
    svc: Service,
    session: CurrentSession,
    token: Token,
    reason: str | None = None,
    escalated: str | None = None,
    risk: str | None = None,
    page: int = Query(default=1, ge=1, le=10_000),
) -> Response:
    require_role(session, "officer")
    escalated_filter = {"yes": True, "no": False}.get(escalated or "")
    view = await svc.desk.queue(token, reason or None, escalated_filter, risk == "yes", page)
    return await render_page(
        request,
        "queue.html",
        view=view,
        reason=reason or "",
        escalated=escalated or "",
        risk=risk or "",
        reasons=REASONS,
    )


REASONS = (
    "retirement",
    "resignation",
    "termination",
    "contract_end",
    "leaving_indonesia",
    "disability",
    "death",
    "partial_10",
    "partial_30",
)


@router.get("/claims/{claim_id}")
async def claim(claim_id: str, request: Request, svc: Service, session: CurrentSession, token: Token) -> Response:
    require_role(session, "officer")
    view = await svc.desk.claim(token, claim_id)
    return await render_page(request, "claim.html", **view)


@router.post("/claims/{claim_id}/decision")
async def decide(claim_id: str, svc: Service, session: CurrentSession, token: Token, form: Form) -> Response:
    require_role(session, "officer")
    try:
        answer = await svc.desk.decide(
            token, claim_id, form.get("decision", ""), form.get("reason_code", ""), form.get("note", "")
        )
    except UpstreamError as refused:
        if refused.status in (401, 403, 404) or refused.status >= 500:
            raise
        flash(session, "error", "decision_refused", code=refused.code, detail=refused.detail)
    else:
        flash(
            session,
            "ok",
            "decision_taken",
            decision=answer["decision"],
            status=answer["status"],
            reason_code=answer["reason_code"],
            repeated="yes" if answer.get("repeated") else "no",
            decided_at=answer.get("decided_at", ""),
        )
    await svc.signin.save(session)
    return redirect(f"/claims/{claim_id}")


@router.post("/claims/{claim_id}/risk-flags/{flag_id}/clear")
async def clear_flag(
    claim_id: str, flag_id: str, svc: Service, session: CurrentSession, token: Token, form: Form
) -> Response:
    """Clear a risk flag after checking it (the risk service's own endpoint); claims then lets it be approved."""
    require_role(session, "officer")
    try:
        await svc.desk.clear_flag(token, flag_id, form.get("note", ""))
    except UpstreamError as refused:
        if refused.status in (401, 403):
            raise
        flash(session, "error", "action_refused", code=refused.code, detail=refused.detail)
    else:
        flash(session, "ok", "flag_cleared_flash", flag_id=flag_id)
    await svc.signin.save(session)
    return redirect(f"/claims/{claim_id}")


@router.get("/claims/{claim_id}/documents/{document_id}")
async def document(claim_id: str, document_id: str, svc: Service, session: CurrentSession, token: Token) -> Response:
    """The document from the claims service, relayed as it streams, shown inline (images and PDFs only)."""
    require_role(session, "officer")
    stack = AsyncExitStack()
    try:
        upstream = await stack.enter_async_context(svc.services.document(token, claim_id, document_id))
    except BaseException:
        await stack.aclose()
        raise
    content_type = upstream.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in INLINE_TYPES:
        await stack.aclose()
        raise UpstreamError(415, "not_shown_inline", "this kind of document cannot be shown")
    headers = {
        "Content-Disposition": "inline",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if "content-length" in upstream.headers and "content-encoding" not in upstream.headers:
        headers["Content-Length"] = upstream.headers["content-length"]
    return StreamingResponse(
        upstream.aiter_bytes(), media_type=content_type, headers=headers, background=BackgroundTask(stack.aclose)
    )
