"""Moving claims along as balance and payout report back.

Topics are shared by every claims instance and redelivered at least once, so a
handler ignores claims it does not hold and steps a claim has already passed;
an event that contradicts the claim's state is refused (dead-lettered, visibly).
"""

from __future__ import annotations

from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.events import (
    BalanceReservationRejected,
    BalanceReserved,
    CloudEvent,
    PayoutFailed,
    PayoutInitiated,
    PayoutSettled,
)
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.codec import stored_time
from ..adapters.metrics import OncePerClaim
from ..adapters.repository import ClaimRepository
from ..domain.claim import Claim, IllegalTransition, Status
from ..domain.eligibility import local_today
from ..domain.policy import ClaimPolicy
from .publishing import emit_approved, emit_rejected, emit_status_changes

log = get_logger(__name__)


class ClaimProgress:
    def __init__(
        self, repository: ClaimRepository, clock: Clock, policy: ClaimPolicy, paid_metric: OncePerClaim | None = None
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._policy = policy
        self._paid_metric = paid_metric or OncePerClaim()

    async def _claim(self, tx: Tx, claim_id: str, member_id: str, target: Status) -> Claim | None:
        claim = await self._repo.get(tx, claim_id)
        if claim is None:
            return None  # another deployment's claim on the shared topic
        if claim.member_id != member_id:
            raise DomainError(
                code="member_mismatch",
                detail=f"event for claim {claim_id} names another member",
                kind=ErrorKind.CONFLICT,
            )
        if claim.has_reached(target):
            log.info("claim_step_repeated", claim_id=claim_id, status=claim.status.value, target=target.value)
            return None
        return claim

    async def _save(self, tx: Tx, claim: Claim) -> None:
        await self._repo.save(tx, claim)
        emit_status_changes(tx, claim)

    async def on_balance_reserved(self, tx: Tx, data: BalanceReserved, event: CloudEvent) -> None:
        claim = await self._claim(tx, data.claim_id, data.member_id, Status.VERIFYING)
        if claim is None:
            return
        now = self._clock.now()
        with _refusing_illegal():
            claim.balance_reserved(data.amount_idr, now, self._policy)
            # Held for the risk service's verdict only when the settings ask for a wait (default: not).
            held = not claim.open_risk_flags and claim.hold_for_verdict(
                stored_time(now), self._policy.risk_verdict_wait_seconds
            )
            approved = not held and claim.verify(
                now, self._policy, await self._repo.current_bank_account(tx, claim.nik)
            )
        await self._save(tx, claim)
        if approved:
            emit_approved(tx, claim, local_today(now, self._policy), now)

    async def on_reservation_rejected(self, tx: Tx, data: BalanceReservationRejected, event: CloudEvent) -> None:
        claim = await self._claim(tx, data.claim_id, data.member_id, Status.REJECTED)
        if claim is None:
            return
        now = self._clock.now()
        with _refusing_illegal():
            claim.reject(data.reason_code, data.message, now)
        await self._save(tx, claim)
        emit_rejected(tx, claim, data.message, now)

    async def on_payout_initiated(self, tx: Tx, data: PayoutInitiated, event: CloudEvent) -> None:
        claim = await self._claim(tx, data.claim_id, data.member_id, Status.PAYING)
        if claim is None:
            return
        with _refusing_illegal():
            claim.payout_initiated(data.payout_id, data.gross_idr, data.tax_idr, data.net_idr, self._clock.now())
        await self._save(tx, claim)

    async def on_payout_settled(self, tx: Tx, data: PayoutSettled, event: CloudEvent) -> None:
        claim = await self._claim(tx, data.claim_id, data.member_id, Status.PAID)
        if claim is None:
            return
        now = self._clock.now()
        with _refusing_illegal():
            if claim.status == Status.APPROVED:
                # The settlement carries everything PayoutInitiated would have told us.
                claim.payout_initiated(data.payout_id, data.gross_idr, data.tax_idr, data.net_idr, now)
            claim.paid(data.gross_idr, data.tax_idr, data.net_idr, now)
        await self._save(tx, claim)
        self._paid_metric.paid(claim.claim_id, (now - claim.submitted_at).total_seconds())

    async def on_payout_failed(self, tx: Tx, data: PayoutFailed, event: CloudEvent) -> None:
        claim = await self._claim(tx, data.claim_id, data.member_id, Status.PAYOUT_FAILED)
        if claim is None:
            return
        with _refusing_illegal():
            claim.payout_failed(data.reason_code, data.bank_reason, self._clock.now())
        await self._save(tx, claim)

    async def read_ahead(self, tx: Tx, batch: list[tuple[object, CloudEvent]]) -> None:
        """Every claim a batch's events name, in one read (each handler reads its claim first), and the
        members whose held claims may be approved (their current bank account)."""
        await self._repo.read_ahead(
            tx,
            [claim_id for data, _ in batch if (claim_id := getattr(data, "claim_id", None))],
            [data.nik for data, _ in batch if isinstance(data, BalanceReserved)],
        )

    def handlers(self) -> tuple:
        return (
            (BalanceReserved, self.on_balance_reserved),
            (BalanceReservationRejected, self.on_reservation_rejected),
            (PayoutInitiated, self.on_payout_initiated),
            (PayoutSettled, self.on_payout_settled),
            (PayoutFailed, self.on_payout_failed),
        )


class _refusing_illegal:
    """Turn an illegal move into a DomainError, which the consumer dead-letters."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if isinstance(exc, IllegalTransition):
            raise DomainError(code="illegal_transition", detail=str(exc), kind=ErrorKind.CONFLICT) from exc
        return False
