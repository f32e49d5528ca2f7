"""The risk service's verdicts on claims: flags, their clearing, and the hold for a verdict.

A flag for a claim not yet approved for payment sends it to an officer (NEEDS_REVIEW, reason code
risk_review; the member is not told the rule); a flag for a claim already approved is kept for
follow-up, because the money may have left. Claims never stall on the risk service: a claim is held
for a verdict only when CLAIMS_RISK_VERDICT_WAIT_SECONDS says so, and the sweep below lets it go on
(or go to an officer) when the wait ends without one.
"""

from __future__ import annotations

from jmo_shared.clock import Clock
from jmo_shared.events import ClaimScreened, CloudEvent, RiskFlagCleared, RiskFlagged
from jmo_shared.logging import correlation_id, get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters.codec import stored_time
from ..adapters.collections import CLAIMS
from ..adapters.metrics import RISK_FLAGS
from ..adapters.repository import ClaimRepository
from ..domain.claim import Claim, Status
from ..domain.eligibility import local_today
from ..domain.policy import ClaimPolicy
from ..domain.risk import RiskFlag
from .publishing import emit_approved, emit_status_changes

log = get_logger(__name__)


class RiskVerdicts:
    def __init__(self, db: Database, repository: ClaimRepository, clock: Clock, policy: ClaimPolicy) -> None:
        self._db = db
        self._repo = repository
        self._clock = clock
        self._policy = policy

    async def _claim(self, tx: Tx, claim_id: str | None, member_id: str | None) -> Claim | None:
        if not claim_id:
            return None  # a flag on an address or a NIK: for officers in the risk service only
        claim = await self._repo.get(tx, claim_id)
        if claim is None or (member_id and claim.member_id != member_id):
            return None  # another deployment's claim, or not this member's
        return claim

    async def _save(self, tx: Tx, claim: Claim, approved: bool, now) -> None:
        await self._repo.save(tx, claim)
        emit_status_changes(tx, claim)
        if approved:
            emit_approved(tx, claim, local_today(now, self._policy), now)

    async def on_risk_flagged(self, tx: Tx, data: RiskFlagged, event: CloudEvent) -> None:
        claim = await self._claim(tx, data.claim_id, data.member_id)
        if claim is None:
            return
        now = stored_time(self._clock.now())
        outcome = claim.risk_flagged(RiskFlag(data.flag_id, data.rule, data.flagged_at, dict(data.evidence)), now)
        if outcome == "repeated":
            return
        RISK_FLAGS.labels(data.rule, outcome).inc()
        log.info("claim_risk_flagged", claim_id=claim.claim_id, rule=data.rule, outcome=outcome)
        await self._save(tx, claim, False, now)

    async def on_flag_cleared(self, tx: Tx, data: RiskFlagCleared, event: CloudEvent) -> None:
        claim = await self._claim(tx, data.claim_id, data.member_id)
        if claim is None or not claim.risk_flag_cleared(data.flag_id, data.cleared_by, data.note, data.cleared_at):
            return
        await self._repo.save(tx, claim)

    async def on_claim_screened(self, tx: Tx, data: ClaimScreened, event: CloudEvent) -> None:
        claim = await self._claim(tx, data.claim_id, data.member_id)
        if claim is None or claim.risk_screened:
            return
        now = stored_time(self._clock.now())
        claim.risk_screened = True
        for f in data.flags:
            # The same flags arrive as RiskFlagged too (on another partition, maybe later): the first wins.
            claim.risk_flagged(RiskFlag(f.flag_id, f.rule, now, dict(f.evidence)), now)
        approved = False
        if claim.status == Status.VERIFYING and claim.verdict_due_at is not None:
            claim.verdict_due_at = None
            approved = claim.verify(now, self._policy, await self._repo.current_bank_account(tx, claim.nik))
        await self._save(tx, claim, approved, now)

    def handlers(self) -> tuple:
        found = [(RiskFlagged, self.on_risk_flagged), (RiskFlagCleared, self.on_flag_cleared)]
        if self._policy.risk_verdict_wait_seconds > 0:
            # Without a wait nothing holds a claim for a verdict: the verdicts are not even read.
            found.append((ClaimScreened, self.on_claim_screened))
        return tuple(found)

    async def sweep(self, batch: int = 200) -> int:
        """Claims whose wait for a verdict ended without one: on to payment, or to an officer (settings)."""
        now = self._clock.now()
        ids = [
            d["_id"] async for d in self._db[CLAIMS].find({"verdict_due_at": {"$lte": now}}, {"_id": 1}).limit(batch)
        ]
        for claim_id in ids:
            await self._db.transaction(lambda tx, claim_id=claim_id: self._release(tx, claim_id))
        return len(ids)

    async def _release(self, tx: Tx, claim_id: str) -> None:
        claim = await self._repo.get(tx, claim_id)
        if claim is None or claim.verdict_due_at is None:
            return
        token = correlation_id.set(claim.correlation_id)  # what this emits stays on the claim's trail
        try:
            await self._release_claim(tx, claim)
        finally:
            correlation_id.reset(token)

    async def _release_claim(self, tx: Tx, claim: Claim) -> None:
        claim_id = claim.claim_id
        now = stored_time(self._clock.now())
        if claim.status != Status.VERIFYING:
            claim.verdict_due_at = None
            await self._repo.save(tx, claim)
            return
        log.warning("risk_verdict_missing", claim_id=claim_id, proceed=self._policy.risk_proceed_without_verdict)
        approved = claim.verdict_missing(
            now,
            self._policy,
            await self._repo.current_bank_account(tx, claim.nik),
            self._policy.risk_proceed_without_verdict,
        )
        await self._save(tx, claim, approved, now)
