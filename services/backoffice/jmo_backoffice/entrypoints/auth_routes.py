"""Signing in (the built-in form locally, OpenID Connect in production), signing out, the language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..domain.pkce import safe_next
from ..service_layer.signin import SignInRefused
from .i18n import LANGUAGES
from .web import (
    LANG_COOKIE,
    CurrentSession,
    Form,
    Service,
    clear_session_cookie,
    cookie_names,
    redirect,
    render,
    set_session_cookie,
    set_signin_cookie,
    signin_csrf,
    signin_csrf_ok,
)

router = APIRouter(include_in_schema=False)


def _home(roles: frozenset[str]) -> str:
    return "/queue" if "officer" in roles else "/dashboard"


@router.get("/")
async def home(request: Request, svc: Service) -> Response:
    name, _ = cookie_names(svc.settings.cookie_secure)
    session = await svc.signin.current(request.cookies.get(name))
    return redirect(_home(session.roles) if session else "/signin")


def _signin_page(
    request: Request, svc: Service, status: int = 200, error: str | None = None, user: str = ""
) -> Response:
    token, fresh = signin_csrf(request, svc)
    response = render(
        request,
        "signin.html",
        status,
        csrf_token=token,
        error=error,
        user=user,
        mode=svc.signin.mode,
        next_path=safe_next(request.query_params.get("next")),
    )
    if fresh:
        set_signin_cookie(response, svc, token)
    return response


async def _end_previous(request: Request, svc: Service) -> None:
    """A sign-in in a browser that still had a session ends that one (its id is never reused)."""
    name, _ = cookie_names(svc.settings.cookie_secure)
    previous = await svc.signin.current(request.cookies.get(name))
    if previous is not None:
        await svc.signin.sign_out(previous)


@router.get("/signin")
async def signin_form(request: Request, svc: Service) -> Response:
    return _signin_page(request, svc)


@router.post("/signin")
async def signin(request: Request, svc: Service) -> Response:
    form = await request.form()
    user, password = str(form.get("username", "")), str(form.get("password", ""))
    if not signin_csrf_ok(request, svc, str(form.get("csrf_token", ""))):
        return _signin_page(request, svc, 403, "csrf", user)
    try:
        session = await svc.signin.with_password(user, password)
    except SignInRefused as refused:
        return _signin_page(request, svc, 429 if refused.code == "locked" else 401, refused.code, user)
    await _end_previous(request, svc)
    response = redirect(
        safe_next(str(form.get("next", ""))) if form.get("next") not in (None, "", "/") else _home(session.roles)
    )
    set_session_cookie(response, svc, session)
    return response


@router.get("/signin/oidc")
async def signin_oidc(request: Request, svc: Service) -> Response:
    try:
        url = await svc.signin.start_oidc(request.query_params.get("next"))
    except SignInRefused as refused:
        return _signin_page(request, svc, 503, refused.code)
    return RedirectResponse(url, status_code=302)


@router.get("/signin/oidc/callback")
async def signin_oidc_callback(request: Request, svc: Service) -> Response:
    state, code = request.query_params.get("state", ""), request.query_params.get("code", "")
    if not state or not code:
        return _signin_page(request, svc, 400, request.query_params.get("error") or "provider_refused")
    try:
        session, next_path = await svc.signin.finish_oidc(state, code)
    except SignInRefused as refused:
        return _signin_page(request, svc, 401, refused.code)
    await _end_previous(request, svc)
    response = redirect(next_path if next_path != "/" else _home(session.roles))
    set_session_cookie(response, svc, session)
    return response


@router.post("/signout")
async def signout(svc: Service, session: CurrentSession, form: Form) -> Response:
    await svc.signin.sign_out(session)
    response = redirect("/signin")
    clear_session_cookie(response, svc)
    return response


@router.get("/lang/{code}")
async def switch_language(code: str, request: Request) -> Response:
    response = redirect(safe_next(request.query_params.get("next")))
    if code in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 86400,
            path="/",
            samesite="lax",
            secure=request.app.state.backoffice.settings.cookie_secure,
        )
    return response
