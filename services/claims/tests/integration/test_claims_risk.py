"""The risk service's flags and verdicts on claims, through the real broker and database.

A flag before payout sends the claim to an officer (the member is not told the rule), an
open flag blocks approval until the risk service reports it cleared, a flag after payout is
kept for follow-up, and a claim held for a verdict goes on when it comes or when the wait ends.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from claims_support import Env, claims_env, reserved, submitted

from jmo_shared.events import ClaimScreened, PayoutSettled, RiskFlagCleared, RiskFlagged
from jmo_shared.testing import eventually

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(infra, token_issuer):
    async with claims_env(infra, token_issuer, "risk") as running_env:
        yield running_env


def flag(m, claim_id: str, rule: str = "account_many_members") -> RiskFlagged:
    return RiskFlagged(
        flag_id=uuid.uuid4().hex,
        rule=rule,
        subject=f"account:{uuid.uuid4().hex}",
        window_start=datetime.now(UTC),
        evidence={"distinct_members": 3, "threshold": 3},
        member_id=m.member_id,
        nik=m.nik,
        claim_id=claim_id,
        flagged_at=datetime.now(UTC),
    )


def officer(env: Env) -> dict[str, str]:
    return env.issuer.headers(f"officer-{uuid.uuid4().hex[:6]}", roles=["officer"])


async def officer_view(env: Env, claim_id: str) -> dict:
    resp = await env.api.get(f"/v1/review/claims/{claim_id}", headers=officer(env))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_a_flag_before_payout_sends_the_claim_to_review_until_an_officer_clears_it(env: Env) -> None:
    m, claim_id = await submitted(env, 8_000_000)
    raised = flag(m, claim_id)
    await env.publish([raised])

    async def kept() -> bool:
        return bool((await officer_view(env, claim_id))["risk_flags"])

    await eventually(kept, timeout=60, message="flag kept on the claim")
    await reserved(env, m, claim_id, 8_000_000)
    member_view = await env.claim_reaches(m, claim_id, "NEEDS_REVIEW")
    assert member_view["reason_code"] == "risk_review"
    assert "account_many_members" not in str(member_view) and "distinct_members" not in str(member_view)
    view = await officer_view(env, claim_id)
    assert [(f["rule"], f["status"], f["after_payout"]) for f in view["risk_flags"]] == [
        ("account_many_members", "open", False)
    ]
    assert view["risk_flags"][0]["evidence"]["distinct_members"] == 3

    decision = {"decision": "approve", "reason_code": "identity_confirmed", "note": "Checked by video call."}
    refused = await env.api.post(f"/v1/review/claims/{claim_id}/decision", headers=officer(env), json=decision)
    assert refused.status_code == 409 and refused.json()["code"] == "risk_flags_open", refused.text

    await env.publish(
        [
            RiskFlagCleared(
                flag_id=raised.flag_id,
                rule=raised.rule,
                subject=raised.subject,
                member_id=m.member_id,
                claim_id=claim_id,
                cleared_by="officer-risk",
                note="Family account, checked.",
                cleared_at=datetime.now(UTC),
            )
        ]
    )

    async def cleared() -> bool:
        flags = (await officer_view(env, claim_id))["risk_flags"]
        return flags[0]["status"] == "cleared" and flags[0]["cleared_by"] == "officer-risk"

    await eventually(cleared, timeout=60, message="flag cleared on the claim")
    approved = await env.api.post(f"/v1/review/claims/{claim_id}/decision", headers=officer(env), json=decision)
    assert approved.status_code == 200 and approved.json()["status"] == "APPROVED", approved.text
    await env.tap.wait_for("ClaimApproved", lambda d: d["claim_id"] == claim_id)


async def test_a_flag_after_payout_is_recorded_for_follow_up(env: Env) -> None:
    m, claim_id = await submitted(env, 8_000_000)
    await reserved(env, m, claim_id, 8_000_000)
    await env.claim_reaches(m, claim_id, "APPROVED")
    await env.publish(
        [
            PayoutSettled(
                payout_id=f"p-{uuid.uuid4().hex[:8]}",
                claim_id=claim_id,
                member_id=m.member_id,
                gross_idr=8_000_000,
                tax_idr=0,
                net_idr=8_000_000,
                bank_code="014",
                bank_reference="REF1",
                settled_at=datetime.now(UTC),
            )
        ]
    )
    await env.claim_reaches(m, claim_id, "PAID")
    await env.publish([flag(m, claim_id, rule="account_changed_before_claim")])

    async def recorded() -> list:
        return (await officer_view(env, claim_id))["risk_flags"] or None

    flags = await eventually(recorded, timeout=60, message="late flag recorded")
    assert [(f["rule"], f["after_payout"], f["status"]) for f in flags] == [
        ("account_changed_before_claim", True, "open")
    ]
    assert (await env.claim(m, claim_id))["status"] == "PAID"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def holding_env(infra, token_issuer):
    async with claims_env(
        infra,
        token_issuer,
        "risk_hold",
        risk_verdict_wait_seconds=4,
        risk_proceed_without_verdict=False,
        risk_verdict_sweep_interval_seconds=0.5,
    ) as running:
        yield running


async def test_a_held_claim_goes_on_with_a_clean_verdict_or_to_an_officer_without_one(holding_env: Env) -> None:
    env = holding_env
    clean, clean_id = await submitted(env, 8_000_000)
    silent, silent_id = await submitted(env, 8_000_000)
    await reserved(env, clean, clean_id, 8_000_000)
    await reserved(env, silent, silent_id, 8_000_000)
    await env.claim_reaches(clean, clean_id, "VERIFYING")
    await env.publish(
        [ClaimScreened(claim_id=clean_id, member_id=clean.member_id, flags=[], screened_at=datetime.now(UTC))]
    )
    await env.claim_reaches(clean, clean_id, "APPROVED", timeout=30)
    # No verdict within the wait, and the settings say not to proceed without one.
    body = await env.claim_reaches(silent, silent_id, "NEEDS_REVIEW", timeout=30)
    assert body["reason_code"] == "risk_unavailable"
    # What the sweep did to the claim is on the submission's trail: the same correlation id.
    submitted_event = await env.tap.wait_for("ClaimSubmitted", lambda d: d["claim_id"] == silent_id)
    to_review = await env.tap.wait_for(
        "ClaimStatusChanged", lambda d: d["claim_id"] == silent_id and d["status"] == "NEEDS_REVIEW"
    )
    assert submitted_event.correlationid and to_review.correlationid == submitted_event.correlationid
