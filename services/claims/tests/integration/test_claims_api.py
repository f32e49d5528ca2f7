"""The claims service through HTTP and real Kafka: projections, documents, submission, progress."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from claims_support import (
    PNG,
    Claimant,
    Env,
    EventTap,
    balance,
    claimable,
    face,
    profile,
    ready_feed,
    registered,
    resigned,
    running,
    skip_history,
)

from jmo_claims.entrypoints.api import create_api
from jmo_claims.entrypoints.schemas import ClaimRequest
from jmo_claims.entrypoints.worker import create_worker
from jmo_claims.settings import ClaimsSettings
from jmo_shared.events import BalanceReservationRejected, BalanceReserved, PayoutFailed, PayoutInitiated, PayoutSettled
from jmo_shared.idempotency import fingerprint
from jmo_shared.testing import eventually
from jmo_shared.topics import CLAIMS_EVENTS

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(infra, token_issuer):
    db = f"t_claims_{uuid.uuid4().hex[:10]}"
    settings = ClaimsSettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=token_issuer.jwks(),
        staff_jwks_json=token_issuer.staff_jwks(),
        consumer_group_prefix=f"test-{db}",
        db_name=db,
    )
    tap = EventTap(infra.kafka_bootstrap, CLAIMS_EVENTS)
    worker_app, api_app = create_worker(settings), create_api(settings)
    try:
        await skip_history(infra.kafka_bootstrap, settings)
        await tap.start()
        async with running(worker_app), running(api_app) as api:
            yield Env(api, worker_app, api_app, infra.kafka_bootstrap, token_issuer, tap)
    finally:
        await tap.stop()


# --- projections -----------------------------------------------------------


async def test_projections_in_any_order_feed_the_eligibility(env: Env) -> None:
    m = Claimant()
    older_profile = profile(m, npwp="OLD", confirmed_at=datetime.now(UTC) - timedelta(days=1))
    newer_profile = profile(m, npwp=None)
    # Out of order across topics and within state: newest balance and profile first, the employment
    # end before the card's registration and without the NIK (an older producer).
    await env.publish(
        [
            balance(m, 9_000_000, version=2),
            newer_profile,
            resigned(m, with_nik=False),
            balance(m, 1_000, version=1),
            older_profile,
            registered(m),
            face(m),
        ]
    )
    body = await env.projected(
        m,
        lambda b: any(
            c["kpj"] == m.kpj and c["registered_on"] and c["ended_on"] and c["balance_idr"] for c in b["cards"]
        ),
    )
    card = next(c for c in body["cards"] if c["kpj"] == m.kpj)
    assert card["balance_idr"] == 9_000_000 and card["end_cause"] == "resignation" and not card["active"]
    by_reason = {r["reason"]: r for r in body["reasons"]}
    assert len(body["reasons"]) == 9
    resignation = by_reason["resignation"]
    assert resignation["eligible"] and resignation["unmet"] == []
    assert resignation["estimated"] == {"gross_idr": 9_000_000, "tax_idr": 0, "net_idr": 9_000_000}
    assert resignation["required_documents"] == ["kpj_card", "ktp", "resignation_letter"]
    # Birth date from the card registration (PersonRecorded not published): 56 in 2046.
    assert by_reason["retirement"]["eligible_from"] == "2046-04-02"
    assert [u["code"] for u in by_reason["termination"]["unmet"]] == ["employment_ended_otherwise"]
    assert "partial_already_claimed" not in [u["code"] for u in by_reason["partial_10"]["unmet"]]
    # The older ProfileUpdated arrived last and did not win: no NPWP, and the account is usable.
    assert body["blockers"] == []
    db = env.api_app.state.claims.runtime.db
    projected = await eventually(lambda: db["members"].find_one({"_id": m.nik, "profile": {"$exists": True}}))
    assert projected["profile"]["update_id"] == newer_profile.update_id and projected["profile"]["npwp"] is None
    other = await env.api.get("/v1/claims/eligibility", params={"kpj": "00000000000"}, headers=m.headers(env.issuer))
    assert other.status_code == 404 and other.json()["code"] == "card_not_found"


# --- documents ---------------------------------------------------------------


async def test_document_upload_checks_the_content(env: Env) -> None:
    m = Claimant()
    ok = await env.upload(m, "ktp")
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert body["kind"] == "ktp" and body["size"] == len(PNG) and body["content_type"] == "image/png"
    assert body["sha256"] == hashlib.sha256(PNG).hexdigest()
    fake_pdf = await env.upload(m, "ktp", content=b"just some text, not a PDF\n", filename="ktp.pdf")
    assert fake_pdf.status_code == 422
    assert fake_pdf.headers["content-type"].startswith("application/problem+json")
    assert fake_pdf.json()["code"] == "unsupported_file_type"
    unknown = await env.upload(m, "selfie")
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_document_kind"
    missing = await env.api.post("/v1/claims/documents", headers=m.headers(env.issuer), data={"kind": "ktp"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "file"
    big = await env.upload(m, "ktp", content=PNG + b"\0" * (5 * 1024 * 1024))
    assert big.status_code == 413 and big.json()["code"] == "file_too_large"
    anonymous = await env.api.post("/v1/claims/documents", files={"file": ("a.png", PNG)}, data={"kind": "ktp"})
    assert anonymous.status_code == 401


# --- submission refusals -------------------------------------------------------


async def _refused(env: Env, m: Claimant, body: dict, code: str, status: int = 422) -> dict:
    resp = await env.submit(m, body)
    assert resp.status_code == status, resp.text
    problem = resp.json()
    assert problem["code"] == code, problem
    assert problem["detail"] and code in [e["code"] for e in problem["errors"]]
    return problem


async def test_each_request_level_precondition_is_refused_with_its_code(env: Env) -> None:
    m, body = await claimable(env)
    stranger, stranger_body = await claimable(env)
    await _refused(env, m, body | {"kpj": stranger.kpj}, "card_not_found")
    await _refused(env, m, body | {"document_ids": body["document_ids"][:2]}, "documents_missing")
    await _refused(
        env,
        m,
        body | {"document_ids": [*body["document_ids"][:2], stranger_body["document_ids"][2]]},
        "document_not_found",
    )
    await _refused(env, m, body | {"verification_id": stranger.verification_id}, "verification_not_found")
    await _refused(env, m, body | {"reason": "termination"}, "employment_ended_otherwise")
    await _refused(env, m, body | {"partial_percent": 30}, "partial_percent_not_allowed")
    # Faces: another purpose, and an expired one.
    await env.publish(
        [
            face(m, purpose="profile_update", verification_id="pu-" + m.verification_id),
            face(m, verification_id="old-" + m.verification_id, expires_in=timedelta(seconds=-1)),
        ]
    )
    await eventually(lambda: _face_known(env, "old-" + m.verification_id), timeout=60)
    await _refused(env, m, body | {"verification_id": "pu-" + m.verification_id}, "verification_wrong_purpose")
    await _refused(env, m, body | {"verification_id": "old-" + m.verification_id}, "verification_expired")
    missing_key = await env.api.post("/v1/claims", json=body, headers=m.headers(env.issuer))
    assert missing_key.status_code == 400 and missing_key.json()["code"] == "idempotency_key_required"
    invalid = await env.submit(m, body | {"reason": "holiday"})
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "reason"


async def _face_known(env: Env, verification_id: str) -> bool:
    service = env.api_app.state.claims
    return await service.runtime.db["face_verifications"].find_one({"_id": verification_id}) is not None


@pytest.mark.parametrize(
    "case,code",
    [
        ("waiting", "waiting_period"),
        ("no_data_update", "data_update_required"),
        ("no_bank_account", "bank_account_missing"),
        ("unconfirmed_account", "bank_account_unconfirmed"),
        ("cooling_off", "bank_account_cooling_off"),
        ("npwp", "npwp_required"),
    ],
)
async def test_each_member_level_precondition_is_refused_with_its_code(env: Env, case: str, code: str) -> None:
    m = Claimant()
    feed = ready_feed(m)
    if case == "waiting":
        feed[1] = resigned(m, letter_days_ago=10)
    elif case == "no_data_update":
        feed[5] = profile(m, completed=False)
    elif case == "no_bank_account":
        feed[5] = profile(m, with_bank=False)
    elif case == "unconfirmed_account":
        feed[5] = profile(m, inquiry_name=None)
    elif case == "cooling_off":
        feed[5] = profile(m, changed_days_ago=1)
    elif case == "npwp":
        feed[6] = balance(m, 60_000_000)
    await env.publish(feed)
    await env.settled(m)
    body = {
        "reason": "resignation",
        "kpj": m.kpj,
        "document_ids": await env.documents(m),
        "verification_id": m.verification_id,
    }
    await _refused(env, m, body, code)


async def test_submissions_at_the_same_moment_open_one_claim_and_refuse_the_others(env: Env) -> None:
    """Requests that all pass the checks before the transaction: the open-claim slot's unique insert decides."""
    m, body = await claimable(env)
    answers = await asyncio.gather(*(env.submit(m, body) for _ in range(4)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [202, 409, 409, 409], [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"open_claim_exists"}
    listed = (await env.api.get("/v1/claims", headers=m.headers(env.issuer))).json()["claims"]
    accepted = next(a.json() for a in answers if a.status_code == 202)
    assert [c["claim_id"] for c in listed] == [accepted["claim_id"]]


# --- the whole path ------------------------------------------------------------


async def test_submission_is_idempotent_and_the_claim_goes_all_the_way_to_paid(env: Env) -> None:
    m, body = await claimable(env)
    key = uuid.uuid4().hex
    first = await env.submit(m, body, key)
    assert first.status_code == 202, first.text
    answer = first.json()
    assert answer["status"] == "SUBMITTED" and answer["estimated"]["gross_idr"] == 8_000_000
    replay = await env.submit(m, body, key)
    assert replay.status_code == 202 and replay.json() == answer
    listed = (await env.api.get("/v1/claims", headers=m.headers(env.issuer))).json()["claims"]
    assert [c["claim_id"] for c in listed] == [answer["claim_id"]]
    claim_id = answer["claim_id"]

    submitted = await env.tap.wait_for("ClaimSubmitted", lambda d: d["claim_id"] == claim_id)
    assert submitted.data["member_id"] == m.member_id and submitted.data["kpj"] == m.kpj
    assert submitted.data["reason"] == "resignation" and len(submitted.data["document_ids"]) == 3
    assert len(env.tap.matching("ClaimSubmitted", lambda d: d["claim_id"] == claim_id)) == 1

    # One claim at a time, whatever the key.
    second = await env.submit(m, body | {"verification_id": m.verification_id})
    assert second.status_code == 409 and second.json()["code"] == "open_claim_exists"

    now = datetime.now(UTC)
    await env.publish(
        [
            BalanceReserved(
                claim_id=claim_id,
                member_id=m.member_id,
                nik=m.nik,
                kpj=m.kpj,
                amount_idr=7_900_000,
                balance_idr=8_000_000,
                reserved_at=now,
            )
        ]
    )
    approved = await env.tap.wait_for("ClaimApproved", lambda d: d["claim_id"] == claim_id)
    assert approved.data["gross_idr"] == 7_900_000 and approved.data["nik"] == m.nik
    assert approved.data["beneficiary_name"] == m.full_name
    assert approved.data["bank_account"]["account_number"] == "1234567890"
    assert approved.data["entitlement_date"] == resigned(m).ended_on.isoformat()
    await env.claim_reaches(m, claim_id, "APPROVED")

    await env.publish(
        [
            PayoutInitiated(
                payout_id="p-" + claim_id,
                claim_id=claim_id,
                member_id=m.member_id,
                gross_idr=7_900_000,
                tax_idr=0,
                net_idr=7_900_000,
                rail="BI_FAST",
                bank_code="014",
                external_id="x-1",
                initiated_at=now,
            )
        ]
    )
    paying = await env.claim_reaches(m, claim_id, "PAYING")
    assert (paying["gross_idr"], paying["tax_idr"], paying["net_idr"]) == (7_900_000, 0, 7_900_000)
    assert paying["amounts_source"] == "payout" and paying["payout_id"] == "p-" + claim_id

    settled = PayoutSettled(
        payout_id="p-" + claim_id,
        claim_id=claim_id,
        member_id=m.member_id,
        gross_idr=7_900_000,
        tax_idr=0,
        net_idr=7_900_000,
        bank_code="014",
        bank_reference="BCA-1",
        settled_at=now,
    )
    # The same settlement twice, as two events: the claim is paid once.
    await env.publish([settled, settled])
    paid = await env.claim_reaches(m, claim_id, "PAID")
    await env.tap.wait_for("ClaimStatusChanged", lambda d: d["claim_id"] == claim_id and d["status"] == "PAID")
    assert [e["status"] for e in paid["timeline"]] == ["SUBMITTED", "VERIFYING", "APPROVED", "PAYING", "PAID"]
    times = [e["at"] for e in paid["timeline"]]
    assert times == sorted(times)
    assert paid["sla_due_at"] > paid["submitted_at"]
    changes = [e.data["status"] for e in env.tap.matching("ClaimStatusChanged", lambda d: d["claim_id"] == claim_id)]
    assert changes == ["SUBMITTED", "VERIFYING", "APPROVED", "PAYING", "PAID"]

    # Paid: the member may claim again (for another card or reason) and another member cannot read it.
    stranger = Claimant()
    hidden = await env.api.get(f"/v1/claims/{claim_id}", headers=stranger.headers(env.issuer))
    assert hidden.status_code == 404 and hidden.json()["code"] == "claim_not_found"


async def test_same_key_in_flight_is_a_conflict(env: Env) -> None:
    m, body = await claimable(env)
    key = uuid.uuid4().hex
    # A first request holding the key, still being processed.
    service = env.api_app.state.claims
    await service.idempotency.begin(m.member_id, key, fingerprint(ClaimRequest(**body).model_dump()))
    resp = await env.submit(m, body, key)
    assert resp.status_code == 409 and resp.json()["code"] == "request_in_flight"
    # The same key with another body is a client error, not a replay.
    other = await env.submit(m, body | {"verification_id": "other"}, key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


async def test_above_the_app_cap_goes_to_review(env: Env) -> None:
    m, body = await claimable(env, amount=20_000_000)
    resp = await env.submit(m, body)
    assert resp.status_code == 202, resp.text
    claim_id = resp.json()["claim_id"]
    await env.publish(
        [
            BalanceReserved(
                claim_id=claim_id,
                member_id=m.member_id,
                nik=m.nik,
                kpj=m.kpj,
                amount_idr=20_000_000,
                balance_idr=20_000_000,
                reserved_at=datetime.now(UTC),
            )
        ]
    )
    review = await env.claim_reaches(m, claim_id, "NEEDS_REVIEW")
    assert review["reason_code"] == "above_app_cap" and review["timeline"][-1]["reason_code"] == "above_app_cap"
    assert not env.tap.matching("ClaimApproved", lambda d: d["claim_id"] == claim_id)
    # Five working days for a claim above Rp10,000,000.
    assert datetime.fromisoformat(review["sla_due_at"]) - datetime.fromisoformat(review["submitted_at"]) >= timedelta(
        days=5
    )


async def test_reservation_rejected_rejects_and_frees_the_slot(env: Env) -> None:
    m, body = await claimable(env)
    resp = await env.submit(m, body)
    claim_id = resp.json()["claim_id"]
    await env.publish(
        [
            BalanceReservationRejected(
                claim_id=claim_id,
                member_id=m.member_id,
                kpj=m.kpj,
                reason_code="no_balance",
                message="The card has no balance.",
            )
        ]
    )
    rejected = await env.tap.wait_for("ClaimRejected", lambda d: d["claim_id"] == claim_id)
    assert rejected.data["reason_code"] == "no_balance"
    claim = await env.claim_reaches(m, claim_id, "REJECTED")
    assert claim["reason_code"] == "no_balance"
    # The verification was used; with a fresh one the member may submit again.
    await env.publish([face(m, verification_id="again-" + m.verification_id)])
    await eventually(lambda: _face_known(env, "again-" + m.verification_id), timeout=60)
    used = await env.submit(m, body)
    assert used.status_code == 422 and used.json()["code"] == "verification_already_used"
    again = await env.submit(m, body | {"verification_id": "again-" + m.verification_id})
    assert again.status_code == 202, again.text
    # A settlement for the rejected claim contradicts its state: refused and parked, visibly.
    await env.publish(
        [
            PayoutSettled(
                payout_id="p-x",
                claim_id=claim_id,
                member_id=m.member_id,
                gross_idr=1,
                tax_idr=0,
                net_idr=1,
                bank_code="014",
                bank_reference="r",
                settled_at=datetime.now(UTC),
            )
        ]
    )
    db = env.api_app.state.claims.runtime.db
    parked = await eventually(
        lambda: db["dead_letters"].find_one({"type": PayoutSettled.event_type, "error": {"$regex": claim_id}}),
        timeout=60,
    )
    assert "illegal_transition" in parked["error"]
    assert (await env.claim(m, claim_id))["status"] == "REJECTED"


async def test_payout_failure_is_shown_with_what_to_fix(env: Env) -> None:
    m, body = await claimable(env)
    claim_id = (await env.submit(m, body)).json()["claim_id"]
    now = datetime.now(UTC)
    await env.publish(
        [
            BalanceReserved(
                claim_id=claim_id,
                member_id=m.member_id,
                nik=m.nik,
                kpj=m.kpj,
                amount_idr=8_000_000,
                balance_idr=8_000_000,
                reserved_at=now,
            ),
            PayoutInitiated(
                payout_id="p-" + claim_id,
                claim_id=claim_id,
                member_id=m.member_id,
                gross_idr=8_000_000,
                tax_idr=0,
                net_idr=8_000_000,
                rail="BI_FAST",
                bank_code="014",
                external_id="x-2",
                initiated_at=now,
            ),
            PayoutFailed(
                payout_id="p-" + claim_id,
                claim_id=claim_id,
                member_id=m.member_id,
                reason_code="AC04",
                bank_reason="closed account",
                failed_at=now,
            ),
        ]
    )
    failed = await env.claim_reaches(m, claim_id, "PAYOUT_FAILED")
    assert failed["reason_code"] == "AC04" and "closed" in failed["timeline"][-1]["note"]
    assert [e["status"] for e in failed["timeline"]] == [
        "SUBMITTED",
        "VERIFYING",
        "APPROVED",
        "PAYING",
        "PAYOUT_FAILED",
    ]


async def test_a_claim_sent_straight_after_the_match_is_accepted_on_its_signed_assertion(env: Env) -> None:
    """identity answers a match with a signed assertion: claims takes it at once, before (here: without)
    any FaceVerified event for it, and refuses one that is not this member's, not for a claim, expired
    or forged."""
    from jmo_shared.testing import TokenIssuer

    m, body = await claimable(env)
    stranger = Claimant()
    sign = env.issuer.face_assertion
    await _refused(
        env, m, body | {"verification_id": sign(stranger.member_id, stranger.nik, "claim")}, "verification_not_found"
    )
    forger = TokenIssuer()
    forger.kid = env.issuer.kid  # names the trusted key, signed with another
    await _refused(
        env, m, body | {"verification_id": forger.face_assertion(m.member_id, m.nik, "claim")}, "verification_not_found"
    )
    await _refused(
        env, m, body | {"verification_id": sign(m.member_id, m.nik, "profile_update")}, "verification_wrong_purpose"
    )
    await _refused(
        env,
        m,
        body | {"verification_id": sign(m.member_id, m.nik, "claim", expires_in=timedelta(seconds=-5))},
        "verification_expired",
    )

    match_id = uuid.uuid4().hex  # no FaceVerified with this id is ever published
    resp = await env.submit(m, body | {"verification_id": sign(m.member_id, m.nik, "claim", match_id)})
    assert resp.status_code == 202, resp.text
    stored = await env.api_app.state.claims.runtime.db["claims"].find_one({"_id": resp.json()["claim_id"]})
    assert stored["verification_id"] == match_id  # "used once" goes by the match's own id


async def test_the_members_claims_come_a_page_at_a_time_newest_first(env: Env) -> None:
    from jmo_claims.adapters.codec import claim_to_doc
    from jmo_claims.adapters.collections import CLAIMS
    from jmo_claims.domain.claim import Claim
    from jmo_claims.domain.model import BankAccount, Estimate

    m, stranger = Claimant(), Claimant()
    start = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)

    def past_claim(who: Claimant, days: int) -> dict:
        at = start + timedelta(days=days)
        return claim_to_doc(
            Claim.submit(
                claim_id=str(uuid.uuid4()),
                member_id=who.member_id,
                nik=who.nik,
                kpj=who.kpj,
                reason="partial_10",
                document_ids=(),
                verification_id=uuid.uuid4().hex,
                submitted_at=at,
                sla_due_at=at + timedelta(days=5),
                estimated=Estimate(1_250_000, 0, 1_250_000),
                beneficiary_name=who.full_name,
                bank_account=BankAccount("014", "1234567890", who.full_name, who.full_name),
            )
        )

    docs = [past_claim(m, days) for days in (0, 30, 60)] + [past_claim(stranger, 90)]
    await env.api_app.state.claims.runtime.db[CLAIMS].insert_many(docs)
    newest_first = [d["_id"] for d in reversed(docs[:3])]
    headers = m.headers(env.issuer)

    first = (await env.api.get("/v1/claims", headers=headers, params={"page_size": 2})).json()
    assert [c["claim_id"] for c in first["items"]] == newest_first[:2]
    assert (first["page"], first["page_size"], first["total"]) == (1, 2, 3)
    second = (await env.api.get("/v1/claims", headers=headers, params={"page": 2, "page_size": 2})).json()
    assert [c["claim_id"] for c in second["items"]] == newest_first[2:]
    assert (second["page"], second["total"]) == (2, 3)
    # Older apps read `claims`: the same page's claims.
    assert second["claims"] == second["items"]
    past_the_end = (await env.api.get("/v1/claims", headers=headers, params={"page": 3, "page_size": 2})).json()
    assert past_the_end["items"] == [] and past_the_end["total"] == 3
    whole = (await env.api.get("/v1/claims", headers=headers)).json()
    assert whole["page_size"] == 20 and [c["claim_id"] for c in whole["items"]] == newest_first
    for params in ({"page": 0}, {"page_size": 0}, {"page_size": 101}):
        refused = await env.api.get("/v1/claims", headers=headers, params=params)
        assert refused.status_code == 422, params
