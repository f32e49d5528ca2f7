"""HTTP routes of notify: thin, each parses, calls one handler and returns its answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from jmo_shared.auth import Principal
from jmo_shared.errors import DomainError, ErrorKind, FieldError
from jmo_shared.http import MemberInRole, require_role

from ..bootstrap import NotifyService
from .schemas import PreferencesBody

members = APIRouter(prefix="/v1/notifications", tags=["notifications"])
ops = APIRouter(prefix="/v1/ops/notifications", tags=["operations"])


def _service(request: Request) -> NotifyService:
    return request.app.state.notify


Service = Annotated[NotifyService, Depends(_service)]


Member = MemberInRole
Operator = Annotated[Principal, Depends(require_role("ops"))]


def _page_size(service: NotifyService, page_size: int | None) -> int:
    size = page_size or service.settings.inbox_default_page_size
    if size > service.settings.inbox_max_page_size:
        raise DomainError(
            "validation_failed",
            "page_size too large",
            ErrorKind.INVALID,
            [FieldError("page_size", "too_large", f"at most {service.settings.inbox_max_page_size}")],
        )
    return size


@members.get("")
async def list_my_notifications(
    member: Member,
    service: Service,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """The member's notifications, newest first, with read/unread and the unread count."""
    return await service.inbox.page(member, page, _page_size(service, page_size))


@members.get("/preferences")
async def get_my_preferences(member: Member, service: Service) -> dict[str, Any]:
    return await service.inbox.preferences(member)


@members.put("/preferences")
async def set_my_preferences(body: PreferencesBody, member: Member, service: Service) -> dict[str, Any]:
    """Language, channels per kind, quiet hours (WIB) for what is not urgent."""
    return await service.inbox.set_preferences(member, body.model_dump(exclude_unset=True))


@members.post("/{notification_id}/read")
async def mark_notification_read(notification_id: str, member: Member, service: Service) -> dict[str, Any]:
    return await service.inbox.mark_read(member, notification_id)


@ops.get("/dead-letters")
async def list_dead_letters(
    operator: Operator,
    service: Service,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    """Deliveries that failed every attempt, newest first."""
    return await service.dead_letters.page(page, page_size)


@ops.post("/dead-letters/{delivery_id}/replay")
async def replay_dead_letter(delivery_id: str, operator: Operator, service: Service) -> dict[str, Any]:
    """Back to pending, due now, with a fresh budget of attempts."""
    return await service.dead_letters.replay(operator, delivery_id)
