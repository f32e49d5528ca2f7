"""Manual review by an officer: the queue, one claim with its documents and checks, the decision.

A decision continues the claim exactly as the automatic path would (ClaimApproved
to payout, or ClaimRejected so balance releases the reservation) in one
transaction with its audit entry. Two officers deciding at once: the database's
write conflict retries the loser, who then finds the claim decided (409).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from jmo_shared.auth import Principal
from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind, FieldError, not_found
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters.codec import stored_time
from ..adapters.documents import DocumentStore, StoredDocument
from ..adapters.repository import ClaimRepository
from ..adapters.review import ReviewAudit, ReviewReads
from ..domain.claim import Claim
from ..domain.eligibility import local_today
from ..domain.mismatches import check_fields
from ..domain.policy import ClaimPolicy
from ..domain.review import REASONS, AlreadyDecided, ReviewDecision, ReviewRefused, UnknownReviewReason
from . import review_views
from .publishing import emit_approved, emit_rejected, emit_status_changes

log = get_logger(__name__)


@dataclass(frozen=True)
class Download:
    document: StoredDocument
    content: AsyncIterator[bytes]


class ChecksumMismatch(Exception):
    pass


def _refused(exc: ReviewRefused) -> DomainError:
    if isinstance(exc, UnknownReviewReason):
        return DomainError(
            code=exc.code,
            detail=str(exc),
            kind=ErrorKind.INVALID,
            errors=[FieldError("reason_code", exc.code, str(exc))],
        )
    extra: dict[str, object] = {"claim_status": getattr(exc, "status", None)}
    if isinstance(exc, AlreadyDecided) and exc.decided is not None:
        extra["decision"] = review_views.review(exc.decided)
    return DomainError(code=exc.code, detail=str(exc), kind=ErrorKind.CONFLICT, extra=extra)


class ClaimReview:
    def __init__(
        self,
        db: Database,
        reads: ReviewReads,
        audit: ReviewAudit,
        documents: DocumentStore,
        repository: ClaimRepository,
        clock: Clock,
        policy: ClaimPolicy,
    ) -> None:
        self._db = db
        self._reads = reads
        self._audit = audit
        self._documents = documents
        self._repo = repository
        self._clock = clock
        self._policy = policy

    @staticmethod
    def reason_codes() -> dict[str, Any]:
        return {
            decision: [{"code": code, "message": sentence} for code, sentence in reasons.items()]
            for decision, reasons in REASONS.items()
        }

    async def queue(
        self, officer: Principal, reason: str | None, escalated: bool | None, skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the claims waiting for an officer (due soonest first) and how many wait in all."""
        claims, total = await self._reads.queue(reason, escalated, skip, limit)
        await self._audit.record(
            self._audit.entry(
                officer.member_id,
                "list_queue",
                self._clock.now(),
                filters={"reason": reason, "escalated": escalated, "page": skip // limit + 1},
                count=len(claims),
            )
        )
        return [review_views.queue_item(c) for c in claims], total

    async def _claim(self, claim_id: str) -> Claim:
        claim = await self._reads.claim(claim_id)
        if claim is None:
            raise not_found("claim", code="claim_not_found")
        return claim

    async def claim(self, officer: Principal, claim_id: str) -> dict[str, Any]:
        claim = await self._claim(claim_id)
        documents = await self._documents.described(list(claim.document_ids))
        checks = check_fields(await self._reads.identity(claim))
        # Looking at a member's documents and data is an action too (personal data).
        await self._audit.record(
            self._audit.entry(
                officer.member_id, "view_claim", self._clock.now(), claim_id, claim_status=claim.status.value
            )
        )
        trail = await self._audit.trail(claim_id)
        return review_views.officer_claim(claim, documents, checks, trail)

    async def download(self, officer: Principal, claim_id: str, document_id: str) -> Download:
        claim = await self._claim(claim_id)
        found = await self._documents.described([document_id]) if document_id in claim.document_ids else []
        # Only the claim's own documents, and only if they belong to the claim's member.
        if not found or found[0].member_id != claim.member_id:
            raise not_found("document", code="document_not_found")
        document = found[0]
        await self._audit.record(
            self._audit.entry(
                officer.member_id,
                "download_document",
                self._clock.now(),
                claim_id,
                document_id=document_id,
                kind=document.kind,
            )
        )
        return Download(document, self._verified(document))

    async def _verified(self, document: StoredDocument) -> AsyncIterator[bytes]:
        """The content, its last chunk held back until the whole file matched its upload checksum.

        A corrupted file then ends short of its Content-Length, which every client treats as a
        failed download, instead of arriving whole and wrong.
        """
        digest = hashlib.sha256()
        held: bytes | None = None
        async for chunk in self._documents.chunks(document.document_id):
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
        if document.sha256 and digest.hexdigest() != document.sha256:
            log.error("document_checksum_mismatch", document_id=document.document_id)
            raise ChecksumMismatch(document.document_id)
        if held is not None:
            yield held

    async def decide(
        self, officer: Principal, claim_id: str, decision: str, reason_code: str, note: str
    ) -> dict[str, Any]:
        now = stored_time(self._clock.now())
        try:
            wanted = ReviewDecision.taken(decision, reason_code, note, officer.member_id, now)
        except UnknownReviewReason as exc:
            raise _refused(exc) from None

        async def work(tx: Tx) -> tuple[Claim, bool] | ReviewRefused:
            claim = await self._repo.get(tx, claim_id)
            if claim is None:
                raise not_found("claim", code="claim_not_found")
            before = claim.status
            audit = self._audit.entry(
                officer.member_id,
                f"decide_{decision}",
                now,
                claim_id,
                reason_code=reason_code,
                note=note,
                status_before=before.value,
            )
            try:
                applied = claim.decide_review(wanted)
            except ReviewRefused as exc:
                # Audited in this transaction; refused after it commits.
                await self._audit.record(audit | {"outcome": "refused", "refusal": exc.code}, tx)
                return exc
            if applied:
                if not await self._repo.save(tx, claim, expect_status=before):
                    raise AlreadyDecided(claim_id, "changed", None)
                emit_status_changes(tx, claim)
                if wanted.approves:
                    emit_approved(tx, claim, local_today(now, self._policy), now)
                else:
                    emit_rejected(tx, claim, claim.timeline[-1].note, now)
            await self._audit.record(
                audit | {"outcome": "applied" if applied else "repeated", "status_after": claim.status.value}, tx
            )
            return claim, applied

        try:
            outcome = await self._db.transaction(work)
        except AlreadyDecided as exc:
            raise _refused(exc) from None
        if isinstance(outcome, ReviewRefused):
            log.info("review_refused", claim_id=claim_id, officer=officer.member_id, code=outcome.code)
            raise _refused(outcome)
        claim, applied = outcome
        log.info(
            "review_decided",
            claim_id=claim_id,
            officer=officer.member_id,
            decision=decision,
            reason_code=reason_code,
            repeated=not applied,
        )
        assert claim.review is not None
        return {
            "claim_id": claim.claim_id,
            "status": claim.status.value,
            "repeated": not applied,
            **(review_views.review(claim.review) or {}),
        }
