"""Flags: stored with their RiskFlagged event in one transaction; listed and cleared by officers (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from jmo_shared.auth import Principal
from jmo_shared.clock import Clock
from jmo_shared.errors import conflict, not_found
from jmo_shared.events import ClaimScreened, RiskFlagCleared, RiskFlagged
from jmo_shared.events.risk import ScreenedFlag
from jmo_shared.mongo import Database, Tx

from ..adapters.flags import FlagStore
from ..adapters.metrics import FLAGS_CLEARED
from ..domain.rules import RULES, Flag


class FlagRecorder:
    """The stream's sink: a new flag is stored and published (outbox); a known one changes nothing."""

    def __init__(self, db: Database, store: FlagStore) -> None:
        self._db = db
        self._store = store

    async def record(self, flag: Flag) -> bool:
        async def work(tx: Tx) -> None:
            await self._store.insert(tx, flag)
            tx.emit(
                RiskFlagged(
                    flag_id=flag.flag_id,
                    rule=flag.rule,
                    subject=flag.subject,
                    window_start=flag.window_start,
                    evidence=flag.evidence,
                    member_id=flag.member_id,
                    nik=flag.nik,
                    claim_id=flag.claim_id,
                    flagged_at=flag.flagged_at,
                ),
                subject=flag.claim_id or flag.member_id,
            )

        try:
            await self._db.transaction(work)
        except DuplicateKeyError:
            return False  # stored before: a replay after a restart, or a redelivery
        return True

    async def screened(self, claim_id: str, member_id: str, flags: list[dict], at: datetime) -> None:
        """Publish a claim's verdict (a replay publishes it again: claims ignores a verdict it has)."""

        async def work(tx: Tx) -> None:
            tx.emit(
                ClaimScreened(
                    claim_id=claim_id, member_id=member_id, flags=[ScreenedFlag(**f) for f in flags], screened_at=at
                ),
                subject=claim_id,
            )

        await self._db.transaction(work)


def flag_view(doc: dict[str, Any]) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "flag_id": doc["_id"],
        "rule": doc["rule"],
        "why": RULES.get(doc["rule"], ""),
        "subject": doc["subject"],
        "window_start": iso(doc["window_start"]),
        "evidence": doc.get("evidence") or {},
        "member_id": doc.get("member_id"),
        "nik": doc.get("nik"),
        "claim_id": doc.get("claim_id"),
        "flagged_at": iso(doc["flagged_at"]),
        "status": doc["status"],
        "cleared_by": doc.get("cleared_by"),
        "cleared_at": iso(doc.get("cleared_at")),
        "note": doc.get("note", ""),
    }


class FlagDesk:
    """The officers' side: list, read and clear flags; every action is audited."""

    def __init__(self, db: Database, store: FlagStore, clock: Clock) -> None:
        self._db = db
        self._store = store
        self._clock = clock

    def _entry(self, officer: Principal, action: str, flag_id: str | None, **extra: Any) -> dict[str, Any]:
        return {"officer_id": officer.member_id, "action": action, "at": self._clock.now(), "flag_id": flag_id, **extra}

    async def flags(
        self, officer: Principal, status: str | None, rule: str | None, claim_id: str | None, skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the flags (newest first) and how many match in all; the listing is audited."""
        docs, total = await self._store.page(status, rule, claim_id, skip, limit)
        await self._store.audit(
            None, self._entry(officer, "list_flags", None, status=status, rule=rule, claim_id=claim_id)
        )
        return [flag_view(d) for d in docs], total

    async def flag(self, officer: Principal, flag_id: str) -> dict[str, Any]:
        doc = await self._store.one(flag_id)
        if doc is None:
            raise not_found(f"flag {flag_id}", "flag_not_found")
        await self._store.audit(None, self._entry(officer, "view_flag", flag_id))
        audit = await self._store.audit_of(flag_id)
        return flag_view(doc) | {
            "audit": [
                {k: (v.isoformat() if k == "at" else v) for k, v in a.items() if k not in ("_id", "flag_id")}
                for a in audit
            ]
        }

    async def clear(self, officer: Principal, flag_id: str, note: str) -> dict[str, Any]:
        now = self._clock.now()

        async def work(tx: Tx) -> dict[str, Any]:
            doc = await self._store.get(tx, flag_id)
            if doc is None:
                raise not_found(f"flag {flag_id}", "flag_not_found")
            if doc["status"] == "cleared":
                if doc.get("cleared_by") == officer.member_id:
                    return flag_view(doc) | {"repeated": True}
                return {"refused_by": doc.get("cleared_by")}
            await self._store.mark_cleared(tx, flag_id, officer.member_id, note, now)
            await self._store.audit(
                tx,
                self._entry(
                    officer,
                    "clear_flag",
                    flag_id,
                    outcome="applied",
                    note=note,
                    rule=doc["rule"],
                    claim_id=doc.get("claim_id"),
                ),
            )
            tx.emit(
                RiskFlagCleared(
                    flag_id=flag_id,
                    rule=doc["rule"],
                    subject=doc["subject"],
                    member_id=doc.get("member_id"),
                    claim_id=doc.get("claim_id"),
                    cleared_by=officer.member_id,
                    note=note,
                    cleared_at=now,
                ),
                subject=doc.get("claim_id") or doc.get("member_id"),
            )
            return flag_view(
                doc | {"status": "cleared", "cleared_by": officer.member_id, "cleared_at": now, "note": note}
            ) | {"repeated": False}

        answer = await self._db.transaction(work)
        if "refused_by" in answer:
            # Audited outside the transaction that found it cleared (nothing else changed).
            await self._store.audit(None, self._entry(officer, "clear_flag", flag_id, outcome="refused", note=note))
            raise conflict("flag_already_cleared", f"flag {flag_id} was already cleared by another officer")
        if not answer["repeated"]:
            FLAGS_CLEARED.labels(answer["rule"]).inc()
        return answer
