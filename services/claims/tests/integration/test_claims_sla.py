"""SLA escalation by the worker's sweep, and the claims metrics on the worker's /metrics (issue 7).

The worker and the API share a clock the test moves forward, so "five working days
later" takes a second, while the broker and the database are real.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from claims_support import Env, claims_env, in_review, reserved, submitted
from prometheus_client.parser import text_string_to_metric_families

from jmo_shared.events import PayoutSettled
from jmo_shared.testing import eventually

pytestmark = pytest.mark.integration


class MovableClock:
    """Real time plus an offset the test sets."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move_to(self, at: datetime) -> None:
        self.offset = at - datetime.now(UTC)


CLOCK = MovableClock()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(infra, token_issuer):
    async with claims_env(
        infra, token_issuer, "sla", clock=CLOCK, sla_sweep_interval_seconds=0.2, status_gauge_interval_seconds=0.2
    ) as running_env:
        yield running_env


async def metrics(env: Env) -> dict[tuple[str, tuple], float]:
    resp = await env.worker.get("/metrics")  # type: ignore[attr-defined]
    assert resp.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def sample(values: dict, name: str, **labels: str) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_late_claims_are_escalated_once_per_level_and_a_late_payment_keeps_the_breach(env: Env) -> None:
    before = await metrics(env)
    # A (Rp8,000,000: due in one working day) is approved automatically; B (above the cap) waits for an officer.
    a, a_id = await submitted(env, 8_000_000)
    await reserved(env, a, a_id, 8_000_000)
    await env.claim_reaches(a, a_id, "APPROVED")
    b, b_id = await in_review(env)
    a_due = datetime.fromisoformat((await env.claim(a, a_id))["sla_due_at"])
    b_due = datetime.fromisoformat((await env.claim(b, b_id))["sla_due_at"])
    assert a_due < b_due

    def breached(claim_id: str, level: int):
        return lambda d: d["claim_id"] == claim_id and d["escalation_level"] == level

    CLOCK.move_to(a_due + timedelta(minutes=1))
    first = await env.tap.wait_for("ClaimSlaBreached", breached(a_id, 1), timeout=30)
    assert first.data["status"] == "APPROVED" and first.data["reason"] == "resignation"
    assert first.data["escalated_to"] == "the claims supervisor of your branch"
    assert datetime.fromisoformat(first.data["sla_due_at"]) == a_due
    late = await env.claim(a, a_id)
    assert late["status"] == "APPROVED" and late["escalation_level"] == 1 and late["sla_breached_at"]
    notice = [e for e in late["timeline"] if e["kind"] == "sla_breach"]
    assert len(notice) == 1 and notice[0]["note"].startswith("We are late") and notice[0]["status"] == "APPROVED"
    officer = env.issuer.headers("officer-sla", roles=["officer"])
    waiting = await env.api.get("/v1/review/claims", headers=officer, params={"escalated": "false"})
    assert b_id in [i["claim_id"] for i in waiting.json()["items"]]
    await asyncio.sleep(1)  # several sweeps: still one breach
    assert len(env.tap.matching("ClaimSlaBreached", lambda d: d["claim_id"] == a_id)) == 1

    # B falls due; A, two working days later than its due time, goes to the next level.
    CLOCK.move_to(b_due + timedelta(minutes=1))
    await env.tap.wait_for("ClaimSlaBreached", breached(b_id, 1), timeout=30)
    second = await env.tap.wait_for("ClaimSlaBreached", breached(a_id, 2), timeout=30)
    assert second.data["escalated_to"] == "the branch head" and second.data["breached_at"] == first.data["breached_at"]
    escalated = await env.api.get("/v1/review/claims", headers=officer, params={"escalated": "true"})
    items = {i["claim_id"]: i for i in escalated.json()["items"]}
    assert b_id in items and items[b_id]["escalation_level"] == 1 and items[b_id]["sla_breached_at"]
    not_escalated = await env.api.get("/v1/review/claims", headers=officer, params={"escalated": "false"})
    assert b_id not in [i["claim_id"] for i in not_escalated.json()["items"]]

    # Paid late: the breach stays on record.
    now = CLOCK.now()
    await env.publish(
        [
            PayoutSettled(
                payout_id="p-" + a_id,
                claim_id=a_id,
                member_id=a.member_id,
                gross_idr=8_000_000,
                tax_idr=0,
                net_idr=8_000_000,
                bank_code="014",
                bank_reference="BCA-9",
                settled_at=now,
            )
        ]
    )
    paid = await env.claim_reaches(a, a_id, "PAID")
    assert paid["sla_breached_at"] == late["sla_breached_at"] and paid["escalation_level"] == 2
    assert [e["reason_code"] for e in paid["timeline"] if e["kind"] == "sla_breach"] == [
        "sla_breached",
        "sla_escalated",
    ]

    # Issue 7's metrics on the worker: breaches per reason once per claim, submit-to-PAID, claims per status.
    async def counted():
        after = await metrics(env)
        paid_count = sample(after, "claims_by_status", status="PAID")
        return after if paid_count == 1 and sample(after, "claims_by_status", status="NEEDS_REVIEW") == 1 else None

    after = await eventually(counted, timeout=30, message="claims_by_status refreshed")
    assert sample(after, "claims_by_status", status="REJECTED") == 0
    breaches = sample(after, "claims_sla_breaches_total", reason="resignation") - sample(
        before, "claims_sla_breaches_total", reason="resignation"
    )
    assert breaches == 2
    observed = sample(after, "claims_submit_to_paid_seconds_count") - sample(
        before, "claims_submit_to_paid_seconds_count"
    )
    assert observed == 1
    # Measured on the service's clock: days late, not the test's seconds.
    waited = sample(after, "claims_submit_to_paid_seconds_sum") - sample(before, "claims_submit_to_paid_seconds_sum")
    assert waited >= (b_due - a_due).total_seconds()
