"""Read-side handlers: eligibility checklist and the member's claims."""

from __future__ import annotations

from typing import Any

from jmo_shared.auth import Principal
from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind, not_found

from ..adapters.repository import ReadModel
from ..domain.eligibility import assess_member, local_today
from ..domain.model import Unmet
from ..domain.policy import ClaimPolicy
from ..domain.submission import profile_refusals
from . import views


class ClaimQueries:
    def __init__(self, read_model: ReadModel, clock: Clock, policy: ClaimPolicy) -> None:
        self._read = read_model
        self._clock = clock
        self._policy = policy

    async def eligibility(self, member: Principal, kpj: str | None) -> dict[str, Any]:
        nik = member.nik or ""
        facts, profile, history = await self._read.member_and_claims(nik)
        if kpj is not None and facts.card(kpj) is None:
            raise DomainError(
                code="card_not_found", detail=f"card {kpj} is not one of your KPJ cards", kind=ErrorKind.NOT_FOUND
            )
        now = self._clock.now()
        today = local_today(now, self._policy)
        has_npwp = bool(profile and profile.npwp)
        results = assess_member(facts, today, has_npwp, self._policy, kpj=kpj)
        # What stops any claim right now, whatever the reason: fix these in a data update.
        blockers = [Unmet(r.code, r.message) for r in profile_refusals(profile, now, self._policy)]
        if history.open_claim:
            blockers.append(Unmet("open_claim_exists", "You have a claim in progress; one claim at a time."))
        return {
            "as_of": today.isoformat(),
            "cards": [views.card(c) for c in facts.cards if kpj is None or c.kpj == kpj],
            "reasons": [views.assessment(a) for a in results],
            "blockers": views.unmet(blockers),
        }

    async def claims(self, member: Principal, skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the member's claims, newest first, and how many there are in all."""
        claims, total = await self._read.claims_of(member.member_id, skip, limit)
        return [views.claim(c) for c in claims], total

    async def claim(self, member: Principal, claim_id: str) -> dict[str, Any]:
        claim = await self._read.claim_of(member.member_id, claim_id)
        if claim is None:
            # Someone else's claim reads exactly like one that does not exist.
            raise not_found("claim", code="claim_not_found")
        return views.claim(claim)
