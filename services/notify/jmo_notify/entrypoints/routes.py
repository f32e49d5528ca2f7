"""HTTP routes of notify: thin, each parses, calls one handler and returns its answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from jmo_shared.auth import Principal
from jmo_shared.http import MemberInRole, require_role
from jmo_shared.paging import Paging

from ..bootstrap import NotifyService
from .schemas import (
    DeadLetterPage,
    NotificationAnswer,
    NotificationPage,
    PreferencesAnswer,
    PreferencesBody,
    ReplayAnswer,
)

members = APIRouter(prefix="/v1/notifications", tags=["notifications"])
ops = APIRouter(prefix="/v1/ops/notifications", tags=["operations"])


def _service(request: Request) -> NotifyService:
    return request.app.state.notify


Service = Annotated[NotifyService, Depends(_service)]


Member = MemberInRole
Operator = Annotated[Principal, Depends(require_role("ops"))]


# A notification names a claim or a ticket only when it is about one: exclude_unset keeps the other out.
@members.get("", response_model=NotificationPage, response_model_exclude_unset=True)
async def list_my_notifications(member: Member, service: Service, paging: Paging) -> dict[str, Any]:
    """The member's notifications, newest first, with read/unread and the unread count."""
    items, total, unread = await service.inbox.page(member, paging.skip, paging.page_size)
    return paging.answer(items, total, unread=unread)


@members.get("/preferences", response_model=PreferencesAnswer)
async def get_my_preferences(member: Member, service: Service) -> dict[str, Any]:
    return await service.inbox.preferences(member)


@members.put("/preferences", response_model=PreferencesAnswer)
async def set_my_preferences(body: PreferencesBody, member: Member, service: Service) -> dict[str, Any]:
    """Language, channels per kind, quiet hours (WIB) for what is not urgent."""
    return await service.inbox.set_preferences(member, body.model_dump(exclude_unset=True))


@members.post("/{notification_id}/read", response_model=NotificationAnswer, response_model_exclude_unset=True)
async def mark_notification_read(notification_id: str, member: Member, service: Service) -> dict[str, Any]:
    return await service.inbox.mark_read(member, notification_id)


@ops.get("/dead-letters", response_model=DeadLetterPage)
async def list_dead_letters(operator: Operator, service: Service, paging: Paging) -> dict[str, Any]:
    """Deliveries that failed every attempt, newest first."""
    items, total = await service.dead_letters.page(paging.skip, paging.page_size)
    return paging.answer(items, total)


@ops.post("/dead-letters/{delivery_id}/replay", response_model=ReplayAnswer)
async def replay_dead_letter(delivery_id: str, operator: Operator, service: Service) -> dict[str, Any]:
    """Back to pending, due now, with a fresh budget of attempts."""
    return await service.dead_letters.replay(operator, delivery_id)
