"""Complaints from the helpdesk shown on the member's claim (ComplaintFiled through real Kafka)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from claims_support import Claimant, ready_feed, running, skip_history

from jmo_claims.entrypoints.api import create_api
from jmo_claims.entrypoints.worker import create_worker
from jmo_claims.settings import ClaimsSettings
from jmo_shared.auth import Principal
from jmo_shared.events.helpdesk import ComplaintFiled
from jmo_shared.testing import eventually, publish

pytestmark = pytest.mark.integration

DOCS = ("kpj_card", "ktp", "resignation_letter")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(infra, token_issuer):
    db = f"t_claims_c_{uuid.uuid4().hex[:10]}"
    settings = ClaimsSettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=token_issuer.jwks(),
        staff_jwks_json=token_issuer.staff_jwks(),
        consumer_group_prefix=f"test-{db}",
        db_name=db,
    )
    worker_app, api_app = create_worker(settings), create_api(settings)
    await skip_history(infra.kafka_bootstrap, settings)
    async with running(worker_app), running(api_app) as api:
        api.app = api_app  # type: ignore[attr-defined]
        yield api, worker_app, infra.kafka_bootstrap, token_issuer


def api_app_of(api):
    return api.app


async def submitted_claim(api, worker_app, bootstrap, issuer) -> tuple[Claimant, str]:
    """A resigned member's claim, submitted through the claims API as the app would."""
    m = Claimant()
    await publish(bootstrap, ready_feed(m))
    db = worker_app.state.claims.runtime.db

    async def projected() -> bool:
        card = await db["cards"].find_one({"_id": m.kpj}) or {}
        member = await db["members"].find_one({"_id": m.nik}) or {}
        return bool(
            card.get("employment")
            and card.get("balance")
            and member.get("profile")
            and await db["face_verifications"].find_one({"_id": m.verification_id})
        )

    await eventually(projected, timeout=90, message="member projected")
    ids = []
    for kind in DOCS:
        resp = await api.post(
            "/v1/claims/documents",
            headers=m.headers(issuer),
            data={"kind": kind},
            files={
                "file": (
                    "doc.png",
                    bytes.fromhex(
                        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
                    ),
                    "image/png",
                )
            },
        )
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["document_id"])
    body = {"reason": "resignation", "kpj": m.kpj, "document_ids": ids, "verification_id": m.verification_id}
    resp = await api.post("/v1/claims", json=body, headers=m.headers(issuer) | {"Idempotency-Key": uuid.uuid4().hex})
    assert resp.status_code == 202, resp.text
    return m, resp.json()["claim_id"]


def complaint(member_id: str, claim_id: str, category: str = "claim", minutes_ago: int = 0) -> ComplaintFiled:
    return ComplaintFiled(
        ticket=f"HD-2026-{uuid.uuid4().int % 1_000_000:06d}",
        member_id=member_id,
        claim_id=claim_id,
        category=category,
        filed_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


async def test_a_members_complaint_shows_on_the_claim_and_a_strangers_does_not(env) -> None:
    api, worker_app, bootstrap, issuer = env
    m, claim_id = await submitted_claim(api, worker_app, bootstrap, issuer)
    queries = api_app_of(api).state.claims.queries
    member = Principal(member_id=m.member_id, nik=m.nik, roles=frozenset({"member"}))
    before = await queries.claim(member, claim_id)
    assert before["complaints"] == []

    stranger = Claimant()
    foreign = complaint(stranger.member_id, claim_id, category="payout")
    [foreign_id] = await publish(bootstrap, [foreign], source="/jmo/helpdesk")
    own_early = complaint(m.member_id, claim_id, minutes_ago=5)
    own_late = complaint(m.member_id, claim_id, category="payout")
    # The late one first, and one twice: the claim lists each once, oldest first.
    await publish(bootstrap, [own_late, own_early, own_early], source="/jmo/helpdesk")

    async def shown():
        body = await queries.claim(member, claim_id)
        return body if len(body["complaints"]) >= 2 else None

    body = await eventually(shown, timeout=60, message="complaints on the claim")
    assert [(c["ticket"], c["category"]) for c in body["complaints"]] == [
        (own_early.ticket, "claim"),
        (own_late.ticket, "payout"),
    ]
    stored = own_early.filed_at.replace(microsecond=own_early.filed_at.microsecond // 1000 * 1000)  # BSON: ms
    assert body["complaints"][0]["filed_at"] == stored.isoformat()
    # The claim itself is untouched by complaints; they join its timeline as entries of their own kind.
    statuses = [e for e in body["timeline"] if e.get("kind", "status") == "status"]
    assert body["status"] == before["status"] and statuses == before["timeline"]
    on_timeline = [(e["ticket"], e["status"]) for e in body["timeline"] if e.get("kind") == "complaint"]
    assert on_timeline == [(own_early.ticket, before["status"]), (own_late.ticket, before["status"])]

    # The stranger's complaint was handled (its event id is recorded) and ignored.
    db = worker_app.state.claims.runtime.db
    group = worker_app.state.claims.runtime.group("complaints")

    async def processed():
        return await db["processed_events"].find_one({"_id": f"{group}:{foreign_id}"})

    await eventually(processed, timeout=60, message="stranger's complaint processed")
    final = await queries.claim(member, claim_id)
    assert foreign.ticket not in [c["ticket"] for c in final["complaints"]] and len(final["complaints"]) == 2
    listed, _ = await queries.claims(member, 0, 20)
    assert [len(c["complaints"]) for c in listed if c["claim_id"] == claim_id] == [2]
    # The member's HTTP answer lists them too, and the stranger cannot read the claim at all.
    answer = await api.get(f"/v1/claims/{claim_id}", headers=m.headers(issuer))
    assert answer.status_code == 200
    assert [c["ticket"] for c in answer.json()["complaints"]] == [own_early.ticket, own_late.ticket]
    assert [e["ticket"] for e in answer.json()["timeline"] if e["kind"] == "complaint"] == [
        own_early.ticket,
        own_late.ticket,
    ]
    assert (await api.get(f"/v1/claims/{claim_id}", headers=stranger.headers(issuer))).status_code == 404
