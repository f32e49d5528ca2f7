"""The worker's periodic work: escalating late claims, and the claims-per-status gauge.

Several worker replicas may sweep at once: each claim is escalated in its own
transaction that re-reads it, so a replica that lost the race finds nothing due.
"""

from __future__ import annotations

from jmo_shared.clock import Clock
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters import status_counts, sweeps
from ..adapters.codec import stored_time
from ..adapters.metrics import BY_STATUS, SLA_BREACHES
from ..adapters.repository import ClaimRepository
from ..domain.escalation import Escalation
from ..domain.policy import ClaimPolicy
from .publishing import emit_sla_breached

log = get_logger(__name__)


class SlaEscalation:
    def __init__(
        self,
        db: Database,
        repository: ClaimRepository,
        clock: Clock,
        policy: ClaimPolicy,
        batch: int = 200,
        max_batches: int = 10,
    ) -> None:
        self._db = db
        self._repo = repository
        self._clock = clock
        self._policy = policy
        self._batch = batch
        # Bounded per sweep: a backlog is worked off over several sweeps, not in one long loop.
        self._max_batches = max_batches

    async def prepare(self) -> None:
        backfilled = await sweeps.backfill_escalation(self._db)
        if backfilled:
            log.info("sla_escalation_backfilled", claims=backfilled)

    async def sweep(self) -> int:
        """Escalate every open claim whose next escalation is due; returns how many were escalated."""
        escalated = 0
        for _ in range(self._max_batches):
            now = self._clock.now()
            ids = await sweeps.escalation_due(self._db, now, self._batch)
            for claim_id in ids:
                escalated += await self._escalate(claim_id)
            if len(ids) < self._batch:
                break
        return escalated

    async def _escalate(self, claim_id: str) -> int:
        now = stored_time(self._clock.now())

        async def work(tx: Tx) -> tuple[Escalation, str] | None:
            claim = await self._repo.get(tx, claim_id)
            if claim is None:
                return None
            before = claim.next_escalation_at
            escalation = claim.escalate(now, self._policy)
            if escalation is None and claim.next_escalation_at == before:
                return None
            await self._repo.save(tx, claim)
            if escalation is None:
                return None
            emit_sla_breached(tx, claim, escalation)
            return escalation, claim.reason

        done = await self._db.transaction(work)
        if done is None:
            return 0
        escalation, reason = done
        # Counted after the commit, once per claim: further levels are the same breach.
        if escalation.first_breach:
            SLA_BREACHES.labels(reason).inc()
        log.warning("claim_sla_escalated", claim_id=claim_id, level=escalation.level, to=escalation.to)
        return 1


async def refresh_status_gauge(db: Database) -> dict[str, int]:
    # From the counters the claims' transactions move (a count per status would fetch every claim).
    counts = await status_counts.counts(db)
    for status, count in counts.items():
        BY_STATUS.labels(status).set(count)
    return counts


async def reconcile_status_counts(db: Database) -> None:
    """At the worker's start: align the claims-per-status counters with the claims (once, the costly way).

    A failure (say a very large database outgrowing a transaction) is logged, not fatal: the counters then
    keep their previous base, and the next start tries again.
    """
    try:
        corrections = await status_counts.reconcile(db)
    except Exception as exc:  # noqa: BLE001 - the worker's other duties do not depend on the gauge
        log.error("claim_status_counts_not_reconciled", error=repr(exc))
        return
    corrected = {status: n for status, n in corrections.items() if n}
    if corrected:
        log.info("claim_status_counts_reconciled", corrections=corrected)
