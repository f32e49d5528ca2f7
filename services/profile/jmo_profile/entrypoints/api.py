"""The profile API: the member's profile and the pengkinian data wizard.

python -m jmo_profile.entrypoints.api   # serves on PROFILE_PORT (8002)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel

from jmo_shared.clock import Clock
from jmo_shared.http import CurrentMember, create_app
from jmo_shared.paging import Paging
from jmo_shared.runtime import api_lifespan, serve

from ..bootstrap import build
from ..service_layer.ports import BankInquiry
from ..service_layer.updates import Member, ProfileUpdates
from ..settings import ProfileSettings
from .schemas import (
    AdditionalStep,
    BankAccountChangePage,
    ConfirmResult,
    ContactStep,
    FaceStep,
    MembershipStep,
    PopulationStep,
    ProfileView,
    TaxBankStep,
    UpdateReview,
    UpdateSummary,
)


def _service(request: Request) -> ProfileUpdates:
    return request.app.state.profile_updates


def _member(principal: CurrentMember) -> Member:
    return Member(member_id=principal.member_id, nik=str(principal.nik))


Service = Annotated[ProfileUpdates, Depends(_service)]
Me = Annotated[Member, Depends(_member)]

profile_router = APIRouter(prefix="/v1/profile", tags=["profile"])
updates_router = APIRouter(prefix="/v1/profile/updates", tags=["pengkinian data"])


@profile_router.get(
    "",
    response_model=ProfileView,
    summary="The member's profile, what a claim still needs, and where records differ",
)
async def get_profile(me: Me, service: Service) -> dict[str, Any]:
    return await service.profile(me)


@profile_router.get(
    "/bank-account/changes",
    response_model=BankAccountChangePage,
    summary="The audit trail of the member's bank account (numbers masked), newest first, a page at a time",
)
async def list_bank_account_changes(me: Me, paging: Paging, service: Service) -> dict[str, Any]:
    # `changes` repeats the page's items for app versions that read it.
    changes, total = await service.bank_account_history(me, paging.skip, paging.page_size)
    return paging.answer(changes, total, changes=changes)


@updates_router.post(
    "", status_code=201, response_model=UpdateSummary, summary="Start a data update, or resume the open one (200)"
)
async def start_update(me: Me, service: Service, response: Response) -> dict[str, Any]:
    update, created = await service.start(me)
    if not created:
        response.status_code = 200
    return update


@updates_router.get("/{update_id}", response_model=UpdateReview, summary="Review everything entered")
async def review_update(update_id: str, me: Me, service: Service) -> dict[str, Any]:
    return await service.review(me, update_id)


@updates_router.post(
    "/{update_id}/confirm",
    response_model=ConfirmResult,
    summary="Apply the update to the profile; emits ProfileUpdated (repeatable)",
)
async def confirm_update(update_id: str, me: Me, service: Service) -> dict[str, Any]:
    return await service.confirm(me, update_id)


def _step_route(step: str, model: type[BaseModel], summary: str) -> None:
    async def enter(update_id: str, body: BaseModel, me: Me, service: Service) -> dict[str, Any]:
        return await service.enter_step(me, update_id, step, body.model_dump())

    # Each step documents its own body in the OpenAPI document.
    enter.__annotations__["body"] = model
    enter.__name__ = f"enter_{step.replace('-', '_')}_step"
    # The tax-bank step asks the member's bank about the account, a limited number of times.
    throttled = (
        {429: {"description": "`too_many_attempts`: retry after `retry_after` seconds"}} if step == "tax-bank" else {}
    )
    updates_router.put(
        f"/{{update_id}}/{step}", response_model=UpdateSummary, summary=summary, responses=dict(throttled)
    )(enter)


_step_route("membership", MembershipStep, "Step 1: confirm the membership data shown")
_step_route("face", FaceStep, "Step 2: a face verification for profile_update")
_step_route("contact", ContactStep, "Step 3: mobile number and e-mail")
_step_route("tax-bank", TaxBankStep, "Step 4: NPWP and a bank account in the member's own name")
_step_route("population", PopulationStep, "Step 5: KK number, address, birth place, mother's maiden name")
_step_route("additional", AdditionalStep, "Step 6: marital status, education, occupation, emergency contact")


def create_api(
    settings: ProfileSettings | None = None, *, clock: Clock | None = None, bank: BankInquiry | None = None
) -> FastAPI:
    settings = settings or ProfileSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not in the factory: jmo_shared's Runtime makes aiokafka clients,
        # which need the running event loop that only exists once uvicorn has started.
        service = build(settings, clock=clock, bank=bank)
        app.state.profile_updates = service.updates

        async def on_start(_: FastAPI) -> None:
            await service.ensure_indexes()

        async with api_lifespan(service.runtime, on_start=on_start)(app):
            try:
                yield
            finally:
                await service.bank.close()

    return create_app(
        title="profile",
        description="The member's profile (cards, contact, KTP data, bank account) and the pengkinian data wizard.",
        lifespan=lifespan,
        routers=[profile_router, updates_router],
        max_body_bytes=settings.max_json_body_bytes,
    )


def main() -> None:
    settings = ProfileSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
