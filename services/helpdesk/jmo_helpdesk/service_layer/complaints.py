"""Filing, reading and answering complaints; the SLA sweep."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from jmo_shared.auth import Principal
from jmo_shared.clock import Clock
from jmo_shared.errors import DomainError, ErrorKind, FieldError, not_found
from jmo_shared.events.helpdesk import ComplaintAnswered, ComplaintFiled
from jmo_shared.idempotency import IdempotencyStore
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters.complaints import ComplaintRepository
from ..domain.complaints import Complaint, ComplaintError, SlaPolicy, format_ticket, ticket_year

log = get_logger(__name__)

SLA_BREACHES = Counter("helpdesk_sla_breaches_total", "Complaints that passed their SLA unresolved", ["category"])

FILED = 201


def complaint_view(c: Complaint, officer: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "ticket": c.ticket,
        "status": c.status.value,
        "category": c.category,
        "text": c.text,
        "claim_id": c.claim_id,
        "filed_at": c.filed_at.isoformat(),
        "sla_due_at": c.sla_due_at.isoformat(),
        "sla_breached": c.sla_breached,
        "resolution": c.resolution,
        "closed_at": c.closed_at.isoformat() if c.closed_at else None,
        # Officers' ids stay internal: a member sees that an officer answered, not who.
        "replies": [
            {
                "author": r.author,
                "text": r.text,
                "at": r.at.isoformat(),
                **({"author_id": r.author_id} if officer else {}),
            }
            for r in c.replies
        ],
    }
    if officer:
        view["member_id"] = c.member_id
    return view


def _refuse(exc: ComplaintError, field: str = "category") -> DomainError:
    if exc.code == "unknown_category":
        return DomainError(
            "validation_failed", exc.message, ErrorKind.INVALID, [FieldError(field, exc.code, exc.message)]
        )
    return DomainError(exc.code, exc.message, ErrorKind.CONFLICT)


class ComplaintDesk:
    def __init__(
        self,
        db: Database,
        repo: ComplaintRepository,
        idempotency: IdempotencyStore,
        clock: Clock,
        sla: SlaPolicy,
        ticket_prefix: str,
    ) -> None:
        self._db = db
        self._repo = repo
        self._idempotency = idempotency
        self._clock = clock
        self._sla = sla
        self._prefix = ticket_prefix

    # --- members ------------------------------------------------------------

    async def file(
        self, member: Principal, category: str, text: str, claim_id: str | None, key: str | None
    ) -> dict[str, Any]:
        """File a complaint; the same Idempotency-Key again answers the first ticket and files nothing."""
        return await self._idempotency.run(
            member.member_id,
            key,
            {"category": category, "text": text, "claim_id": claim_id},
            "file the complaint",
            create=lambda: self._file(member, category, text, claim_id, key or ""),
            replay=lambda stored: stored.body,
        )

    async def _file(
        self, member: Principal, category: str, text: str, claim_id: str | None, key: str
    ) -> dict[str, Any]:
        now = self._clock.now()
        try:
            due = self._sla.due_at(category, now)
        except ComplaintError as exc:
            raise _refuse(exc) from exc

        async def work(tx: Tx) -> dict[str, Any]:
            seq = await self._repo.next_sequence(tx, ticket_year(now))
            complaint = Complaint(
                ticket=format_ticket(self._prefix, ticket_year(now), seq),
                member_id=member.member_id,
                nik=member.nik or "",
                category=category,
                text=text,
                claim_id=claim_id,
                filed_at=now,
                sla_due_at=due,
            )
            await self._repo.add(tx, complaint)
            if claim_id:
                # The claims service decides whether the claim is this member's; we do not hold claims.
                tx.emit(
                    ComplaintFiled(
                        ticket=complaint.ticket,
                        member_id=member.member_id,
                        claim_id=claim_id,
                        category=category,
                        filed_at=now,
                    )
                )
            answer = {
                "ticket": complaint.ticket,
                "status": complaint.status.value,
                "sla_due_at": complaint.sla_due_at.isoformat(),
            }
            await self._idempotency.complete(tx, member.member_id, key, FILED, answer)
            return answer

        answer = await self._db.transaction(work)
        log.info("complaint_filed", ticket=answer["ticket"], category=category, has_claim=bool(claim_id))
        return answer

    async def mine(self, member: Principal, skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """A page of the member's complaints, newest first, and how many there are."""
        complaints, total = await self._repo.of_member(member.member_id, skip, limit)
        return [complaint_view(c) for c in complaints], total

    async def one_of_mine(self, member: Principal, ticket: str) -> dict[str, Any]:
        complaint = await self._repo.one_of_member(member.member_id, ticket)
        if complaint is None:
            # Someone else's ticket reads exactly like one that does not exist.
            raise not_found("complaint", code="complaint_not_found")
        return complaint_view(complaint)

    # --- officers (every action is audited, reads included) ------------------

    async def queue(
        self, officer: Principal, status: str, page: int, skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the complaints in one status, oldest first, and how many there are (the read is audited)."""
        now = self._clock.now()
        items, total = await self._repo.by_status(status, skip, limit)

        async def work(tx: Tx) -> None:
            await self._repo.audit(
                tx,
                officer.member_id,
                "list_complaints",
                now,
                details={"status": status, "page": page, "count": len(items)},
            )

        await self._db.transaction(work)
        return [complaint_view(c, officer=True) for c in items], total

    async def reply(self, officer: Principal, ticket: str, text: str) -> dict[str, Any]:
        now = self._clock.now()

        async def work(tx: Tx) -> Complaint:
            complaint = await self._loaded(tx, ticket)
            complaint.reply(officer.member_id, text, now)
            await self._repo.save(tx, complaint)
            await self._repo.audit(tx, officer.member_id, "reply", now, ticket, {"length": len(text)})
            # The member hears of it (notify); the answer itself is read in the app.
            tx.emit(
                ComplaintAnswered(
                    ticket=complaint.ticket,
                    member_id=complaint.member_id,
                    category=complaint.category,
                    claim_id=complaint.claim_id,
                    answered_at=now,
                )
            )
            return complaint

        return complaint_view(await self._guarded(work), officer=True)

    async def close(self, officer: Principal, ticket: str, resolution: str) -> dict[str, Any]:
        now = self._clock.now()
        newly_breached: list[str] = []

        async def work(tx: Tx) -> Complaint:
            newly_breached.clear()  # the transaction may be retried
            complaint = await self._loaded(tx, ticket)
            if complaint.close(resolution, now):
                newly_breached.append(complaint.category)
            await self._repo.save(tx, complaint)
            await self._repo.audit(tx, officer.member_id, "close", now, ticket, {"resolution": resolution})
            return complaint

        complaint = await self._guarded(work)
        for category in newly_breached:
            SLA_BREACHES.labels(category).inc()
        return complaint_view(complaint, officer=True)

    async def _loaded(self, tx: Tx, ticket: str) -> Complaint:
        complaint = await self._repo.get_in(tx, ticket)
        if complaint is None:
            raise not_found("complaint", code="complaint_not_found")
        return complaint

    async def _guarded(self, work) -> Complaint:
        try:
            return await self._db.transaction(work)
        except ComplaintError as exc:
            raise _refuse(exc) from exc

    # --- the worker's sweep ------------------------------------------------------

    async def sweep_sla(self) -> int:
        """Flag complaints past their due time; each breach is counted once, when first seen."""
        now = self._clock.now()
        flagged = await self._db.transaction(lambda tx: self._repo.flag_overdue(tx, now))
        for ticket, category in flagged:
            SLA_BREACHES.labels(category).inc()
            log.warning("complaint_sla_breached", ticket=ticket, category=category)
        return len(flagged)
