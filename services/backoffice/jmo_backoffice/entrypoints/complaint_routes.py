"""Complaints: the inbox by SLA, one complaint with its thread, reply and close."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..adapters.services import UpstreamError
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


@router.get("/complaints")
async def inbox(
    request: Request, svc: Service, session: CurrentSession, token: Token, status: str = "open"
) -> Response:
    require_role(session, "officer")
    view = await svc.desk.complaints(token, status)
    return await render_page(request, "complaints.html", view=view)


@router.get("/complaints/{ticket}")
async def complaint(ticket: str, request: Request, svc: Service, session: CurrentSession, token: Token) -> Response:
    require_role(session, "officer")
    return await render_page(request, "complaint.html", complaint=await svc.desk.complaint(token, ticket))


async def _act(svc, session, ticket: str, action, ok_text: str) -> Response:
    try:
        await action
    except UpstreamError as refused:
        if refused.status in (401, 403) or refused.status >= 500:
            raise
        flash(session, "error", "action_refused", code=refused.code, detail=refused.detail)
    else:
        flash(session, "ok", ok_text, ticket=ticket)
    await svc.signin.save(session)
    return redirect(f"/complaints/{ticket}")


@router.post("/complaints/{ticket}/reply")
async def reply(ticket: str, svc: Service, session: CurrentSession, token: Token, form: Form) -> Response:
    require_role(session, "officer")
    return await _act(svc, session, ticket, svc.desk.reply(token, ticket, form.get("text", "")), "reply_sent")


@router.post("/complaints/{ticket}/close")
async def close(ticket: str, svc: Service, session: CurrentSession, token: Token, form: Form) -> Response:
    require_role(session, "officer")
    return await _act(
        svc, session, ticket, svc.desk.close(token, ticket, form.get("resolution", "")), "complaint_closed_flash"
    )
