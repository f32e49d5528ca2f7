"""Penggabungan saldo: a member moves the balances of their KPJ cards onto one card."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from jmo_shared.errors import DomainError, ErrorKind, not_found
from jmo_shared.events.balance import BalanceMerged, MergedCard
from jmo_shared.events.envelope import CloudEvent
from jmo_shared.events.identity import FaceVerified
from jmo_shared.face_assertion import FaceAssertion, FaceAssertionReader
from jmo_shared.mongo import Tx

from ..adapters.repository import BalanceRepository, card_from_doc
from ..domain.merges import COMPLETED, Verification, check_verification, merge_id_for, plan_merge
from .figures import FigureKeeper


@dataclass(frozen=True)
class MergeRequest:
    member_id: str
    nik: str
    kpj_numbers: list[str]
    verification_id: str


def merge_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "merge_id": doc["_id"],
        "status": doc["status"],
        "target_kpj": doc["target_kpj"],
        "source_kpjs": doc["source_kpjs"],
        "moved": doc["moved"],
        "target_balance_idr": doc["target_balance_idr"],
        "requested_at": doc["requested_at"],
        "completed_at": doc.get("completed_at"),
    }


class MergeService:
    def __init__(
        self,
        repo: BalanceRepository,
        figures: FigureKeeper,
        step_delay_seconds: float = 0.0,
        faces: FaceAssertionReader | None = None,
    ) -> None:
        self.repo = repo
        self.figures = figures
        self.faces = faces
        # Test-only (BALANCE_MERGE_STEP_DELAY_SECONDS): holds a merge half-done so a crash can hit it there.
        self.step_delay = step_delay_seconds

    async def face_verified(self, tx: Tx, data: FaceVerified, event: CloudEvent) -> None:
        if data.purpose != "balance_merge":
            return
        await self.repo.save_verification(
            tx,
            {
                "_id": data.verification_id,
                "member_id": data.member_id,
                "nik": data.nik,
                "purpose": data.purpose,
                "verified_at": data.verified_at,
                "expires_at": data.expires_at,
            },
        )

    async def _assertion(self, verification_id: str) -> FaceAssertion | None:
        return await self.faces.read(verification_id) if self.faces is not None else None

    async def merge(self, tx: Tx, req: MergeRequest) -> dict[str, Any]:
        """Runs inside one transaction: all the cards move, or none does."""
        # A signed assertion counts at once; the match's own id (its jti) is what the merge follows from.
        assertion = await self._assertion(req.verification_id)
        verification_id = assertion.verification_id if assertion else req.verification_id
        merge_id = merge_id_for(req.nik, verification_id)
        existing = await self.repo.merge(tx, merge_id)
        if existing is not None:
            if existing["requested_kpjs"] != req.kpj_numbers:
                raise DomainError(
                    code="verification_used",
                    kind=ErrorKind.CONFLICT,
                    detail="this face verification was already used for another merge",
                )
            return merge_view(existing)
        now = self.figures.clock.now()
        verification = await self.repo.verification(tx, verification_id)
        if verification is None and assertion is not None:
            # Recorded as FaceVerified will record it, so "used once" holds whichever comes first.
            await self.repo.save_verification(
                tx,
                {
                    "_id": assertion.verification_id,
                    "member_id": assertion.member_id,
                    "nik": assertion.nik,
                    "purpose": assertion.purpose,
                    "verified_at": assertion.verified_at,
                    "expires_at": assertion.expires_at,
                },
            )
            verification = Verification(
                verification_id=assertion.verification_id,
                member_id=assertion.member_id,
                nik=assertion.nik,
                purpose=assertion.purpose,
                expires_at=assertion.expires_at,
            )
        check_verification(verification, req.member_id, req.nik, now, merge_id)
        docs = await self.repo.cards_by_kpj(tx, req.kpj_numbers)
        cards = {kpj: card_from_doc(d) for kpj, d in docs.items()}
        held = await self.repo.held_kpjs(tx, req.kpj_numbers)
        today = self.figures.clock.day_of(now)
        plan = plan_merge(req.kpj_numbers, cards, req.nik, today, held)

        before: dict[str, int] = {}
        for kpj in req.kpj_numbers:
            before.update({k: f.balance_idr for k, f in (await self.figures.pot(tx, kpj, now)).items()})
        await self.repo.merge_cards(tx, plan.target, list(plan.sources), merge_id, now, today)
        if self.step_delay:
            await asyncio.sleep(self.step_delay)
        moved = [MergedCard(kpj=k, amount_idr=before.get(k, 0)) for k in plan.sources]
        for m in moved:
            await self.repo.add_ledger_entry(
                tx,
                f"merge_out:{merge_id}:{m.kpj}",
                {
                    "kind": "merge_out",
                    "kpj": m.kpj,
                    "amount_idr": -m.amount_idr,
                    "merge_id": merge_id,
                    "counterpart": plan.target,
                    "at": now,
                },
            )
            await self.repo.add_ledger_entry(
                tx,
                f"merge_in:{merge_id}:{m.kpj}",
                {
                    "kind": "merge_in",
                    "kpj": plan.target,
                    "amount_idr": m.amount_idr,
                    "merge_id": merge_id,
                    "counterpart": m.kpj,
                    "at": now,
                },
            )
        figures = await self.figures.refresh(tx, [plan.target], now)
        target_balance = figures[plan.target].balance_idr
        await self.repo.use_verification(tx, verification_id, merge_id)
        row = {
            "_id": merge_id,
            "nik": req.nik,
            "member_id": req.member_id,
            "status": COMPLETED,
            "requested_kpjs": req.kpj_numbers,
            "target_kpj": plan.target,
            "source_kpjs": list(plan.sources),
            "moved": [m.model_dump() for m in moved],
            "target_balance_idr": target_balance,
            "verification_id": verification_id,
            "requested_at": now,
            "completed_at": now,
        }
        await self.repo.insert_merge(tx, row)
        tx.emit(
            BalanceMerged(
                merge_id=merge_id,
                member_id=req.member_id,
                nik=req.nik,
                target_kpj=plan.target,
                sources=moved,
                target_balance_idr=target_balance,
                merged_at=now,
            )
        )
        return merge_view(row)

    async def get(self, merge_id: str, nik: str) -> dict[str, Any]:
        doc = await self.repo.merge_of(merge_id, nik)
        if doc is None:
            raise not_found("merge", code="merge_not_found")
        return merge_view(doc)
