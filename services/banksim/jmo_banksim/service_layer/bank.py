"""The bank's handling of PayoutSent: receive it durably, execute it once after a delay,
credit the account, and report the result as its behaviour dictates.

The Kafka offset is committed once the instruction is stored (received), not after
the report: execution and reporting run as tasks, and a restart resumes them from
the stored transfers. The credit happens in the same transaction as the transfer's
move out of RECEIVED, so a redelivered instruction never credits twice.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pymongo.errors import PyMongoError

from jmo_shared import tracing
from jmo_shared.clock import Clock
from jmo_shared.events.payout import PayoutSent
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database, Tx

from ..adapters import repository as repo
from ..adapters.notifier import Notifier
from ..domain.behaviour import BehaviourBook, Defaults, Plan, plan_for
from ..domain.transfer import bank_reference, decide

log = get_logger(__name__)


class Bank:
    def __init__(
        self,
        db: Database,
        book: BehaviourBook,
        defaults: Defaults,
        notifier: Notifier,
        clock: Clock,
        reorder_hold_seconds: float,
        serve_notify_url_prefix: str | None = None,
    ) -> None:
        self._db = db
        self._book = book
        self._defaults = defaults
        self._notifier = notifier
        self._clock = clock
        self._reorder_hold = reorder_hold_seconds
        self._serve_prefix = serve_notify_url_prefix
        self._tasks: dict[str, asyncio.Task] = {}
        self._held: list[dict[str, Any]] = []
        self._flush: asyncio.Task | None = None

    async def receive(self, instruction: PayoutSent) -> str:
        """Store one instruction (once) and start its execution; returns what happened, for the log."""
        if self._serve_prefix and not (instruction.notify_url or "").startswith(self._serve_prefix):
            return "not_ours"
        bank_code = instruction.creditor.bank_code
        plan = plan_for(self._book.for_bank(bank_code), self._defaults)
        now = self._clock.now()
        doc = {
            "_id": repo.transfer_id(bank_code, instruction.end_to_end_id),
            "bank_code": bank_code,
            "end_to_end_id": instruction.end_to_end_id,
            "payout_id": instruction.payout_id,
            "account_number": instruction.creditor.account_number,
            "creditor_name": instruction.creditor.name,
            "amount_idr": instruction.instructed_amount.amount_idr,
            "remittance_info": instruction.remittance_info,
            "notify_url": instruction.notify_url,
            "plan": plan.__dict__,
            "status": repo.RECEIVED if plan.answer else repo.IGNORED,
            "received_at": now,
            "execute_at": now + timedelta(seconds=plan.delay_seconds),
            "notified_at": None,
            "notifications": 0,
            # Kept so a transfer resumed after a restart still answers within the payout's trace.
            "trace": tracing.carrier(),
        }
        stored, created = await repo.insert_transfer(self._db, doc)
        if not plan.answer and created:
            log.info("transfer_ignored_silently", payout_id=instruction.payout_id, bank_code=bank_code)
            return "silent"
        self.schedule(stored)
        return "received" if created else "redelivered"

    def schedule(self, doc: dict[str, Any]) -> None:
        if doc["status"] == repo.IGNORED or doc.get("notified_at") is not None or doc["_id"] in self._tasks:
            return
        task = asyncio.create_task(self._run(doc), name=f"transfer:{doc['_id']}")
        self._tasks[doc["_id"]] = task
        task.add_done_callback(lambda t, key=doc["_id"]: self._done(key, t))

    def _done(self, key: str, task: asyncio.Task) -> None:
        self._tasks.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("transfer_task_failed", transfer=key, error=repr(task.exception()))

    async def resume(self) -> int:
        pending = await repo.unfinished(self._db)
        for doc in pending:
            self.schedule(doc)
        return len(pending)

    async def _run(self, doc: dict[str, Any]) -> None:
        wait = (doc["execute_at"] - self._clock.now()).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        executed = await self._execute_with_retry(doc["_id"])
        if executed is None or executed.get("notified_at") is not None:
            return
        if executed["plan"].get("reorder"):
            self._hold(executed)
        else:
            await self._report(executed)

    async def _execute_with_retry(self, doc_id: str) -> dict[str, Any] | None:
        delay = 0.5
        while True:
            try:
                return await self._execute(doc_id)
            except PyMongoError as exc:  # database away: the money must still move exactly once
                log.warning("transfer_execute_retry", transfer=doc_id, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _execute(self, doc_id: str) -> dict[str, Any] | None:
        async def work(tx: Tx) -> dict[str, Any] | None:
            doc = await repo.get_transfer(tx, doc_id)
            if doc is None or doc["status"] != repo.RECEIVED:
                return doc
            account = await repo.get_account(tx, doc["bank_code"], doc["account_number"])
            decision = decide(Plan(**doc["plan"]), account_exists=account is not None)
            now = self._clock.now()
            if decision.status == "ACSC":
                await repo.credit(
                    tx,
                    doc["bank_code"],
                    doc["account_number"],
                    {
                        "end_to_end_id": doc["end_to_end_id"],
                        "payout_id": doc["payout_id"],
                        "amount_idr": doc["amount_idr"],
                        "remittance_info": doc["remittance_info"],
                        "at": now,
                    },
                )
            fields = {
                "status": decision.status,
                "reason_code": decision.reason_code,
                "reason": decision.reason,
                "bank_reference": bank_reference(doc["bank_code"], doc["end_to_end_id"]),
                "executed_at": now,
            }
            await repo.mark_executed(tx, doc_id, fields)
            return {**doc, **fields}

        return await self._db.transaction(work)

    def _hold(self, doc: dict[str, Any]) -> None:
        self._held.append(doc)
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._flush_reversed())

    async def _flush_reversed(self) -> None:
        # Until nothing is held: a result held while the previous round was still reporting (each report
        # is an HTTP call) goes in the next round, not left behind once the bank stops reordering.
        while self._held:
            await asyncio.sleep(self._reorder_hold)
            held, self._held = self._held, []
            for doc in reversed(held):
                await self._report(doc)

    async def _report(self, doc: dict[str, Any]) -> None:
        if not doc.get("notify_url"):
            log.warning("transfer_without_notify_url", transfer=doc["_id"])
            await repo.mark_notified(self._db, doc["_id"], self._clock.now(), "no_url", 0)
            return
        body = {
            "payout_id": doc["payout_id"],
            "end_to_end_id": doc["end_to_end_id"],
            "bank_code": doc["bank_code"],
            "status": doc["status"],
            "reason_code": doc.get("reason_code"),
            "reason": doc.get("reason") or "",
            "bank_reference": doc["bank_reference"],
            "reported_at": doc["executed_at"].isoformat(),
        }
        copies = int(doc["plan"].get("copies", 1))
        outcome = ""
        with tracing.attached(tracing.extract(doc.get("trace"))):
            for _ in range(copies):
                outcome = await self._notifier.deliver(doc["notify_url"], doc["bank_code"], body)
        await repo.mark_notified(self._db, doc["_id"], self._clock.now(), outcome, copies)
        log.info("transfer_reported", transfer=doc["_id"], status=doc["status"], outcome=outcome, copies=copies)

    async def stop(self) -> None:
        tasks = [*self._tasks.values(), *([self._flush] if self._flush else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
