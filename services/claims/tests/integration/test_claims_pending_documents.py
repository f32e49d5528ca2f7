"""Documents uploaded and never named by a claim: a quota per member, and removal after retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from bson import ObjectId
from claims_support import PNG, Claimant, running

from jmo_claims.adapters.collections import DOCUMENT_CHUNKS, DOCUMENT_FILES
from jmo_claims.adapters.documents import attach
from jmo_claims.entrypoints.api import create_api
from jmo_claims.settings import ClaimsSettings
from jmo_shared.clock import FixedClock

pytestmark = pytest.mark.integration

QUOTA = 3


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(infra, token_issuer):
    db = f"t_claims_docs_{uuid.uuid4().hex[:10]}"
    settings = ClaimsSettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=token_issuer.jwks(),
        staff_jwks_json=token_issuer.staff_jwks(),
        consumer_group_prefix=f"test-{db}",
        db_name=db,
        document_pending_max=QUOTA,
        document_retention_days=7,
    )
    clock = FixedClock(datetime.now(UTC))
    app = create_api(settings, clock)
    async with running(app) as api:
        yield api, app.state.claims, clock, token_issuer


async def upload(env, member: Claimant, kind: str = "ktp"):
    api, _, _, issuer = env
    return await api.post(
        "/v1/claims/documents",
        headers=member.headers(issuer),
        files={"file": ("doc.png", PNG, "image/png")},
        data={"kind": kind},
    )


async def attached(service, member: Claimant, document_ids: tuple[str, ...]) -> bool:
    """What a claim's submission does with its documents, in its transaction."""
    return await service.runtime.db.transaction(
        lambda tx: attach(tx, member.member_id, f"claim-{uuid.uuid4().hex[:8]}", document_ids)
    )


async def test_a_member_holds_at_most_the_quota_of_pending_documents(env) -> None:
    _, service, _, _ = env
    member, other = Claimant(), Claimant()
    ids = []
    for _ in range(QUOTA):
        resp = await upload(env, member)
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["document_id"])
    refused = await upload(env, member)
    assert (refused.status_code, refused.json()["code"]) == (409, "too_many_pending_documents"), refused.text
    assert refused.json()["errors"][0]["field"] == "file"
    assert (await upload(env, other)).status_code == 201, "the quota is per member"
    # Documents a claim names no longer count.
    assert await attached(service, member, (ids[0],))
    assert (await upload(env, member)).status_code == 201


async def test_documents_no_claim_named_are_removed_after_retention(env) -> None:
    api, service, clock, _ = env
    member = Claimant()
    old_unused, old_used = [(await upload(env, member)).json()["document_id"] for _ in range(2)]
    assert await attached(service, member, (old_used,))
    assert not await attached(service, Claimant(), (old_unused,)), "another member's document is not theirs"
    clock.advance(timedelta(days=6))
    recent = (await upload(env, member)).json()["document_id"]
    clock.advance(timedelta(days=1, minutes=1))

    await service.uploads.remove_unattached()

    db = service.runtime.db
    remaining = {
        str(d["_id"])
        async for d in db[DOCUMENT_FILES].find({"_id": {"$in": [ObjectId(i) for i in (old_unused, old_used, recent)]}})
    }
    assert remaining == {old_used, recent}
    assert await db[DOCUMENT_CHUNKS].count_documents({"files_id": ObjectId(old_unused)}) == 0
    assert await db[DOCUMENT_CHUNKS].count_documents({"files_id": ObjectId(old_used)}) == 1
    # A claim naming the removed document is refused at submission (attach finds it gone).
    assert not await attached(service, member, (old_unused, old_used))
