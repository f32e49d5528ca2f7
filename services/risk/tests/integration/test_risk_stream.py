"""The risk worker (faust) and API on the real broker and database.

Three members claim into one bank account: the third claim is flagged (RiskFlagged on risk.events,
the flag in the risk database, the officers' API lists and clears it). A restart between the second
and the third claim recovers the tables from their changelogs (the third is still flagged, though the
first two are not read again), and a redelivered claim does not flag twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from jmo_local.topics import create_topics
from jmo_risk.domain.rules import hash_account
from jmo_risk.entrypoints.api import create_api
from jmo_risk.entrypoints.worker import create_worker
from jmo_risk.settings import RiskSettings
from jmo_shared.events import BankAccount, ClaimSubmitted, CloudEvent, ProfileUpdated
from jmo_shared.testing import eventually, publish
from jmo_shared.topics import risk_stream_topics

pytestmark = pytest.mark.integration


def settings_for(infra, issuer, app_id: str, db: str) -> RiskSettings:
    return RiskSettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=issuer.jwks(),
        staff_jwks_json=issuer.staff_jwks(),
        db_name=db,
        app_id=app_id,
        consumer_group_prefix=f"test-{db}",
        account_members_threshold=3,
        shutdown_grace_seconds=5,
        environment="test",
    )


def members_of_one_account(n: int) -> list[tuple[str, str, str]]:
    return [
        (f"m-{uuid.uuid4().hex[:10]}", "3174" + str(uuid.uuid4().int)[:12], str(uuid.uuid4().int)[:11])
        for _ in range(n)
    ]


def profile(member_id: str, nik: str, account_number: str) -> ProfileUpdated:
    now = datetime.now(UTC)
    return ProfileUpdated(
        member_id=member_id,
        nik=nik,
        update_id=uuid.uuid4().hex[:8],
        changed_fields=["bank_account"],
        data_update_completed=True,
        full_name="MULE",
        confirmed_at=now - timedelta(days=20),
        bank_account=BankAccount(
            bank_code="014", account_number=account_number, account_name="MULE", changed_at=now - timedelta(days=20)
        ),
    )


def claim(member_id: str, nik: str, kpj: str) -> ClaimSubmitted:
    now = datetime.now(UTC)
    return ClaimSubmitted(
        claim_id=f"c-{uuid.uuid4().hex[:10]}",
        member_id=member_id,
        nik=nik,
        kpj=kpj,
        reason="resignation",
        document_ids=[],
        verification_id="v",
        submitted_at=now,
        sla_due_at=now + timedelta(days=1),
    )


class Worker:
    """The risk worker's lifespan, run in this process."""

    def __init__(self, settings: RiskSettings) -> None:
        self.app = create_worker(settings)
        self._context = self.app.router.lifespan_context(self.app)

    async def __aenter__(self) -> Worker:
        await self._context.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        await self._context.__aexit__(None, None, None)


async def flags_in_db(worker_settings: RiskSettings, infra, claim_ids: set[str]) -> list[dict]:
    """The flags of this test's claims (the worker also reads what other tests published)."""
    from pymongo import AsyncMongoClient

    client = AsyncMongoClient(infra.mongo_uri)
    try:
        return await client[worker_settings.db_name]["flags"].find({"claim_id": {"$in": sorted(claim_ids)}}).to_list()
    finally:
        await client.close()


