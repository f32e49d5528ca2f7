"""Manual review by officers through the HTTP API, on the real broker and database."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import pytest
import pytest_asyncio
from claims_support import PNG, Env, claims_env, in_review, submitted

from jmo_shared.testing import eventually

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(infra, token_issuer):
    async with claims_env(infra, token_issuer, "review") as running_env:
        yield running_env


def officer(env: Env, name: str | None = None) -> dict[str, str]:
    return env.issuer.headers(name or f"officer-{uuid.uuid4().hex[:6]}", roles=["officer"])


async def decide(
    env: Env,
    claim_id: str,
    headers: dict,
    decision: str = "approve",
    reason_code: str = "identity_confirmed",
    note: str = "Identity confirmed by video call.",
):
    return await env.api.post(
        f"/v1/review/claims/{claim_id}/decision",
        headers=headers,
        json={"decision": decision, "reason_code": reason_code, "note": note},
    )


async def test_only_officers_reach_the_review_api(env: Env) -> None:
    m, claim_id = await submitted(env, 8_000_000)
    member = m.headers(env.issuer)
    # An officer role in a token signed with the member key (identity's): not the staff issuer's word.
    forged = env.issuer.headers("officer-by-member-key", roles=["officer"], signer="member")
    for method, path in [
        ("GET", "/v1/review/claims"),
        ("GET", f"/v1/review/claims/{claim_id}"),
        ("GET", f"/v1/review/claims/{claim_id}/documents/x"),
        ("GET", "/v1/review/reason-codes"),
        ("POST", f"/v1/review/claims/{claim_id}/decision"),
    ]:
        for headers in (member, forged):
            denied = await env.api.request(
                method, path, headers=headers, json={"decision": "approve", "reason_code": "identity_confirmed"}
            )
            assert denied.status_code == 403, (path, denied.text)
            assert denied.json()["code"] == "forbidden" and denied.headers["content-type"].startswith(
                "application/problem+json"
            )
        anonymous = await env.api.request(method, path)
        assert anonymous.status_code == 401
    # The member's own claim did not move.
    assert (await env.claim(m, claim_id))["status"] == "SUBMITTED"


async def test_the_queue_the_claim_its_documents_and_an_approval(env: Env) -> None:
    # The bank's name for the account differs from the KTP: the officer sees that field by field.
    first, first_id = await in_review(env, inquiry_name="SITI AMINA")
    second, second_id = await in_review(env)
    me = f"officer-{uuid.uuid4().hex[:6]}"
    headers = officer(env, me)

    queue = await env.api.get("/v1/review/claims", headers=headers, params={"reason": "resignation", "page_size": 100})
    assert queue.status_code == 200, queue.text
    ids = [item["claim_id"] for item in queue.json()["items"]]
    assert ids.index(first_id) < ids.index(second_id)  # the one due soonest first
    item = next(i for i in queue.json()["items"] if i["claim_id"] == first_id)
    assert item["status"] == "NEEDS_REVIEW" and item["reason_code"] == "above_app_cap"
    assert item["nik"] == first.nik and item["gross_idr"] == 20_000_000 and item["escalation_level"] == 0
    assert all(i["status"] == "NEEDS_REVIEW" for i in queue.json()["items"])
    for params in ({"reason": "death"}, {"escalated": "true"}):
        other = await env.api.get("/v1/review/claims", headers=headers, params=params)
        assert first_id not in [i["claim_id"] for i in other.json()["items"]], params
    paged = await env.api.get("/v1/review/claims", headers=headers, params={"page_size": 1})
    assert len(paged.json()["items"]) == 1 and paged.json()["total"] >= 2
    # Page 2 of one-claim pages is the second claim in the queue, counted with the same total.
    everything = (await env.api.get("/v1/review/claims", headers=headers, params={"page_size": 100})).json()
    page_two = (await env.api.get("/v1/review/claims", headers=headers, params={"page": 2, "page_size": 1})).json()
    assert [i["claim_id"] for i in page_two["items"]] == [everything["items"][1]["claim_id"]]
    assert (page_two["page"], page_two["page_size"], page_two["total"]) == (2, 1, everything["total"])
    past_the_end = {"page": everything["total"] + 1, "page_size": 1}
    assert (await env.api.get("/v1/review/claims", headers=headers, params=past_the_end)).json()["items"] == []
    too_big = await env.api.get("/v1/review/claims", headers=headers, params={"page_size": 101})
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["field"] == "page_size"
    bad = await env.api.get("/v1/review/claims", headers=headers, params={"reason": "holiday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"

    view = await env.api.get(f"/v1/review/claims/{first_id}", headers=headers)
    assert view.status_code == 200, view.text
    claim = view.json()
    assert claim["member_id"] == first.member_id and claim["bank_account"]["inquiry_name"] == "SITI AMINA"
    assert [d["kind"] for d in claim["documents"]] == ["kpj_card", "ktp", "resignation_letter"]
    assert claim["missing_documents"] == []
    assert all(d["sha256"] == hashlib.sha256(PNG).hexdigest() and d["size"] == len(PNG) for d in claim["documents"])
    checks = {c["field"]: c for c in claim["field_checks"]}
    assert checks["full_name"]["result"] == "match" and checks["birth_date"]["result"] == "match"
    assert checks["bank_account_holder_name"]["result"] == "mismatch"
    assert {v["source"]: v["value"] for v in checks["bank_account_holder_name"]["values"]} == {
        "bank_inquiry": "SITI AMINA",
        "ktp": first.full_name,
    }
    assert "bank_account_holder_name" in claim["mismatches"] and "full_name" not in claim["mismatches"]

    # The document itself, streamed, only through its claim.
    doc = claim["documents"][1]
    download = await env.api.get(doc["download"], headers=headers)
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png" and download.headers["x-content-type-options"] == "nosniff"
    assert (
        download.headers["x-checksum-sha256"] == doc["sha256"]
        and "attachment" in download.headers["content-disposition"]
    )
    other_claim = (await env.api.get(f"/v1/review/claims/{second_id}", headers=headers)).json()
    foreign = await env.api.get(
        f"/v1/review/claims/{first_id}/documents/{other_claim['documents'][0]['document_id']}", headers=headers
    )
    assert foreign.status_code == 404 and foreign.json()["code"] == "document_not_found"

    approved = await decide(env, first_id, headers)
    assert approved.status_code == 200, approved.text
    answer = approved.json()
    assert answer["status"] == "APPROVED" and answer["decided_by"] == me and answer["repeated"] is False
    event = await env.tap.wait_for("ClaimApproved", lambda d: d["claim_id"] == first_id)
    assert event.data["gross_idr"] == 20_000_000 and event.data["bank_account"]["account_number"] == "1234567890"

    # The member reads the decision and the note, not who made it.
    mine = await env.claim(first, first_id)
    last = mine["timeline"][-1]
    assert mine["status"] == "APPROVED" and last["reason_code"] == "identity_confirmed"
    assert "Identity confirmed by video call." in last["note"] and me not in str(mine) and "actor" not in last
    changed = await env.tap.wait_for(
        "ClaimStatusChanged", lambda d: d["claim_id"] == first_id and d["status"] == "APPROVED"
    )
    assert me not in str(changed.data)
    # The officer sees who did it, and the audit trail of everything done to the claim.
    officer_view = (await env.api.get(f"/v1/review/claims/{first_id}", headers=headers)).json()
    assert officer_view["timeline"][-1]["actor"] == me and officer_view["review"]["decided_by"] == me
    actions = [(a["officer_id"], a["action"], a.get("outcome")) for a in officer_view["audit"]]
    assert (me, "view_claim", None) in actions and (me, "download_document", None) in actions
    assert (me, "decide_approve", "applied") in actions

    # A retry answers the first decision; another officer's decision is refused.
    retry = await decide(env, first_id, headers, note="sent again")
    assert retry.status_code == 200 and retry.json()["repeated"] is True
    assert retry.json()["note"] == "Identity confirmed by video call."
    late = await decide(env, first_id, officer(env), "reject", "documents_invalid")
    assert late.status_code == 409 and late.json()["code"] == "claim_already_decided"
    assert late.json()["decision"]["decided_by"] == me
    await asyncio.sleep(1)
    assert len(env.tap.matching("ClaimApproved", lambda d: d["claim_id"] == first_id)) == 1
    assert not env.tap.matching("ClaimRejected", lambda d: d["claim_id"] == first_id)
    db = env.api_app.state.claims.runtime.db
    outcomes = [
        a["outcome"]
        async for a in db["review_audit"].find(
            {"claim_id": first_id, "action": {"$in": ["decide_approve", "decide_reject"]}}
        )
    ]
    assert sorted(outcomes) == ["applied", "refused", "repeated"]


async def test_two_officers_deciding_at_once_one_wins(env: Env) -> None:
    m, claim_id = await in_review(env)
    approve, reject = await asyncio.gather(
        decide(env, claim_id, officer(env)),
        decide(env, claim_id, officer(env), "reject", "data_mismatch", "The employer letter names someone else."),
    )
    codes = sorted([approve.status_code, reject.status_code])
    assert codes == [200, 409], (approve.text, reject.text)
    loser = approve if approve.status_code == 409 else reject
    assert loser.json()["code"] == "claim_already_decided"
    winner_status = "APPROVED" if approve.status_code == 200 else "REJECTED"
    assert (await env.claim(m, claim_id))["status"] == winner_status
    winner_event = "ClaimApproved" if winner_status == "APPROVED" else "ClaimRejected"
    await env.tap.wait_for(winner_event, lambda d: d["claim_id"] == claim_id)
    await asyncio.sleep(1)
    published = [
        e.type
        for e in env.tap.events
        if e.data.get("claim_id") == claim_id and e.type.split(".")[-2] in ("ClaimApproved", "ClaimRejected")
    ]
    assert len(published) == 1


async def test_a_rejection_releases_the_claim_and_bad_requests_are_refused_with_codes(env: Env) -> None:
    m, claim_id = await in_review(env)
    headers = officer(env)
    unknown = await decide(env, claim_id, headers, "reject", "identity_confirmed")
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_reason_code"
    assert unknown.json()["errors"][0]["field"] == "reason_code"
    invalid = await env.api.post(
        f"/v1/review/claims/{claim_id}/decision", headers=headers, json={"decision": "maybe", "reason_code": "x"}
    )
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "decision"
    missing = await decide(env, "no-such-claim", headers)
    assert missing.status_code == 404 and missing.json()["code"] == "claim_not_found"

    rejected = await decide(env, claim_id, headers, "reject", "documents_invalid", "The KTP photo is unreadable.")
    assert rejected.status_code == 200 and rejected.json()["status"] == "REJECTED"
    # ClaimRejected is what makes balance release the reservation, as on the automatic path.
    event = await env.tap.wait_for("ClaimRejected", lambda d: d["claim_id"] == claim_id)
    assert event.data["reason_code"] == "documents_invalid" and "unreadable" in event.data["message"]
    body = await env.claim(m, claim_id)
    assert body["reason_code"] == "documents_invalid" and "released" in body["timeline"][-1]["note"]
    # The member's one open slot is free again.
    eligibility = await env.eligibility(m)
    assert "open_claim_exists" not in [b["code"] for b in eligibility["blockers"]]

    # A claim still on its automatic path is not the officer's to decide.
    fresh, fresh_id = await submitted(env, 8_000_000)
    early = await decide(env, fresh_id, headers)
    assert early.status_code == 409 and early.json()["code"] == "claim_not_in_review"
    codes = (await env.api.get("/v1/review/reason-codes", headers=headers)).json()
    assert "documents_invalid" in [c["code"] for c in codes["reject"]]
    assert "identity_confirmed" in [c["code"] for c in codes["approve"]]
    await eventually(lambda: _audited(env, fresh_id), timeout=5)


async def _audited(env: Env, claim_id: str) -> bool:
    db = env.api_app.state.claims.runtime.db
    entry = await db["review_audit"].find_one({"claim_id": claim_id, "outcome": "refused"})
    return entry is not None and entry["refusal"] == "claim_not_in_review"
