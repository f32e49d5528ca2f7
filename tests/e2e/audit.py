"""After a load run: did every claim's money move exactly once?

Three independent witnesses, none of them a service's database:
- the event log (Kafka, read from the first offset): per claim one ClaimSubmitted,
  one BalanceReserved, one payout instruction (PayoutSent) under one end-to-end id,
  and then either one PayoutSettled + one BalanceDebited or one PayoutFailed +
  one BalanceReleased. Counted by distinct event id: the outbox relay publishes at
  least once, so a copy of the same event (same id) may appear and is reported apart;
- the member's bank (the simulator's account): credited once with the net amount, or never;
- the member's balance (GET /v1/balance): nothing left reserved, the card emptied by
  a paid full claim or untouched by a failed one.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from jmo_shared.events import (
    BalanceDebited,
    BalanceReleased,
    BalanceReserved,
    ClaimSubmitted,
    PayoutFailed,
    PayoutSent,
    PayoutSettled,
)
from jmo_shared.topics import BALANCE_EVENTS, CLAIMS_EVENTS, PARTNER_BANKS, PAYOUT_EVENTS, bank_topic

from .kafka_log import read_topics, tally
from .load import ClaimLoad, MemberRun

# Per final status: how many distinct events of each type one claim must have.
EXPECTED = {
    "PAID": {
        ClaimSubmitted: 1,
        BalanceReserved: 1,
        PayoutSent: 1,
        PayoutSettled: 1,
        PayoutFailed: 0,
        BalanceDebited: 1,
        BalanceReleased: 0,
    },
    "PAYOUT_FAILED": {
        ClaimSubmitted: 1,
        BalanceReserved: 1,
        PayoutSent: 1,
        PayoutSettled: 0,
        PayoutFailed: 1,
        BalanceDebited: 0,
        BalanceReleased: 1,
    },
}


@dataclass
class MoneyAudit:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    redelivered: Counter = field(default_factory=Counter)  # event type -> copies of an already-seen id

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    def report(self, limit: int = 40) -> str:
        shown = self.problems[:limit]
        more = f"\n... and {len(self.problems) - limit} more" if len(self.problems) > limit else ""
        return "\n".join(shown) + more


async def audit_events(load: ClaimLoad, bootstrap: str, audit: MoneyAudit, settle_timeout: float = 90) -> None:
    """Read the topics back and check every claim's events.

    A claim is final in the claims service as soon as it has consumed the bank's answer; balance consumes
    the same answer on its own and publishes its debit or release through its outbox a little later (later
    still when a worker was just restarted). So an event that is missing is looked for again until
    `settle_timeout` has passed; an event too many is a fault at once, and waiting cannot hide it.
    """
    topics = [CLAIMS_EVENTS, BALANCE_EVENTS, PAYOUT_EVENTS, *(bank_topic(c) for c in PARTNER_BANKS)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        events = await read_topics(bootstrap, topics)
        found = MoneyAudit()
        missing = _check_events(load, events, len(topics), found)
        waited = loop.time() - started
        if not missing or waited > settle_timeout:
            break
        await asyncio.sleep(2)
    audit.problems += found.problems
    audit.redelivered.update(found.redelivered)
    audit.notes += found.notes
    if waited >= 1:
        audit.notes.append(f"events still in flight when the claims were final: read again for {waited:.0f}s")


def _check_events(load: ClaimLoad, events: list[dict], topic_count: int, audit: MoneyAudit) -> bool:
    """Adds every problem to `audit`; True when some claim still lacks an event it must have."""
    runs = {r.claim_id: r for r in load.claims()}
    ids = set(runs)
    tallies = {
        cls: tally(events, cls.event_type, "claim_id", ids)
        for cls in (
            ClaimSubmitted,
            BalanceReserved,
            PayoutSent,
            PayoutSettled,
            PayoutFailed,
            BalanceDebited,
            BalanceReleased,
        )
    }
    missing = False
    for cls, counted in tallies.items():
        if counted.redelivered():
            audit.redelivered[cls.__name__] = counted.redelivered()
    for claim_id, run in runs.items():
        expected = EXPECTED.get(run.status or "")
        if expected is None:
            continue  # not a money outcome: the status check reports it
        for cls, want in expected.items():
            got = len(tallies[cls].ids(claim_id))
            if got != want:
                missing = missing or got < want
                audit.add(
                    f"claim {claim_id} ({run.status}, bank {run.member.bank_code}): "
                    f"{got} distinct {cls.__name__}, expected {want}"
                )
    # One instruction per payout: a PayoutSent under one end-to-end id is one event, however often relayed.
    by_e2e = tally(events, PayoutSent.event_type, "end_to_end_id")
    sent_here = {
        e["data"]["end_to_end_id"]
        for e in events
        if e.get("type") == PayoutSent.event_type and e["data"].get("claim_id") in ids
    }
    for e2e in sorted(sent_here):
        if len(by_e2e.ids(e2e)) != 1:
            audit.add(f"end-to-end id {e2e}: {len(by_e2e.ids(e2e))} different PayoutSent events")
    payout_ids = Counter(
        e["data"]["claim_id"]
        for e in {
            ev["id"]: ev
            for ev in events
            if ev.get("type") == PayoutSent.event_type and ev["data"].get("claim_id") in ids
        }.values()
    )
    for claim_id, count in payout_ids.items():
        if count > 1:
            audit.add(f"claim {claim_id}: {count} payout instructions")
    audit.notes.append(
        f"{len(events)} events read back from {topic_count} topics; {len(sent_here)} end-to-end ids sent"
    )
    return missing


async def _bank_account(load: ClaimLoad, run: MemberRun) -> dict:
    m = run.member
    resp = await load.client.get(f"{load.urls.banksim}/sim/accounts/{m.bank_code}/{m.account_number}")
    resp.raise_for_status()
    return resp.json()


async def _settled_card(load: ClaimLoad, run: MemberRun, timeout: float) -> dict:
    """The card once nothing is reserved on it any more (the debit or release follows the claim's end)."""
    deadline = time.monotonic() + timeout
    card: dict = {}
    while time.monotonic() < deadline:
        resp = await load.member_get(run, f"{load.urls.balance}/v1/balance")
        if resp.status_code == 200:
            card = next((c for c in resp.json()["cards"] if c["kpj"] == run.kpj), {})
            if card and card["reserved_idr"] == 0:
                return card
        await asyncio.sleep(1)
    return card


async def audit_accounts(load: ClaimLoad, audit: MoneyAudit, settle_timeout: float = 90) -> None:
    gate = asyncio.Semaphore(12)

    async def check(run: MemberRun) -> None:
        expected = EXPECTED.get(run.status or "")
        if expected is None:
            return
        async with gate:
            account = await _bank_account(load, run)
            card = await _settled_card(load, run, settle_timeout)
        credits = [
            t
            for t in account["transactions"]
            if t["remittance_info"].endswith(run.claim_id or "-") or t.get("payout_id") == run.claim.get("payout_id")
        ]
        before = run.card_before.get("balance_idr")
        if run.status == "PAID":
            net = run.claim.get("net_idr")
            if len(account["transactions"]) != 1 or [t["amount_idr"] for t in credits] != [net]:
                audit.add(
                    f"claim {run.claim_id} PAID: bank account {run.member.bank_code}/"
                    f"{run.member.account_number} has {account['transactions']}, expected one credit of {net}"
                )
            if (
                card.get("reserved_idr") != 0
                or card.get("balance_idr") != 0
                or card.get("withdrawn_idr") != run.claim.get("gross_idr")
                or before != run.claim.get("gross_idr")
            ):
                audit.add(
                    f"claim {run.claim_id} PAID (gross {run.claim.get('gross_idr')}, card before {before}): "
                    f"card now {card}"
                )
        else:
            if account["transactions"]:
                audit.add(f"claim {run.claim_id} {run.status}: the bank was credited {account['transactions']}")
            if card.get("reserved_idr") != 0 or card.get("balance_idr") != before:
                audit.add(f"claim {run.claim_id} {run.status}: card before {before}, now {card}")

    await asyncio.gather(*(check(r) for r in load.claims()))
