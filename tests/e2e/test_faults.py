"""Issue 6's reliability proof: a few hundred JHT claims while the system is broken on purpose.

Its own Kafka broker and SecantusDB (the broker is restarted), its own service
processes. Members onboard and submit their claims with bounded concurrency;
as the submitted count passes each mark of the plan the test SIGKILLs and
restarts the payout worker and the claims worker, makes the bank simulator
answer twice, out of order, slowly and then reject everything for a while, and
restarts the broker. A watchdog restarts any process that dies on its own (as supervisord
does in `make run`) and the summary lists each one.

Then, when every claim has reached a final state: every claim PAID, or
PAYOUT_FAILED with a reason code when the bank rejected its transfer (the
simulator's own record says RJCT); one payout
instruction per claim and per end-to-end id on the banks' topics; each member's
bank credited once (or never); each paid card debited exactly once and emptied;
the reconciliation clean (POST /v1/reconciliations with a staff token).

Size: JMO_FAULT_MEMBERS (default 150) and JMO_FAULT_CONCURRENCY (default 12). Every injection
happens at its share of the submissions whatever the size; `make test` runs it beside the rest of
the suite on two workers, where 150 members take about five minutes on 2 cores;
JMO_FAULT_MEMBERS=300 is the deeper run. Measured on the 2 shared cores (load average 8 to 12 from
other suites): 150 members 3 min 49 s, 250 members 6 min 10 s, 300 members 5 min 55 s, fixture start
included.
The summary (claims/s, submit->PAID p50/p99, what was injected when) is printed
and written to summary.txt in the test's tmp_path; see it with `-rP` or `-s`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from jmo_local.stack import LocalInfra
from jmo_local.system import RunningSystem, own_stack

from .audit import MoneyAudit, audit_accounts, audit_events
from .load import FAST_ONBOARDING, ClaimLoad, TrafficGate

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.faults]

MEMBERS = int(os.environ.get("JMO_FAULT_MEMBERS", "150"))
CONCURRENCY = int(os.environ.get("JMO_FAULT_CONCURRENCY", "12"))
WIB = ZoneInfo("Asia/Jakarta")


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalInfra, RunningSystem]]:
    with own_stack(tmp_path_factory.mktemp("faults"), extra_env=FAST_ONBOARDING) as stack:
        yield stack


@dataclass
class FaultPlan:
    """Injections fired as the number of submitted claims passes each mark."""

    load: ClaimLoad
    log: list[tuple[float, int, str]] = field(default_factory=list)  # (seconds since start, submitted, what)

    async def run(self, steps: list[tuple[float, str, Callable[[], Awaitable[str]]]]) -> None:
        for fraction, name, action in steps:
            await self.load.wait_submitted(max(1, int(fraction * len(self.load.runs))))
            at = time.monotonic() - self.load.started_at
            submitted = self.load.submitted
            try:
                outcome = await action()
            except Exception as exc:  # noqa: BLE001 - an injection that fails is reported, then the test fails
                outcome = f"FAILED: {exc!r}"
            self.log.append((at, submitted, f"{name}: {outcome}"))

    def lines(self) -> list[str]:
        return [f"  t={at:6.1f}s after {n:3d} submitted  {what}" for at, n, what in self.log]


def kill_and_restart(system: RunningSystem, name: str, down: float = 2.0) -> Callable[[], Awaitable[str]]:
    async def action() -> str:
        await system.stop(name, signal.SIGKILL)
        await asyncio.sleep(down)
        ready = await system.start(name)
        return f"SIGKILL, down {down:.0f}s, ready again {ready:.1f}s after start"

    return action


def bank_behaves(load: ClaimLoad, system: RunningSystem, mode: str, **extra: object) -> Callable[[], Awaitable[str]]:
    async def action() -> str:
        resp = await load.client.post(f"{system.url('banksim')}/sim/behaviour", json={"mode": mode, **extra})
        resp.raise_for_status()
        return f"{mode} {extra or ''}".strip()

    return action


def restart_broker(infra: LocalInfra) -> Callable[[], Awaitable[str]]:
    async def action() -> str:
        assert infra.kafka is not None
        took = await infra.kafka.restart_async(pause_seconds=5)
        return (
            f"SIGTERM, stopped in {took['stop_seconds']:.1f}s, answering again "
            f"{took['down_seconds']:.1f}s later (5s pause included)"
        )

    return action


async def reconciliation_reports(load: ClaimLoad, system: RunningSystem, events_dates: set[tuple[str, str]]):
    """POST /v1/reconciliations per (bank, date); None when the endpoint does not exist yet."""
    headers = system.staff_headers("ops", "officer", sub="e2e-fault-test")
    reports = {}
    for bank_code, day in sorted(events_dates):
        resp = await load.client.post(
            f"{system.url('payout-api')}/v1/reconciliations",
            headers=headers,
            json={"bank_code": bank_code, "date": day},
        )
        if resp.status_code == 404 and resp.json().get("code") == "not_found":
            return None  # no such route (the generic 404), not "nothing to reconcile"
        assert resp.status_code in (200, 201), f"reconciliation {bank_code} {day}: {resp.status_code} {resp.text}"
        reports[(bank_code, day)] = resp.json()
    return reports


async def bank_rejections(load: ClaimLoad, system: RunningSystem) -> set[str]:
    """Claims whose transfer the bank simulator rejected (RJCT), by its own record."""
    rejected = set()
    for run in load.claims():
        if run.status != "PAYOUT_FAILED" or not run.claim.get("payout_id"):
            continue
        resp = await load.client.get(
            f"{system.url('banksim')}/sim/transfers", params={"payout_id": run.claim["payout_id"]}
        )
        if resp.status_code == 200 and [t["status"] for t in resp.json()] == ["RJCT"]:
            rejected.add(run.claim_id)
    return rejected


async def where_stuck(load: ClaimLoad, system: RunningSystem, runs: list) -> list[str]:
    """For claims left open: their timeline and what the bank simulator did with their transfer."""
    keep = ("status", "plan", "executed_at", "notified_at", "notify_outcome")
    lines = []
    for run in runs:
        payout_id = run.claim.get("payout_id")
        bank: object = "no payout id"
        if payout_id:
            resp = await load.client.get(f"{system.url('banksim')}/sim/transfers", params={"payout_id": payout_id})
            bank = [{k: t.get(k) for k in keep} for t in resp.json()] if resp.status_code == 200 else resp.status_code
        timeline = [t["status"] for t in run.claim.get("timeline", [])]
        lines.append(f"  {run.claim_id} {run.status} {timeline} payout {payout_id}; bank: {bank}")
    return lines


def payout_dates(load: ClaimLoad) -> set[tuple[str, str]]:
    """(bank, day) of every payout, the day both in WIB (the payout service's zone) and in UTC."""
    out = set()
    for run in load.claims():
        for entry in run.claim.get("timeline", []):
            if entry["status"] == "PAYING":
                at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
                out.add((run.member.bank_code, at.astimezone(WIB).date().isoformat()))
                out.add((run.member.bank_code, at.date().isoformat()))
    return out


@pytest.mark.timeout(1800)
async def test_claims_survive_killed_workers_a_broker_restart_and_a_misbehaving_bank(fault_stack, tmp_path) -> None:
    infra, system = fault_stack
    gate = TrafficGate(names={spec.port: name for name, spec in system.specs.items()})
    load = ClaimLoad(system.urls, system.kafka_bootstrap, MEMBERS, CONCURRENCY, patience=5.0, gate=gate)
    watchdog = asyncio.create_task(system.supervise())
    plan = FaultPlan(load)
    t0 = time.monotonic()
    try:
        await load.publish_feeds()
        steps = [
            (0.10, "payout-worker", kill_and_restart(system, "payout-worker")),
            (0.20, "bank", bank_behaves(load, system, "duplicate")),
            (0.30, "bank", bank_behaves(load, system, "reorder")),
            (0.40, "claims-worker", kill_and_restart(system, "claims-worker")),
            (0.45, "bank", bank_behaves(load, system, "slow", delay_seconds=6)),
            (0.52, "bank", bank_behaves(load, system, "reject", reason_code="AC04", reason="closed account number")),
            (0.58, "bank", bank_behaves(load, system, "normal")),
            (0.70, "kafka", restart_broker(infra)),
        ]
        await asyncio.gather(load.run(), plan.run(steps))
        submit_done = time.monotonic() - t0
        still_open = await load.wait_final(timeout=300)
        final_at = time.monotonic() - t0
        # Asked now, while the client is open: where each claim still open stands in payout and the bank.
        stuck = await where_stuck(load, system, still_open[:10]) if still_open else []

        audit = MoneyAudit()
        await audit_events(load, system.kafka_bootstrap, audit)
        await audit_accounts(load, audit)
        rejected_by_bank = await bank_rejections(load, system)
        dates = payout_dates(load)
        reports = await reconciliation_reports(load, system, dates)
    finally:
        watchdog.cancel()
        summary = _summary(load, plan, system, t0, locals())
        print(summary)
        (tmp_path / "summary.txt").write_text(summary)
        await load.close()

    counts = load.status_counts()
    assert not load.failures(), (
        f"members who could not submit a claim ({len(load.failures())}):\n"
        + "\n".join(load.failures()[:20])
        + f"\nstatuses: {dict(counts)}"
    )
    assert not still_open, (
        f"{len(still_open)} claims never reached a final state; statuses: {dict(counts)}\n" + "\n".join(stuck)
    )
    unexpected = [
        r
        for r in load.claims()
        if not (
            r.status == "PAID"
            or (r.status == "PAYOUT_FAILED" and r.claim.get("reason_code") and r.claim_id in rejected_by_bank)
        )
    ]
    assert not unexpected, (
        f"claims neither PAID nor failed (with a reason) by a bank that rejected them; statuses: {dict(counts)}\n"
        + "\n".join(
            f"{r.claim_id} bank {r.member.bank_code}: {r.status} {r.claim.get('reason_code')} "
            f"{[t['status'] for t in r.claim.get('timeline', [])]}"
            for r in unexpected[:20]
        )
    )
    assert not audit.problems, f"money moved wrongly ({len(audit.problems)}):\n{audit.report()}"
    plan_failures = [what for _, _, what in plan.log if "FAILED" in what]
    assert not plan_failures, f"injections that did not happen: {plan_failures}"
    if reports is None:
        pytest.skip(
            "everything else held; POST /v1/reconciliations does not exist yet (404), "
            "so the reconciliation was not checked"
        )
    dirty = {key: r["mismatches"] for key, r in reports.items() if r.get("mismatches")}
    assert not dirty, f"reconciliation mismatches: {dirty}"


def _summary(load: ClaimLoad, plan: FaultPlan, system: RunningSystem, t0: float, scope: dict) -> str:
    lines = [
        f"fault test: {len(load.runs)} members, concurrency {load.concurrency}, {os.cpu_count()} cores",
        f"  statuses: {dict(load.status_counts())}",
        f"  {load.throughput()}",
    ]
    if "submit_done" in scope:
        lines.append(
            f"  all submitted after {scope['submit_done']:.1f}s, all final after "
            f"{scope.get('final_at', float('nan')):.1f}s"
        )
    lines.append("  injected:")
    lines += plan.lines()
    exits = system.unplanned_exits()
    lines.append(f"  processes that died on their own and were restarted by the watchdog: {len(exits)}")
    lines += [f"    t={e.at - t0:6.1f}s {e.name}: {e.what}" for e in exits]
    gate = load.gate
    lines.append(
        f"  HTTP: {gate.requests} requests, {len(gate.server_errors)} 5xx, "
        f"refused {dict(gate.refused)}, dropped {len(gate.dropped)}"
    )
    lines += [f"    {e}" for e in gate.server_errors[:10]]
    audit: MoneyAudit | None = scope.get("audit")
    if audit is not None:
        lines.append(
            f"  event copies re-published with an id already on the topic (at-least-once relay): "
            f"{dict(audit.redelivered) or 'none'}"
        )
        lines += [f"  {n}" for n in audit.notes]
        lines.append(f"  money problems: {len(audit.problems)}")
    reports = scope.get("reports", "not reached")
    lines.append(
        "  reconciliation: "
        + (
            "endpoint missing (404)"
            if reports is None
            else str(reports)
            if isinstance(reports, str)
            else f"{len(reports)} reports, mismatches {sum(len(r.get('mismatches', [])) for r in reports.values())}"
        )
    )
    failures = Counter(r.failure.split(":")[0] for r in load.runs if r.failure)
    if failures:
        lines.append(f"  onboarding failures: {dict(failures)}")
    return "\n".join(lines)
