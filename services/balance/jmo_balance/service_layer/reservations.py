"""Holding a claim's amount (claims.events) and settling it (payout.events)."""

from __future__ import annotations

from jmo_shared.events.balance import BalanceDebited, BalanceReleased, BalanceReservationRejected, BalanceReserved
from jmo_shared.events.claims import ClaimRejected, ClaimSubmitted
from jmo_shared.events.envelope import CloudEvent
from jmo_shared.events.payout import PayoutFailed, PayoutSettled
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Tx

from ..adapters.repository import (
    BalanceRepository,
    card_from_doc,
    hold_increments,
    reservation_from_doc,
    withdrawal_increments,
)
from ..domain.reservations import (
    CANCELLED,
    DEBITED,
    OPEN,
    REJECTED,
    RELEASED,
    Refuse,
    can_release,
    decide_reservation,
    settle,
)
from .figures import FigureKeeper

log = get_logger(__name__)


def debit_entry_id(claim_id: str) -> str:
    """The ledger entry of a claim's debit: one per claim, however often the settlement comes."""
    return f"debit:{claim_id}"


class ReservationHandlers:
    def __init__(self, repo: BalanceRepository, figures: FigureKeeper) -> None:
        self.repo = repo
        self.figures = figures

    async def read_ahead(self, tx: Tx, batch: list[tuple[object, CloudEvent]]) -> None:
        """The holds, open-claim slots, debit ledger entries and cards a consumer batch's handlers read, a
        query each."""
        claim_ids = [claim_id for data, _ in batch if (claim_id := getattr(data, "claim_id", None))]
        submitted = [data for data, _ in batch if isinstance(data, ClaimSubmitted)]
        debits = [debit_entry_id(data.claim_id) for data, _ in batch if isinstance(data, PayoutSettled)]
        await self.repo.read_ahead(
            tx, claim_ids, [data.nik for data in submitted], debits, [data.kpj for data in submitted]
        )

    async def claim_submitted(self, tx: Tx, data: ClaimSubmitted, event: CloudEvent) -> None:
        if await self.repo.reservation(tx, data.claim_id) is not None:
            # Decided before (or the claim was closed before it reached us): same claim, no second hold.
            return
        now = self.figures.clock.now()
        doc = await self.repo.card_doc(tx, data.kpj)
        card = card_from_doc(doc) if doc else None
        pot = await self.figures.pot(tx, data.kpj, now, doc) if doc else {}
        decision = decide_reservation(
            card, pot.get(data.kpj), data.nik, await self.repo.open_claim_of(tx, data.nik), data.partial_percent
        )
        base = {
            "member_id": data.member_id,
            "nik": data.nik,
            "kpj": data.kpj,
            "reason": data.reason,
            "partial_percent": data.partial_percent,
            "at": now,
        }
        if isinstance(decision, Refuse):
            await self.repo.record_reservation(
                tx, data.claim_id, {**base, "status": REJECTED, "amount_idr": 0, "reason_code": decision.reason_code}
            )
            tx.emit(
                BalanceReservationRejected(
                    claim_id=data.claim_id,
                    member_id=data.member_id,
                    kpj=data.kpj,
                    reason_code=decision.reason_code,
                    message=decision.message,
                )
            )
            return
        await self.repo.record_reservation(
            tx, data.claim_id, {**base, "status": OPEN, "amount_idr": decision.amount_idr}
        )
        tx.emit(
            BalanceReserved(
                claim_id=data.claim_id,
                member_id=data.member_id,
                nik=data.nik,
                kpj=data.kpj,
                amount_idr=decision.amount_idr,
                balance_idr=decision.balance_idr,
                reserved_at=now,
            )
        )
        # The hold is $inc'ed in the update that stores the card's new figures: one write, and the card
        # read once (above).
        await self.figures.refresh(
            tx, [data.kpj], now, written=doc, increments={data.kpj: hold_increments(decision.amount_idr)}
        )

    async def payout_settled(self, tx: Tx, data: PayoutSettled, event: CloudEvent) -> None:
        reservation = reservation_from_doc(await self.repo.reservation(tx, data.claim_id))
        debit = settle(reservation, data.gross_idr)
        if reservation is None or debit is None:
            log.info(
                "payout_settled_ignored",
                claim_id=data.claim_id,
                payout_id=data.payout_id,
                status=reservation.status if reservation else None,
            )
            return
        if debit.anomaly:
            log.warning("payout_above_hold", claim_id=data.claim_id, payout_id=data.payout_id, detail=debit.anomaly)
        now = self.figures.clock.now()
        settled_on = self.figures.clock.day_of(data.settled_at)
        period = f"{settled_on.year:04d}-{settled_on.month:02d}"
        await self.repo.add_ledger_entry(
            tx,
            debit_entry_id(data.claim_id),
            {
                "kind": "debit",
                "kpj": reservation.kpj,
                "amount_idr": -debit.amount_idr,
                "claim_id": data.claim_id,
                "payout_id": data.payout_id,
                "bank_reference": data.bank_reference,
                "period": period,
                "at": data.settled_at,
                "recorded_at": now,
                "anomaly": debit.anomaly,
            },
        )
        await self.repo.close_reservation(
            tx,
            data.claim_id,
            reservation.nik,
            {"status": DEBITED, "payout_id": data.payout_id, "debited_idr": debit.amount_idr, "closed_at": now},
        )
        withdrawal = withdrawal_increments(period, debit.amount_idr, reservation.amount_idr)
        figures = await self.figures.refresh(tx, [reservation.kpj], now, increments={reservation.kpj: withdrawal})
        tx.emit(
            BalanceDebited(
                claim_id=data.claim_id,
                member_id=reservation.member_id,
                kpj=reservation.kpj,
                payout_id=data.payout_id,
                amount_idr=debit.amount_idr,
                balance_idr=figures[reservation.kpj].balance_idr,
                debited_at=data.settled_at,
            )
        )

    async def payout_failed(self, tx: Tx, data: PayoutFailed, event: CloudEvent) -> None:
        await self._release(
            tx, data.claim_id, "payout_failed", {"payout_id": data.payout_id, "payout_reason_code": data.reason_code}
        )

    async def claim_rejected(self, tx: Tx, data: ClaimRejected, event: CloudEvent) -> None:
        if await self.repo.reservation(tx, data.claim_id) is None:
            # The rejection overtook the submission: remember it so the submission holds nothing.
            await self.repo.record_reservation(
                tx,
                data.claim_id,
                {
                    "member_id": data.member_id,
                    "nik": "",
                    "kpj": data.kpj,
                    "status": CANCELLED,
                    "amount_idr": 0,
                    "reason_code": data.reason_code,
                    "at": self.figures.clock.now(),
                },
            )
            return
        await self._release(tx, data.claim_id, "claim_rejected", {"claim_reason_code": data.reason_code})

    async def _release(self, tx: Tx, claim_id: str, reason_code: str, extra: dict) -> None:
        reservation = reservation_from_doc(await self.repo.reservation(tx, claim_id))
        if reservation is None or not can_release(reservation):
            log.info(
                "release_ignored",
                claim_id=claim_id,
                reason_code=reason_code,
                status=reservation.status if reservation else None,
            )
            return
        now = self.figures.clock.now()
        closing = {"status": RELEASED, "release_reason": reason_code, "closed_at": now, **extra}
        await self.repo.close_reservation(tx, claim_id, reservation.nik, closing)
        tx.emit(
            BalanceReleased(
                claim_id=claim_id,
                member_id=reservation.member_id,
                kpj=reservation.kpj,
                amount_idr=reservation.amount_idr,
                reason_code=reason_code,
                released_at=now,
            )
        )
        await self.figures.refresh(
            tx, [reservation.kpj], now, increments={reservation.kpj: hold_increments(-reservation.amount_idr)}
        )
