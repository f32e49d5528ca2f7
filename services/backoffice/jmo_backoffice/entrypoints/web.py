"""What every page shares: templates and language, the session cookie, CSRF checks, security headers."""

from __future__ import annotations

import hmac
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..bootstrap import BackofficeService
from ..domain import review
from ..domain.session import StaffSession, new_secret
from ..service_layer.signin import SignedOut
from .i18n import LANGUAGES, translate

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANG_COOKIE = "bo_lang"


class NeedsSignIn(Exception):
    """No live session: the browser is sent to the sign-in page (and back here afterwards)."""

    def __init__(self, next_path: str = "/") -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A form came without this session's CSRF token."""


def _when(value: str | None) -> str:
    if not value:
        return "-"
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (
        at.strftime("%Y-%m-%d %H:%M UTC")
        if at.utcoffset() in (None,) or at.utcoffset().total_seconds() == 0
        else at.strftime("%Y-%m-%d %H:%M %z")
    )


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
    )
    env.filters["rupiah"] = review.rupiah
    env.filters["when"] = _when
    env.globals["why_in_review"] = review.why_in_review
    return env


def service(request: Request) -> BackofficeService:
    return request.app.state.backoffice


Service = Annotated[BackofficeService, Depends(service)]


def cookie_names(secure: bool) -> tuple[str, str]:
    """(session, sign-in form) cookie names; `__Host-` pins a secure cookie to this host and path /."""
    prefix = "__Host-" if secure else ""
    return f"{prefix}bo_session", f"{prefix}bo_signin"


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE) or request.app.state.backoffice.settings.default_language
    return lang if lang in LANGUAGES else "id"


async def signed_in(request: Request, svc: Service) -> StaffSession:
    name, _ = cookie_names(svc.settings.cookie_secure)
    session = await svc.signin.current(request.cookies.get(name))
    if session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NeedsSignIn(path if request.method == "GET" else "/")
    await svc.signin.save(session)
    request.state.session = session
    return session


CurrentSession = Annotated[StaffSession, Depends(signed_in)]


async def staff_token(request: Request, svc: Service, session: CurrentSession) -> str:
    try:
        return await svc.signin.token(session)
    except SignedOut as exc:
        await svc.signin.sign_out(session)
        raise NeedsSignIn(request.url.path) from exc


Token = Annotated[str, Depends(staff_token)]


async def checked_form(request: Request, session: CurrentSession) -> dict[str, str]:
    """The form's fields, once its CSRF token is this session's (compared in constant time)."""
    form = await request.form()
    sent = str(form.get("csrf_token", ""))
    if not sent or not hmac.compare_digest(sent, session.csrf_token):
        raise CsrfRefused()
    return {k: str(v) for k, v in form.items() if k != "csrf_token"}


Form = Annotated[dict[str, str], Depends(checked_form)]


def require_role(session: StaffSession, role: str) -> None:
    if not session.has_role(role):
        from ..adapters.services import UpstreamError

        raise UpstreamError(403, "forbidden", f"requires the {role} role")


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.templates
    lang = language(request)
    session: StaffSession | None = getattr(request.state, "session", None)
    flashes = session.take_flash() if session is not None else []
    html = env.get_template(template).render(
        request=request,
        lang=lang,
        t=lambda key, **kw: translate(key, lang, **kw),
        session=session,
        flashes=flashes,
        path=request.url.path,
        query=request.url.query,
        **context,
    )
    return HTMLResponse(html, status_code=status)


async def render_page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render, then keep the session (its flash messages were shown)."""
    response = render(request, template, status, **context)
    session: StaffSession | None = getattr(request.state, "session", None)
    if session is not None:
        await request.app.state.backoffice.signin.save(session)
    return response


def redirect(path: str) -> RedirectResponse:
    # 303: the browser follows a POST's answer with a GET (post/redirect/get).
    return RedirectResponse(path, status_code=303)


def set_session_cookie(response: Response, svc: BackofficeService, session: StaffSession) -> None:
    name, _ = cookie_names(svc.settings.cookie_secure)
    response.set_cookie(
        name,
        session.session_id,
        max_age=svc.settings.session_max_seconds,
        path="/",
        secure=svc.settings.cookie_secure,
        httponly=True,
        samesite=svc.settings.cookie_samesite,
    )


def clear_session_cookie(response: Response, svc: BackofficeService) -> None:
    name, _ = cookie_names(svc.settings.cookie_secure)
    response.delete_cookie(
        name, path="/", secure=svc.settings.cookie_secure, httponly=True, samesite=svc.settings.cookie_samesite
    )


def signin_csrf(request: Request, svc: BackofficeService) -> tuple[str, bool]:
    """The sign-in form's CSRF token (double submit: the same value in an HttpOnly cookie); new if none."""
    _, name = cookie_names(svc.settings.cookie_secure)
    existing = request.cookies.get(name)
    return (existing, False) if existing else (new_secret(), True)


def set_signin_cookie(response: Response, svc: BackofficeService, value: str) -> None:
    _, name = cookie_names(svc.settings.cookie_secure)
    response.set_cookie(
        name, value, max_age=3600, path="/", secure=svc.settings.cookie_secure, httponly=True, samesite="strict"
    )


def signin_csrf_ok(request: Request, svc: BackofficeService, sent: str) -> bool:
    _, name = cookie_names(svc.settings.cookie_secure)
    cookie = request.cookies.get(name, "")
    return bool(cookie) and bool(sent) and hmac.compare_digest(cookie, sent)


CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'self'; frame-src 'self'; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'self'"
)


def security_headers(response: Response, path: str) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    # Documents are shown inside the claim page (same origin); nothing else may be framed.
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN" if "/documents/" in path else "DENY")
    if not path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
