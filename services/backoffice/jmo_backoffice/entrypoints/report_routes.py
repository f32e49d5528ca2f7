"""Reconciliation reports per bank and day, and the dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..adapters.services import UpstreamError
from ..service_layer.signin import flash
from .i18n import translate
from .web import CurrentSession, Form, Service, Token, language, redirect, render_page

router = APIRouter(include_in_schema=False)


@router.get("/reconciliations")
async def reconciliations(
    request: Request, svc: Service, session: CurrentSession, token: Token, bank_code: str = "", day: str = ""
) -> Response:
    view = await svc.desk.reconciliations(token, bank_code if bank_code.isdigit() else None, day or None)
    return await render_page(request, "reconciliations.html", view=view, bank_code=bank_code, day=day)


@router.post("/reconciliations")
async def run_reconciliation(svc: Service, session: CurrentSession, token: Token, form: Form) -> Response:
    try:
        report = await svc.desk.run_reconciliation(token, form.get("bank_code", ""), form.get("day", ""))
    except UpstreamError as refused:
        if refused.status in (401, 403):
            raise
        flash(session, "error", "action_refused", code=refused.code, detail=refused.detail)
        await svc.signin.save(session)
        return redirect("/reconciliations")
    await svc.signin.save(session)
    return redirect(f"/reconciliations/{report['reconciliation_id']}")


@router.get("/reconciliations/{reconciliation_id}")
async def reconciliation(
    reconciliation_id: str, request: Request, svc: Service, session: CurrentSession, token: Token
) -> Response:
    report = await svc.desk.reconciliation(token, reconciliation_id)
    return await render_page(request, "reconciliation.html", report=report)


@router.get("/dashboard")
async def dashboard(request: Request, svc: Service, session: CurrentSession, token: Token) -> Response:
    lang = language(request)
    labels = {key: translate(key, lang) for key in ("claims_by_status", "sla_breaches", "payouts_by_rail", "none")}
    view = await svc.desk.dashboard(token, session.roles, labels)
    return await render_page(request, "dashboard.html", view=view)
