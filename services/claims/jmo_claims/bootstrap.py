"""The one place the claims service is put together from its settings. Nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from jmo_shared.clock import Clock, SystemClock
from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.face_assertion import FaceAssertionReader
from jmo_shared.idempotency import IdempotencyStore
from jmo_shared.runtime import Runtime
from jmo_shared.topics import (
    BALANCE_EVENTS,
    CORE_MEMBERSHIP,
    HELPDESK_EVENTS,
    IDENTITY_EVENTS,
    PAYOUT_EVENTS,
    POPULATION_RECORDS,
    PROFILE_EVENTS,
    RISK_EVENTS,
)

from .adapters import status_counts
from .adapters.collections import ensure_indexes
from .adapters.documents import DocumentStore
from .adapters.repository import ClaimRepository, ReadModel
from .adapters.review import ReviewAudit, ReviewReads
from .domain.policy import ClaimPolicy
from .service_layer.complaints import HANDLERS as COMPLAINT_HANDLERS
from .service_layer.complaints import ComplaintAwareQueries
from .service_layer.documents import DocumentUploads, PendingDocuments
from .service_layer.escalation import SlaEscalation
from .service_layer.progress import ClaimProgress
from .service_layer.projections import BATCH_HANDLERS as PROJECTION_BATCH_HANDLERS
from .service_layer.projections import HANDLERS as PROJECTION_HANDLERS
from .service_layer.queries import ClaimQueries
from .service_layer.review import ClaimReview
from .service_layer.risk import RiskVerdicts
from .service_layer.submission import ClaimSubmission
from .settings import ClaimsSettings

# The worker's consumer groups (group name suffix) and what each reads.
CONSUMED_TOPICS: dict[str, list[str]] = {
    "projections": [CORE_MEMBERSHIP, POPULATION_RECORDS, IDENTITY_EVENTS, PROFILE_EVENTS, BALANCE_EVENTS],
    "progress": [BALANCE_EVENTS, PAYOUT_EVENTS],
    "complaints": [HELPDESK_EVENTS],
    "risk": [RISK_EVENTS],
}


@dataclass
class ClaimsService:
    settings: ClaimsSettings
    runtime: Runtime
    clock: Clock
    policy: ClaimPolicy
    idempotency: IdempotencyStore
    queries: ClaimQueries
    submission: ClaimSubmission
    uploads: DocumentUploads
    progress: ClaimProgress
    review: ClaimReview
    escalation: SlaEscalation
    risk: RiskVerdicts

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.runtime.db)
        await status_counts.ensure_counters(self.runtime.db)
        await self.idempotency.ensure_indexes()

    def consumers(self) -> list[IdempotentConsumer]:
        projections = self.runtime.consumer("projections", topics=CONSUMED_TOPICS["projections"])
        for event_cls, handler in PROJECTION_HANDLERS:
            projections.on(event_cls, handler)
        for event_cls, batch_handler in PROJECTION_BATCH_HANDLERS:
            # Each keeps the newest version only, so a repeat changes nothing: no processed ids.
            projections.on_batch(event_cls, batch_handler, idempotent=True)
        progress = self.runtime.consumer("progress", topics=CONSUMED_TOPICS["progress"])
        for event_cls, handler in self.progress.handlers():
            progress.on(event_cls, handler)
        progress.read_ahead(self.progress.read_ahead)
        # Complaints the helpdesk received about a claim (shown on the claim).
        complaints = self.runtime.consumer("complaints", topics=CONSUMED_TOPICS["complaints"])
        for event_cls, handler in COMPLAINT_HANDLERS:
            complaints.on(event_cls, handler)
        # The risk service's flags and verdicts (RiskFlagged -> NEEDS_REVIEW before payout).
        risk = self.runtime.consumer("risk", topics=CONSUMED_TOPICS["risk"])
        for event_cls, handler in self.risk.handlers():
            risk.on(event_cls, handler)
        return [projections, progress, complaints, risk]


def build(settings: ClaimsSettings | None = None, clock: Clock | None = None) -> ClaimsService:
    settings = settings or ClaimsSettings()
    clock = clock or SystemClock()
    policy = settings.policy()
    runtime = Runtime(settings)
    read_model = ReadModel(runtime.db, FaceAssertionReader(runtime.verifier))
    repository = ClaimRepository()
    idempotency = IdempotencyStore(runtime.db, scope="claims.submit")
    documents = DocumentStore(runtime.db)
    return ClaimsService(
        settings=settings,
        runtime=runtime,
        clock=clock,
        policy=policy,
        idempotency=idempotency,
        queries=ComplaintAwareQueries(ClaimQueries(read_model, clock, policy), runtime.db),
        submission=ClaimSubmission(runtime.db, read_model, repository, idempotency, clock, policy),
        uploads=DocumentUploads(
            documents,
            clock,
            settings.document_max_bytes,
            PendingDocuments(
                settings.document_pending_max,
                timedelta(days=settings.document_retention_days),
                settings.document_sweep_batch,
            ),
        ),
        progress=ClaimProgress(repository, clock, policy),
        review=ClaimReview(
            runtime.db, ReviewReads(runtime.db), ReviewAudit(runtime.db), documents, repository, clock, policy
        ),
        escalation=SlaEscalation(runtime.db, repository, clock, policy),
        risk=RiskVerdicts(runtime.db, repository, clock, policy),
    )
