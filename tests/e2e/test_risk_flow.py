"""Three members claim into one bank account: the third claim goes to an officer (issue 15).

The shared e2e system (tests/e2e/conftest.py), whose claims wait up to 15 s for the risk service's
verdict (CLAIMS_RISK_VERDICT_WAIT_SECONDS; the default 0 never waits, and
a flag that arrives after the balance service held the amount would race the approval). The risk
worker's faust app flags the third claim (account_many_members); the officer sees the rule in the
review view, the member does not; clearing the flag in the risk service lets the officer approve,
and the claim is paid.
"""

from __future__ import annotations

import random
from datetime import date

import pytest

from jmo_local.demo import feed_events
from jmo_local.demo_loader import publish_events
from jmo_local.journey import Journey
from jmo_shared.testing import eventually

from .test_claim_flow import expected_contributions, resigned_member

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def claim_into(system, member) -> tuple[Journey, str]:
    today = date.today()
    journey = Journey(system.urls, member)
    await journey.open_bank_account()
    await publish_events(system.kafka_bootstrap, feed_events(member, today), source="/test/upstream", progress=False)
    await journey.register()
    await journey.login()
    face = await journey.verify_face("profile_update")
    assert face["matched"] is True, face
    await journey.update_profile(face["verification_id"])
    kpj = member.cards[0].kpj
    await journey.wait_balance(kpj, expected_contributions(member, today))
    eligibility = await journey.wait_claim_ready(kpj, "resignation")
    documents = await journey.upload_documents(eligibility["required_documents"])
    face = await journey.verify_face("claim")
    resp = await journey.submit_claim(kpj, "resignation", documents, face["verification_id"])
    assert resp.status_code == 202, resp.text
    return journey, resp.json()["claim_id"]


async def test_the_third_member_claiming_into_one_account_goes_to_review(system) -> None:
    members = [resigned_member(date.today()) for _ in range(3)]
    # One account (and, so the bank's holder name matches each member's KTP, one name) for all three.
    account_number = str(random.randrange(10**9, 10**10))
    for m in members:
        m.full_name, m.bank_code, m.account_number = members[0].full_name, "014", account_number

    journeys = []
    try:
        for m in members[:2]:
            journey, claim_id = await claim_into(system, m)
            journeys.append(journey)
            await journey.wait_claim(claim_id, "PAID")
        journey, claim_id = await claim_into(system, members[2])
        journeys.append(journey)
        claim = await journey.wait_claim(claim_id, "NEEDS_REVIEW")
        assert claim["reason_code"] == "risk_review"
        assert "account_many_members" not in str(claim)

        officer = system.staff_headers("officer", sub="officer-risk")
        view = (
            await journey.client.get(f"{system.url('claims-api')}/v1/review/claims/{claim_id}", headers=officer)
        ).json()
        assert [f["rule"] for f in view["risk_flags"]] == ["account_many_members"]
        assert view["risk_flags"][0]["evidence"]["distinct_members"] == 3

        flags = (
            await journey.client.get(
                f"{system.url('risk-api')}/v1/risk/flags", params={"claim_id": claim_id}, headers=officer
            )
        ).json()["items"]
        assert len(flags) == 1 and account_number not in str(flags)
        cleared = await journey.client.post(
            f"{system.url('risk-api')}/v1/risk/flags/{flags[0]['flag_id']}/clear",
            headers=officer,
            json={"note": "Checked with the bank: one family."},
        )
        assert cleared.status_code == 200, cleared.text

        async def flag_cleared_on_the_claim() -> bool:
            body = (
                await journey.client.get(f"{system.url('claims-api')}/v1/review/claims/{claim_id}", headers=officer)
            ).json()
            return body["risk_flags"][0]["status"] == "cleared"

        await eventually(flag_cleared_on_the_claim, timeout=30, message="RiskFlagCleared applied by claims")
        decided = await journey.client.post(
            f"{system.url('claims-api')}/v1/review/claims/{claim_id}/decision",
            headers=officer,
            json={"decision": "approve", "reason_code": "identity_confirmed", "note": "Checked by video call."},
        )
        assert decided.status_code == 200, decided.text
        await journey.wait_claim(claim_id, "PAID")
    finally:
        for journey in journeys:
            await journey.close()
