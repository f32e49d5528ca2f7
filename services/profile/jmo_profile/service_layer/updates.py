"""Handlers of the pengkinian data wizard and the profile reads.

Each handler checks what it can before writing, asks the bank outside any
transaction (a retried transaction must not repeat an HTTP call), then writes
in one transaction that re-reads what it depends on.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind, FieldError
from jmo_shared.events import BankAccount, ProfileUpdated
from jmo_shared.face_assertion import FaceAssertionReader
from jmo_shared.mongo import Database, Tx

from ..adapters.inquiry_attempts import InquiryAttempts
from ..adapters.repository import Store
from ..domain import changes, validation
from ..domain import profile as views
from ..domain.banks import BANK_NAMES, mask_account_number
from ..domain.errors import Invalid, Refusal, refuse_if_invalid
from ..domain.names import NameMatch, compare_names
from ..domain.restrictions import refuse_bank_account_change
from ..domain.wizard import STEPS, Update, check_face_verification
from .ports import BankInquiry, BankInquiryUnavailable

_KIND = {
    "invalid": ErrorKind.INVALID,
    "conflict": ErrorKind.CONFLICT,
    "not_found": ErrorKind.NOT_FOUND,
    "unavailable": ErrorKind.UNAVAILABLE,
    "too_many": ErrorKind.RATE_LIMITED,
}


@contextmanager
def answered_as_problems():
    """Domain refusals become problem+json answers with the same codes."""
    try:
        yield
    except Refusal as refusal:
        retry_after = refusal.extra.get("retry_after")
        raise DomainError(
            code=refusal.code,
            detail=refusal.detail,
            kind=_KIND[refusal.kind],
            errors=[FieldError(e.field, e.code, e.message) for e in refusal.errors],
            headers={"Retry-After": str(retry_after)} if retry_after is not None else {},
            extra=refusal.extra,
        ) from refusal


@dataclass(frozen=True)
class Member:
    """Who is asking: everything is filtered by these two, taken from the token."""

    member_id: str
    nik: str


class ProfileUpdates:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        bank: BankInquiry,
        account_lengths: Mapping[str, int],
        faces: FaceAssertionReader | None = None,
        inquiries: InquiryAttempts | None = None,
    ) -> None:
        self._db = db
        self._inquiries = inquiries
        self._clock = clock
        self._bank = bank
        self._lengths = dict(account_lengths)
        self._faces = faces

    # --- reads -----------------------------------------------------------------

    async def profile(self, member: Member) -> dict[str, Any]:
        store = Store(self._db)
        person = await store.person(member.nik) or {}
        cards = await store.cards(member.nik)
        if not person and not cards:
            raise DomainError("profile_not_found", "nothing is known about this member yet", kind=ErrorKind.NOT_FOUND)
        return views.profile_view(member.nik, member.member_id, person, cards)

    async def bank_account_history(self, member: Member, skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the bank account's changes, newest first (numbers masked), and how many there are."""
        rows, total = await Store(self._db).bank_account_changes(member.member_id, skip, limit)
        changes = [
            {
                "at": row["at"],
                "update_id": row["update_id"],
                "face_verification_id": row.get("face_verification_id"),
                "old": _masked(row.get("old")),
                "new": _masked(row.get("new")),
            }
            for row in rows
        ]
        return changes, total

    async def review(self, member: Member, update_id: str) -> dict[str, Any]:
        store = Store(self._db)
        with answered_as_problems():
            update = await self._own_update(store, member, update_id)
        review = {**summary(update), "entered": {step: update.data(step) for step in STEPS if step in update.steps}}
        if update.status == "open" and update.next_step is None:
            person = await store.person(member.nik) or {}
            review["changes"] = changes.plan(person, update, self._now()).changed_fields
        return review

    # --- the wizard ------------------------------------------------------------

    async def start(self, member: Member) -> tuple[dict[str, Any], bool]:
        """The member's open update, or a new one; True when it was created."""
        if not await Store(self._db).cards(member.nik):
            raise DomainError(
                "profile_not_found", "no membership card is known for this member yet", kind=ErrorKind.NOT_FOUND
            )

        async def work(tx: Tx) -> tuple[Update, bool]:
            store = Store.of(tx)
            person = await store.person(member.nik) or {}
            if person.get("open_update_id"):
                existing = await store.update(person["open_update_id"], member.member_id)
                if existing is not None and existing.status == "open":
                    return existing, False
            now = self._now()
            update = Update(update_id=str(uuid.uuid4()), member_id=member.member_id, nik=member.nik, created_at=now)
            await store.insert_update(update)
            # Written in the same document every start reads: two concurrent starts conflict
            # and the retried one finds the first's update instead of opening a second.
            await store.set_person_fields(member.nik, {"open_update_id": update.update_id}, now)
            return update, True

        update, created = await self._db.transaction(work)
        return summary(update), created

    async def enter_step(self, member: Member, update_id: str, step: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with answered_as_problems():
            update = await self._own_update(Store(self._db), member, update_id)
            update.check_can_enter(step)
            data = await self._validated(step, body, member, update)

            async def work(tx: Tx) -> Update:
                store = Store.of(tx)
                current = await self._own_update(store, member, update_id)
                current.enter(step, data, self._now())
                await store.save_update(current)
                if step == "face":
                    await store.mark_face_verification_used(data["verification_id"], update_id)
                return current

            return summary(await self._db.transaction(work))

    async def confirm(self, member: Member, update_id: str) -> dict[str, Any]:
        with answered_as_problems():

            async def work(tx: Tx) -> dict[str, Any]:
                store = Store.of(tx)
                update = await self._own_update(store, member, update_id)
                if update.status == "confirmed" and update.result is not None:
                    return update.result  # a repeated confirm answers what the first one did
                update.check_can_confirm()
                now = self._now()
                person = await store.person(member.nik) or {}
                cards = await store.cards(member.nik)
                plan = changes.plan(person, update, now)
                if plan.bank_account_changed:
                    # A recovery may have come in since the tax-bank step was entered.
                    new_bank = plan.new_bank_account
                    refuse_bank_account_change(person, new_bank["bank_code"], new_bank["account_number"], now)
                result = {
                    "update_id": update_id,
                    "status": "confirmed",
                    "confirmed_at": now,
                    "data_update_completed": True,
                    "changed_fields": plan.changed_fields,
                    "bank_account_changed": plan.bank_account_changed,
                }
                update.confirm(now, result)
                await store.save_update(update)
                await store.set_person_fields(
                    member.nik,
                    {
                        "entered": plan.entered,
                        "data_update": {"completed": True, "update_id": update_id, "at": now},
                        "open_update_id": None,
                    },
                    now,
                )
                if "bank_account" in plan.changed_fields:
                    await store.add_bank_account_change(_audit_row(member, update, plan, now))
                tx.emit(_profile_updated(member, update, plan, person, cards, now), subject=member.member_id)
                return result

            return await self._db.transaction(work)

    # --- helpers -------------------------------------------------------------------

    def _now(self) -> datetime:
        # MongoDB keeps milliseconds: an answer given now and replayed later from storage must be equal.
        now = self._clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    async def _own_update(self, store: Store, member: Member, update_id: str) -> Update:
        update = await store.update(update_id, member.member_id)
        if update is None or update.nik != member.nik:
            raise Refusal("update_not_found", "no update of yours with this id", kind="not_found")
        return update

    async def _validated(self, step: str, body: Mapping[str, Any], member: Member, update: Update) -> dict[str, Any]:
        if step == "membership":
            return await self._membership(body, member)
        if step == "face":
            return await self._face(body, member, update)
        if step == "contact":
            data, errors = validation.contact_step(body)
        elif step == "tax-bank":
            return await self._tax_bank(body, member)
        elif step == "population":
            data, errors = validation.population_step(body, member.nik)
        else:
            data, errors = validation.additional_step(body, update.data("contact").get("phone"))
        refuse_if_invalid(errors)
        return data

    async def _membership(self, body: Mapping[str, Any], member: Member) -> dict[str, Any]:
        if body.get("confirmed") is not True:
            refuse_if_invalid([Invalid("confirmed", "must_confirm", "confirm that the membership data shown is right")])
        store = Store(self._db)
        person = await store.person(member.nik) or {}
        cards = await store.cards(member.nik)
        name, source = views.full_name(person, cards)
        # What the member saw and agreed to, kept with the update for any later dispute.
        return {
            "confirmed": True,
            "full_name": name,
            "full_name_source": source,
            "cards": [views.card_view(c) for c in cards],
            "mismatches_shown": len(views.mismatches(person, cards)),
        }

    async def _face(self, body: Mapping[str, Any], member: Member, update: Update) -> dict[str, Any]:
        verification_id = str(body.get("verification_id") or "").strip()
        if not verification_id:
            refuse_if_invalid([Invalid("verification_id", "required", "verification_id is required")])
        store = Store(self._db)
        assertion = await self._faces.read(verification_id) if self._faces is not None else None
        if assertion is not None:
            # Signed by identity: counts at once. Recorded as FaceVerified records it ($setOnInsert, so
            # whichever comes first wins and "used once" goes by the match's own id, the jti).
            verification_id = assertion.verification_id
            await store.save_face_verification(
                verification_id,
                {
                    "member_id": assertion.member_id,
                    "nik": assertion.nik,
                    "purpose": assertion.purpose,
                    "score": assertion.score,
                    "model_version": assertion.model_version,
                    "verified_at": assertion.verified_at,
                    "expires_at": assertion.expires_at,
                },
            )
        verification = await store.face_verification(verification_id)
        check_face_verification(verification, member.member_id, member.nik, self._now(), update.update_id)
        assert verification is not None
        return {
            "verification_id": verification_id,
            "verified_at": verification["verified_at"],
            "expires_at": verification["expires_at"],
        }

    async def _tax_bank(self, body: Mapping[str, Any], member: Member) -> dict[str, Any]:
        data, errors = validation.tax_bank_step(body, member.nik, self._lengths)
        refuse_if_invalid(errors)
        refuse_bank_account_change(
            await Store(self._db).person(member.nik) or {}, data["bank_code"], data["account_number"], self._now()
        )
        await self._count_inquiry(member)
        try:
            holder = await self._bank.inquire(data["bank_code"], data["account_number"])
        except BankInquiryUnavailable as exc:
            raise Refusal(
                "bank_inquiry_unavailable",
                "the bank cannot confirm the account right now; try again",
                kind="unavailable",
            ) from exc
        if holder is None:
            refuse_if_invalid([Invalid("account_number", "account_not_found", "the bank holds no such account")])
        assert holder is not None
        store = Store(self._db)
        name, _ = views.full_name(await store.person(member.nik) or {}, await store.cards(member.nik))
        match = compare_names(holder.holder_name, name or "")
        # The holder's name is not echoed: inquiries must not reveal who owns an account.
        problems = []
        if match is NameMatch.DIFFERENT:
            problems.append(
                Invalid(
                    "account_number",
                    "account_name_mismatch",
                    "this account is not in the name on your KTP; use an account in your own name",
                )
            )
        elif compare_names(data["account_name"], holder.holder_name) is NameMatch.DIFFERENT:
            problems.append(
                Invalid(
                    "account_name",
                    "account_name_mismatch",
                    "the name you entered is not the account holder's name at the bank",
                )
            )
        if problems:
            raise Refusal("account_name_mismatch", problems[0].message, errors=problems)
        return {**data, "inquiry_name": holder.holder_name, "inquired_at": self._now(), "name_match": match.value}

    async def _count_inquiry(self, member: Member) -> None:
        """Each inquiry tells the holder's name of an account: a member gets a few an hour, not a directory."""
        if self._inquiries is None:
            return
        wait = await self._inquiries.take(member.member_id, self._now())
        if wait is not None:
            raise too_many_inquiries(self._inquiries.limit, self._inquiries.window, wait)


def too_many_inquiries(limit: int, window: timedelta, wait: timedelta) -> Refusal:
    retry_after = max(1, math.ceil(wait.total_seconds()))
    hours = window.total_seconds() / 3600
    per = "an hour" if hours == 1 else f"in {int(window.total_seconds() // 60)} minutes"
    return Refusal(
        "too_many_attempts",
        f"the bank account was checked {limit} times {per}; try again in {retry_after} seconds",
        kind="too_many",
        extra={"retry_after": retry_after},
    )


def summary(update: Update) -> dict[str, Any]:
    return {
        "update_id": update.update_id,
        "status": update.status,
        "steps": update.step_statuses(),
        "next_step": update.next_step,
        "created_at": update.created_at,
        "confirmed_at": update.confirmed_at,
    }


def _masked(account: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not account:
        return None
    return {
        "bank_code": account.get("bank_code"),
        "bank_name": BANK_NAMES.get(account.get("bank_code") or ""),
        "account_number": mask_account_number(account.get("account_number")),
        "account_name": account.get("account_name"),
        "inquiry_name": account.get("inquiry_name"),
    }


def _audit_row(member: Member, update: Update, plan: changes.Application, now) -> dict[str, Any]:
    keep = ("bank_code", "account_number", "account_name", "inquiry_name")
    return {
        "_id": str(uuid.uuid4()),
        "member_id": member.member_id,
        "nik": member.nik,
        "update_id": update.update_id,
        "face_verification_id": update.data("face").get("verification_id"),
        "at": now,
        "old": {k: plan.old_bank_account.get(k) for k in keep} if plan.old_bank_account else None,
        "new": {k: plan.new_bank_account.get(k) for k in keep},
        "account_changed": plan.bank_account_changed,
    }


def _profile_updated(member: Member, update: Update, plan: changes.Application, person, cards, now) -> ProfileUpdated:
    name, _ = views.full_name(person, cards)
    bank = plan.new_bank_account
    contact = plan.entered["contact"]
    npwp = plan.entered.get("npwp") or {}
    return ProfileUpdated(
        member_id=member.member_id,
        nik=member.nik,
        update_id=update.update_id,
        changed_fields=plan.changed_fields,
        data_update_completed=True,
        full_name=name or "",
        email=contact.get("email"),
        phone=contact.get("phone"),
        npwp=npwp.get("value"),
        bank_account=BankAccount(
            bank_code=bank["bank_code"],
            account_number=bank["account_number"],
            account_name=bank["account_name"],
            inquiry_name=bank["inquiry_name"],
            changed_at=bank["changed_at"],
            face_verification_id=bank["face_verification_id"],
        ),
        bank_account_changed=plan.bank_account_changed,
        confirmed_at=now,
    )
