"""Penggabungan saldo and the digital membership card, through the HTTP API and real Kafka.

Card A: 114,000 in January 2024 -> 126,283 (see test_balance_claims).
Card B: 114,000 in March 2025 -> 2025 at 5%: 114,000 * 9/12 * 5% = 4,275 -> 118,275.
Pooled on A: 2024 6,270; 2025 (120,270 * 12 + 114,000 * 9) * 5% / 12 = 10,288 -> 244,558,
the same total as apart (126,283 + 118,275).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest
from balance_harness import (
    contribution,
    expires_soon,
    publish_as_one_batch,
    publish_raw,
    random_kpj,
    random_nik,
    registered,
)

from jmo_balance.adapters.card_signing import verify_card
from jmo_balance.entrypoints.api import create_api
from jmo_balance.settings import BalanceSettings
from jmo_shared.events.claims import ClaimSubmitted
from jmo_shared.events.identity import FaceVerified
from jmo_shared.testing import eventually

pytestmark = pytest.mark.integration


async def two_cards(balance, bootstrap: str) -> tuple[str, str, str]:
    nik, a, b = random_nik(), random_kpj(), random_kpj()
    await publish_raw(
        bootstrap,
        [
            registered(nik, a, employer="PT Lama", on=date(2015, 1, 5)),
            registered(nik, b, employer="PT Baru", on=date(2020, 3, 1)),
            contribution(a, "2024-01", 74_000, 40_000, nik),
            contribution(b, "2025-03", 74_000, 40_000, nik),
        ],
    )
    await balance.wait_card(nik, a, balance_idr=126_283)
    await balance.wait_card(nik, b, balance_idr=118_275)
    return nik, a, b


async def face_verified(bootstrap: str, nik: str, purpose: str = "balance_merge") -> str:
    verification_id = f"ver-{uuid.uuid4().hex[:12]}"
    await publish_raw(
        bootstrap,
        [
            FaceVerified(
                verification_id=verification_id,
                member_id=f"m-{nik}",
                nik=nik,
                purpose=purpose,
                score=0.71,
                threshold=0.45,
                model_version="test",
                verified_at=datetime.now(UTC),
                expires_at=expires_soon(),
            )
        ],
    )
    return verification_id


async def post_merge(balance, nik: str, body: dict, headers: dict | None = None, expect: int = 202):
    """POST until the verification has reached the service (it travels through Kafka)."""

    async def attempt():
        resp = await balance.api.post(
            "/v1/balance/merges", json=body, headers={**balance.headers(nik), **(headers or {})}
        )
        return resp if resp.status_code != 422 or resp.json()["code"] != "verification_not_found" else None

    resp = await eventually(attempt, 40, message="verification received")
    assert resp.status_code == expect, resp.text
    return resp.json()


async def test_a_merge_moves_every_balance_onto_the_target_once(balance, infra) -> None:
    bootstrap = infra.kafka_bootstrap
    nik, a, b = await two_cards(balance, bootstrap)
    verification_id = await face_verified(bootstrap, nik)
    body = {"kpj_numbers": [a, b], "verification_id": verification_id}

    accepted = await post_merge(balance, nik, body, headers={"Idempotency-Key": "merge-1"})
    assert accepted["status"] == "completed"
    merge_id = accepted["merge_id"]

    view = await balance.balance(nik)
    cards = {c["kpj"]: c for c in view["cards"]}
    assert (cards[a]["contributions_idr"], cards[a]["returns_idr"], cards[a]["balance_idr"]) == (
        228_000,
        16_558,
        244_558,
    )
    assert (cards[b]["status"], cards[b]["merged_into"], cards[b]["balance_idr"]) == ("merged", a, 0)
    assert view["total_idr"] == 244_558

    # A repeat answers the same, with or without the Idempotency-Key, and moves nothing again.
    assert await post_merge(balance, nik, body, headers={"Idempotency-Key": "merge-1"}) == accepted
    assert await post_merge(balance, nik, body) == accepted
    assert (await balance.balance(nik))["total_idr"] == 244_558

    merged = await balance.tap.wait_for("BalanceMerged", merge_id=merge_id)
    assert merged.data["target_kpj"] == a and merged.data["sources"] == [{"kpj": b, "amount_idr": 118_275}]
    # Versions: 1 at registration, 2 with the contribution, 3 at the merge.
    assert (await balance.tap.wait_for("BalanceChanged", kpj=b, version=3)).data["balance_idr"] == 0
    assert (await balance.tap.wait_for("BalanceChanged", kpj=a, version=3)).data["balance_idr"] == 244_558

    detail = await balance.api.get(f"/v1/balance/merges/{merge_id}", headers=balance.headers(nik))
    assert detail.status_code == 200
    assert (detail.json()["target_kpj"], detail.json()["moved"]) == (a, [{"kpj": b, "amount_idr": 118_275}])
    stranger = await balance.api.get(f"/v1/balance/merges/{merge_id}", headers=balance.headers(random_nik()))
    assert (stranger.status_code, stranger.json()["code"]) == (404, "merge_not_found")
    assert len(balance.tap.distinct("BalanceMerged", merge_id=merge_id)) == 1

    # A late contribution to the merged card lands on the target.
    await publish_raw(bootstrap, [contribution(b, "2026-02", 74_000, 40_000, nik)])
    await balance.wait_card(nik, a, contributions_idr=342_000)


async def test_a_run_of_contributions_to_a_merged_pot_counts_on_the_target_once(balance, infra) -> None:
    """Late months for the target and for a merged source in one run: both land on the target's pot,
    announced by one BalanceChanged of the target; the source stays at zero and is not announced."""
    bootstrap = infra.kafka_bootstrap
    nik, a, b = await two_cards(balance, bootstrap)
    verification_id = await face_verified(bootstrap, nik)
    await post_merge(balance, nik, {"kpj_numbers": [a, b], "verification_id": verification_id})
    await balance.tap.wait_for("BalanceChanged", kpj=a, version=3)

    run = [
        contribution(a, "2026-03", 74_000, 40_000, nik).to_event("/upstream/test"),
        contribution(b, "2026-04", 74_000, 40_000, nik).to_event("/upstream/test"),
    ]
    await publish_as_one_batch(bootstrap, run, key=nik)
    await balance.processed([e.id for e in run])

    card = await balance.wait_card(nik, a, contributions_idr=456_000)
    assert (card["balance_idr"], (await balance.balance(nik))["total_idr"]) == (244_558 + 228_000, 472_558)
    await asyncio.sleep(2)  # time for a wrong extra event to reach the topic
    assert sorted(e.data["version"] for e in balance.tap.distinct("BalanceChanged", kpj=a)) == [1, 2, 3, 4]
    assert sorted(e.data["version"] for e in balance.tap.distinct("BalanceChanged", kpj=b)) == [1, 2, 3]
    assert balance.tap.distinct("BalanceChanged", kpj=a, version=4)[0].data["balance_idr"] == 472_558


async def test_a_merge_is_refused_while_a_claim_holds_money(balance, infra) -> None:
    bootstrap = infra.kafka_bootstrap
    nik, a, b = await two_cards(balance, bootstrap)
    now = datetime.now(UTC)
    held = ClaimSubmitted(
        claim_id=f"clm-{uuid.uuid4().hex[:10]}",
        member_id=f"m-{nik}",
        nik=nik,
        kpj=b,
        reason="resignation",
        document_ids=[],
        verification_id="v",
        submitted_at=now,
        sla_due_at=now,
    )
    await publish_raw(bootstrap, [held])
    await balance.tap.wait_for("BalanceReserved", claim_id=held.claim_id)
    verification_id = await face_verified(bootstrap, nik)
    refused = await post_merge(balance, nik, {"kpj_numbers": [a, b], "verification_id": verification_id}, expect=409)
    assert refused["code"] == "open_claim_reservation"
    wrong_purpose = await face_verified(bootstrap, nik, purpose="claim")
    unknown = await balance.api.post(
        "/v1/balance/merges",
        headers=balance.headers(nik),
        json={"kpj_numbers": [a, b], "verification_id": wrong_purpose},
    )
    assert unknown.json()["code"] in {"verification_not_found", "verification_wrong_purpose"}
    not_mine = await balance.api.post(
        "/v1/balance/merges",
        headers=balance.headers(random_nik()),
        json={"kpj_numbers": [a, b], "verification_id": verification_id},
    )
    assert (not_mine.status_code, not_mine.json()["code"]) == (422, "verification_not_found")
    bad = await balance.api.post(
        "/v1/balance/merges",
        headers=balance.headers(nik),
        json={"kpj_numbers": ["123"], "verification_id": verification_id},
    )
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "kpj_numbers.0")


async def test_the_card_qr_verifies_with_the_published_key(balance, infra, unique_db) -> None:
    bootstrap = infra.kafka_bootstrap
    nik, older, newer = await two_cards(balance, bootstrap)

    resp = await balance.api.get("/v1/card", headers=balance.headers(nik))
    assert resp.status_code == 200, resp.text
    card = resp.json()
    assert (card["kpj"], card["cards"], card["status"]) == (newer, [older], "active")
    assert card["nik_masked"] == nik[:4] + "********" + nik[-4:]
    assert card["programs"] == ["JHT", "JKK", "JKM", "JP"]

    jwks = (await balance.api.get("/v1/card/keys")).json()
    claims = verify_card(card["qr"], jwks, issuer="jmo-balance")
    assert (claims["kpj"], claims["name"], claims["nik_masked"], claims["status"]) == (
        newer,
        "Budi Santoso",
        card["nik_masked"],
        "active",
    )

    # The key was generated once and kept: another API process signs with the same key.
    other = create_api(BalanceSettings(db_name=unique_db))
    async with other.router.lifespan_context(other):
        assert other.state.balance.signer.jwks() == jwks


async def test_redelivered_feed_events_change_nothing_around_a_merge(balance, infra) -> None:
    """FaceVerified and ContributionPosted delivered twice (same event id), and re-sent under a new id
    after the merge used them: the merge stays done once, the money counts once."""
    bootstrap = infra.kafka_bootstrap
    nik, a, b = await two_cards(balance, bootstrap)
    verification = FaceVerified(
        verification_id=f"ver-{uuid.uuid4().hex[:12]}",
        member_id=f"m-{nik}",
        nik=nik,
        purpose="balance_merge",
        score=0.71,
        threshold=0.45,
        model_version="test",
        verified_at=datetime.now(UTC),
        expires_at=expires_soon(),
    )
    twice = await publish_raw(bootstrap, [verification], times=2)
    await balance.processed([twice[0].id])
    body = {"kpj_numbers": [a, b], "verification_id": verification.verification_id}
    merge_id = (await post_merge(balance, nik, body))["merge_id"]

    # After the merge: the same verification re-sent under a new id must not make it usable again,
    # and a contribution to the merged card, delivered twice and re-posted, counts once on the target.
    late = contribution(b, "2026-02", 74_000, 40_000, nik)
    again = await publish_raw(bootstrap, [verification])
    repeated = await publish_raw(bootstrap, [late], times=2)
    reposted = await publish_raw(bootstrap, [contribution(b, "2026-02", 74_000, 40_000, nik)])
    await balance.processed([again[0].id, repeated[0].id, reposted[0].id])

    card = await balance.wait_card(nik, a, contributions_idr=342_000)
    assert card["balance_idr"] == 244_558 + 114_000
    assert (await balance.balance(nik))["total_idr"] == 244_558 + 114_000
    stored = await balance.mongo[balance.db_name]["verifications"].find_one({"_id": verification.verification_id})
    assert stored["used_by"] == merge_id
    assert await post_merge(balance, nik, body) == {"merge_id": merge_id, "status": "completed"}
    other = await balance.api.post(
        "/v1/balance/merges",
        headers=balance.headers(nik),
        json={"kpj_numbers": [b, a], "verification_id": verification.verification_id},
    )
    assert (other.status_code, other.json()["code"]) == (409, "verification_used")
    assert await balance.mongo[balance.db_name]["merges"].count_documents({"nik": nik}) == 1
    await asyncio.sleep(2)  # time for a wrong second event to reach the topic
    assert len(balance.tap.distinct("BalanceMerged", merge_id=merge_id)) == 1


async def test_a_merge_sent_straight_after_the_match_counts_on_its_signed_assertion(balance, infra) -> None:
    """No FaceVerified for this match ever reaches balance: the signed verification_id is enough, once."""
    nik, a, b = await two_cards(balance, infra.kafka_bootstrap)
    match_id = uuid.uuid4().hex
    assertion = balance.issuer.face_assertion(f"m-{nik}", nik, "balance_merge", match_id)
    wrong_purpose = balance.issuer.face_assertion(f"m-{nik}", nik, "claim")

    refused = await balance.api.post(
        "/v1/balance/merges",
        headers=balance.headers(nik),
        json={"kpj_numbers": [a, b], "verification_id": wrong_purpose},
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "verification_wrong_purpose")
    resp = await balance.api.post(
        "/v1/balance/merges", headers=balance.headers(nik), json={"kpj_numbers": [a, b], "verification_id": assertion}
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "completed"
    stored = await balance.mongo[balance.db_name]["verifications"].find_one({"_id": match_id})
    assert stored["used_by"] == resp.json()["merge_id"]
    # The same match for other cards: already spent.
    again = await balance.api.post(
        "/v1/balance/merges", headers=balance.headers(nik), json={"kpj_numbers": [b, a], "verification_id": assertion}
    )
    assert (again.status_code, again.json()["code"]) == (409, "verification_used")