async def test_three_members_into_one_account_restart_and_redelivery(infra, token_issuer) -> None:
    app_id = f"risk-test-{uuid.uuid4().hex[:8]}"
    db = f"t_risk_{uuid.uuid4().hex[:8]}"
    await create_topics(infra.kafka_bootstrap, risk_stream_topics(app_id))
    settings = settings_for(infra, token_issuer, app_id, db)
    account_number = str(uuid.uuid4().int)[:10]
    people = members_of_one_account(3)
    claims = [claim(m, nik, kpj) for m, nik, kpj in people]
    ours = {c.claim_id for c in claims}

    async with Worker(settings) as first:
        await publish(infra.kafka_bootstrap, [profile(m, nik, account_number) for m, nik, _ in people])

        # The members' data updates come before their claims (as in the app: days, or a face match, before).
        # The worker reads profile.events and claims.events side by side, so wait for them here: a shared
        # broker's history of profile updates could otherwise hold them behind the claims.
        async def accounts_known() -> bool:
            table = first.app.state.stream.tables["member_accounts"]
            return all(table.get(f"member:{m}") for m, _, _ in people)

        await eventually(accounts_known, timeout=180, message="the members' bank accounts known to the rules")
        await publish(infra.kafka_bootstrap, claims[:2])

        # The two claims passed through both hops and the worker committed its offsets before the stop
        # (it reads the topics from their start: a shared broker's history comes first).
        async def all_committed() -> bool:
            return await fully_committed(infra.kafka_bootstrap, app_id, "claims.events") and await fully_committed(
                infra.kafka_bootstrap, app_id, f"{app_id}.signals"
            )

        await eventually(all_committed, timeout=180, message="the first worker's offsets committed")
        assert await flags_in_db(settings, infra, ours) == []

    # Everything published so far was processed and committed by the stopped worker: a new one
    # does not read the first two claims again, only the tables' changelogs remember them.
    assert await all_committed()
    account_key = "account:" + hash_account(
        settings.account_hash_key.get_secret_value().encode(), "014", account_number
    )
    async with Worker(settings) as worker:
        tables = worker.app.state.stream.tables

        async def recovered() -> bool:
            return len(tables["account_members"].get(account_key) or {}) == 2

        await eventually(recovered, timeout=60, message="account_members recovered from its changelog")
        third = claims[2].to_event("/jmo/claims")
        await publish_events(infra.kafka_bootstrap, [third])

        async def flagged() -> list[dict] | None:
            found = await flags_in_db(settings, infra, ours)
            return found or None

        found = await eventually(flagged, timeout=90, message="the third claim flagged after a restart")
        assert [(f["rule"], f["claim_id"]) for f in found] == [("account_many_members", claims[2].claim_id)]
        assert sorted(found[0]["evidence"]["member_ids"]) == sorted(m for m, _, _ in people)
        assert account_number not in str(found[0])

        # The same event delivered again: the same deterministic flag id, nothing new.
        repeated = repeated_flags()
        await publish_events(infra.kafka_bootstrap, [third])

        async def seen_again() -> bool:
            return repeated_flags() > repeated

        await eventually(seen_again, timeout=60, message="the redelivered claim raised its flag again")
        assert len(await flags_in_db(settings, infra, ours)) == 1

        # Officers list and clear it through the API (audited), which publishes RiskFlagCleared.
        api = create_api(settings)
        async with api.router.lifespan_context(api):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as client:
                officer = token_issuer.headers("officer-7", roles=["officer"])
                member = token_issuer.headers(people[0][0], people[0][1])
                assert (await client.get("/v1/risk/flags", headers=member)).status_code == 403
                listed = (
                    await client.get("/v1/risk/flags", params={"claim_id": claims[2].claim_id}, headers=officer)
                ).json()
                assert [i["claim_id"] for i in listed["items"]] == [claims[2].claim_id]
                assert listed["items"][0]["why"]
                flag_id = listed["items"][0]["flag_id"]
                cleared = await client.post(
                    f"/v1/risk/flags/{flag_id}/clear", headers=officer, json={"note": "Checked: family account."}
                )
                assert cleared.status_code == 200 and cleared.json()["status"] == "cleared", cleared.text
                again = await client.post(
                    f"/v1/risk/flags/{flag_id}/clear", headers=officer, json={"note": "Checked: family account."}
                )
                assert again.json()["repeated"] is True
                other = await client.post(
                    f"/v1/risk/flags/{flag_id}/clear",
                    headers=token_issuer.headers("officer-8", roles=["officer"]),
                    json={"note": "me too"},
                )
                assert other.status_code == 409 and other.json()["code"] == "flag_already_cleared"
                detail = (await client.get(f"/v1/risk/flags/{flag_id}", headers=officer)).json()
                assert [
                    (a["officer_id"], a["action"], a.get("outcome"))
                    for a in detail["audit"]
                    if a["action"] == "clear_flag"
                ] == [("officer-7", "clear_flag", "applied"), ("officer-8", "clear_flag", "refused")]


def repeated_flags() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("risk_flags_repeated_total", {"rule": "account_many_members"}) or 0.0


async def publish_events(bootstrap: str, events: list[CloudEvent]) -> None:
    """Publish CloudEvents as they are (same id): what a redelivery looks like."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                "claims.events", event.to_bytes(), key=event.data["member_id"].encode(), headers=event.kafka_headers()
            )
    finally:
        await producer.stop()


async def fully_committed(bootstrap: str, group: str, topic: str) -> bool:
    """The group's committed offsets on every partition of `topic` are at the partition's end."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or range(6)]
        ends = await consumer.end_offsets(partitions)
        committed = {tp: await consumer.committed(tp) for tp in partitions}
        return all((committed[tp] or 0) >= ends[tp] for tp in partitions)
    finally:
        await consumer.stop()
