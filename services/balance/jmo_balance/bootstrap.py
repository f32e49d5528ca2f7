"""The one composition root: builds the balance service from its settings. Nothing runs at import."""

from __future__ import annotations

from dataclasses import dataclass

from jmo_shared.clock import Clock, SystemClock
from jmo_shared.consumer import IdempotentConsumer
from jmo_shared.events.claims import ClaimRejected, ClaimSubmitted
from jmo_shared.events.identity import FaceVerified
from jmo_shared.events.payout import PayoutFailed, PayoutSettled
from jmo_shared.events.upstream import ContributionPosted, EmploymentEnded, MemberRegistered
from jmo_shared.face_assertion import FaceAssertionReader
from jmo_shared.idempotency import IdempotencyStore
from jmo_shared.runtime import Runtime
from jmo_shared.topics import CLAIMS_EVENTS, CORE_MEMBERSHIP, IDENTITY_EVENTS, PAYOUT_EVENTS

from .adapters.card_changes import CardChangeFeed
from .adapters.card_signing import CardSigner, load_signer
from .adapters.repository import BalanceRepository, ensure_indexes
from .domain.returns import RateTable
from .service_layer.calendar import Calendar
from .service_layer.crediting import YearEndCrediting
from .service_layer.figures import FigureKeeper
from .service_layer.ledger import LedgerHandlers
from .service_layer.merges import MergeService
from .service_layer.read_cache import MemberReadCache
from .service_layer.requests import MergeRequests
from .service_layer.reservations import ReservationHandlers
from .service_layer.views import BalanceViews
from .settings import BalanceSettings

# The worker's consumer groups (group name suffix) and what each reads.
CONSUMED_TOPICS: dict[str, list[str]] = {
    "ledger": [CORE_MEMBERSHIP],
    "reservations": [CLAIMS_EVENTS, PAYOUT_EVENTS],
    "verifications": [IDENTITY_EVENTS],
}


@dataclass
class BalanceService:
    settings: BalanceSettings
    runtime: Runtime
    clock: Calendar
    repo: BalanceRepository
    figures: FigureKeeper
    ledger: LedgerHandlers
    reservations: ReservationHandlers
    merges: MergeService
    merge_requests: MergeRequests
    views: BalanceViews
    read_cache: MemberReadCache
    idempotency: IdempotencyStore
    signer: CardSigner | None = None

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.runtime.db)
        await self.idempotency.ensure_indexes()

    async def load_signer(self) -> CardSigner:
        self.signer = await load_signer(self.runtime.db, self.settings.card_signing_key_pem, self.settings.card_issuer)
        return self.signer

    def consumers(self) -> list[IdempotentConsumer]:
        rt = self.runtime
        return [
            rt.consumer("ledger", topics=CONSUMED_TOPICS["ledger"])
            .on(MemberRegistered, self.ledger.member_registered)
            # A card's month counts once whatever the event id (the ledger's own key): no processed ids.
            .on_batch(ContributionPosted, self.ledger.contributions_posted, idempotent=True)
            .on(EmploymentEnded, self.ledger.employment_ended),
            rt.consumer("reservations", topics=CONSUMED_TOPICS["reservations"])
            .on(ClaimSubmitted, self.reservations.claim_submitted)
            .on(ClaimRejected, self.reservations.claim_rejected)
            .on(PayoutSettled, self.reservations.payout_settled)
            .on(PayoutFailed, self.reservations.payout_failed)
            .read_ahead(self.reservations.read_ahead),
            rt.consumer("verifications", topics=CONSUMED_TOPICS["verifications"]).on(
                FaceVerified, self.merges.face_verified
            ),
        ]

    def card_changes(self) -> CardChangeFeed:
        """What keeps the API's read cache in step with the database (the API runs it)."""
        return CardChangeFeed(self.runtime.db, self.read_cache, pace_seconds=self.settings.card_feed_pace_seconds)

    def crediting(self) -> YearEndCrediting:
        return YearEndCrediting(self.runtime.db, self.repo, self.figures, self.settings.crediting_interval_seconds)


def build(settings: BalanceSettings | None = None, clock: Clock | None = None) -> BalanceService:
    settings = settings or BalanceSettings()
    clock = Calendar(clock or SystemClock(), settings.calendar_timezone)
    runtime = Runtime(settings)
    repo = BalanceRepository(runtime.db)
    rates = RateTable(by_year=dict(settings.return_rates_bp), default_bp=settings.default_return_rate_bp)
    figures = FigureKeeper(repo, rates, clock)
    merges = MergeService(
        repo, figures, step_delay_seconds=settings.merge_step_delay_seconds, faces=FaceAssertionReader(runtime.verifier)
    )
    idempotency = IdempotencyStore(runtime.db, scope="balance.merges")
    read_cache = MemberReadCache(settings.read_cache_ttl_seconds, settings.read_cache_max_members)
    return BalanceService(
        settings=settings,
        runtime=runtime,
        clock=clock,
        repo=repo,
        figures=figures,
        ledger=LedgerHandlers(repo, figures),
        reservations=ReservationHandlers(repo, figures),
        merges=merges,
        merge_requests=MergeRequests(runtime.db, merges, idempotency, on_merged=read_cache.member_changed),
        views=BalanceViews(repo, rates, clock, settings.card_programs, read_cache),
        read_cache=read_cache,
        idempotency=idempotency,
    )
