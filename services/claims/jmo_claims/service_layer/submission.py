"""Submitting a claim: idempotent, every precondition checked, claim and event in one transaction."""

from __future__ import annotations

import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError

from jmo_shared.auth import Principal
from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind, FieldError
from jmo_shared.idempotency import IdempotencyStore
from jmo_shared.logging import current_correlation_id, get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters.documents import attach
from ..adapters.repository import ClaimRepository, ReadModel
from ..domain.claim import Claim
from ..domain.model import FaceMatch
from ..domain.policy import ClaimPolicy
from ..domain.sla import sla_due_at
from ..domain.submission import ClaimRefused, Refusal, SubmissionFacts, SubmitClaim, decide
from . import views
from .publishing import emit_status_changes, emit_submitted

log = get_logger(__name__)

ACCEPTED = 202


def refusal_error(refusals: list[Refusal]) -> DomainError:
    first = refusals[0]
    return DomainError(
        code=first.code,
        detail=first.message,
        kind=first.kind,
        errors=[FieldError(r.field, r.code, r.message) for r in refusals],
    )


def _open_claim_error() -> DomainError:
    return refusal_error(
        [
            Refusal(
                "open_claim_exists",
                "You already have a claim in progress; one claim at a time.",
                "kpj",
                ErrorKind.CONFLICT,
            )
        ]
    )


class ClaimSubmission:
    def __init__(
        self,
        db: Database,
        read_model: ReadModel,
        repository: ClaimRepository,
        idempotency: IdempotencyStore,
        clock: Clock,
        policy: ClaimPolicy,
    ) -> None:
        self._db = db
        self._read = read_model
        self._repo = repository
        self._idempotency = idempotency
        self._clock = clock
        self._policy = policy

    async def submit(self, member: Principal, request: dict[str, Any], key: str | None) -> tuple[int, dict]:
        """Returns (HTTP status, body); a replay of the same key returns the first answer."""
        return await self._idempotency.run(
            member.member_id,
            key,
            request,
            "submit",
            create=lambda: self._submit(member, request, key or ""),
            replay=lambda stored: (stored.status, stored.body),
        )

    async def _facts(self, cmd: SubmitClaim, face: FaceMatch | None) -> SubmissionFacts:
        member, profile, history = await self._read.member_and_claims(cmd.nik)
        return SubmissionFacts(
            member=member,
            profile=profile,
            face=face,
            # Among this member's claims: a match of anyone else's is refused as not theirs anyway.
            face_already_used=cmd.verification_id in history.verifications_used,
            documents=await self._read.documents(list(cmd.document_ids)),
            has_open_claim=history.open_claim,
        )

    async def _submit(self, member: Principal, request: dict[str, Any], key: str) -> tuple[int, dict]:
        # The match's own id (an assertion's jti): what "used once" and the claim's record go by.
        face = await self._read.face(request["verification_id"])
        cmd = SubmitClaim(
            member_id=member.member_id,
            nik=member.nik or "",
            reason=request["reason"],
            kpj=request["kpj"],
            document_ids=tuple(request["document_ids"]),
            verification_id=face.verification_id if face else request["verification_id"],
            partial_percent=request.get("partial_percent"),
        )
        facts = await self._facts(cmd, face)
        now = self._clock.now()
        try:
            assessment = decide(cmd, facts, now, self._policy)
        except ClaimRefused as refused:
            raise refusal_error(refused.refusals) from None
        card = facts.member.card(cmd.kpj)
        profile = facts.profile
        assert card is not None and profile is not None  # decide() refused otherwise
        claim = Claim.submit(
            claim_id=str(uuid.uuid4()),
            member_id=cmd.member_id,
            nik=cmd.nik,
            kpj=cmd.kpj,
            reason=cmd.reason,
            document_ids=cmd.document_ids,
            verification_id=cmd.verification_id,
            submitted_at=now,
            sla_due_at=sla_due_at(now, assessment.estimated.gross_idr, self._policy),
            estimated=assessment.estimated,
            beneficiary_name=profile.full_name,
            bank_account=profile.bank_account,
            npwp=profile.npwp,
            partial_percent=assessment.partial_percent,
            employment_ended_on=card.employment.ended_on if card.employment else None,
            correlation_id=current_correlation_id(),
        )
        answer = {"claim_id": claim.claim_id, "status": claim.status.value, **_summary(claim)}

        async def work(tx: Tx) -> None:
            # Another request may have opened a claim since the check above: the open-claim slot's unique
            # insert (in `add`) then fails with a duplicate key, answered below as open_claim_exists.
            await self._repo.add(tx, claim)
            if not await attach(tx, claim.member_id, claim.claim_id, claim.document_ids):
                raise refusal_error(
                    [
                        Refusal(
                            "document_not_found",
                            "A document of this claim was removed as unused; upload it again.",
                            "document_ids",
                        )
                    ]
                )
            emit_submitted(tx, claim)
            emit_status_changes(tx, claim)
            await self._idempotency.complete(tx, member.member_id, key, ACCEPTED, answer)

        try:
            await self._db.transaction(work)
        except DuplicateKeyError:
            raise _open_claim_error() from None
        log.info("claim_submitted", claim_id=claim.claim_id, reason=claim.reason, kpj=claim.kpj)
        return ACCEPTED, answer


def _summary(claim: Claim) -> dict[str, Any]:
    view = views.claim(claim)
    return {k: view[k] for k in ("reason", "kpj", "sla_due_at", "estimated", "partial_percent")}
