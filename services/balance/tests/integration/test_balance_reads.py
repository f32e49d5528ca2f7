"""Balance and card reads: what one read costs the database, how soon a change shows, and that
reads answer with the broker out of reach.

Figures: one card with 114,000 contributed in January 2024 holds 126,283 today (2024 at 6%,
2025 at 5%, see test_balance_claims).
"""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from balance_harness import (
    contribution,
    expires_soon,
    publish_raw,
    random_kpj,
    random_nik,
    rates_settings,
    registered,
    running_balance,
)

from jmo_balance.entrypoints.api import create_api
from jmo_shared.events.claims import ClaimSubmitted
from jmo_shared.events.identity import FaceVerified
from jmo_shared.events.payout import PayoutSettled
from jmo_shared.testing import eventually

pytestmark = pytest.mark.integration

BALANCE = 126_283


async def funded(balance, bootstrap: str, nik: str | None = None) -> tuple[str, str]:
    nik, kpj = nik or random_nik(), random_kpj()
    await publish_raw(bootstrap, [registered(nik, kpj), contribution(kpj, "2024-01", 74_000, 40_000, nik)])
    await balance.wait_card(nik, kpj, balance_idr=BALANCE)
    return nik, kpj


async def test_a_read_costs_one_indexed_query_outside_any_transaction_and_a_repeat_none(balance, infra) -> None:
    nik, kpj = await funded(balance, infra.kafka_bootstrap)
    db = balance.mongo[balance.db_name]
    assert balance.service.read_cache.live, "the change stream feeding the read cache is open"

    await db.command({"profile": 2})
    try:
        balance.service.read_cache.reset()  # the next read is a cold one
        cold = await balance.balance(nik)
        warm = await balance.balance(nik)
        card = await balance.api.get("/v1/card", headers=balance.headers(nik))
    finally:
        await db.command({"profile": 0})
    assert cold == warm and cold["total_idr"] == BALANCE
    assert card.status_code == 200 and card.json()["kpj"] == kpj

    reads = await db["system.profile"].find({"ns": f"{balance.db_name}.cards"}).to_list()
    mine = [r["command"] for r in reads if r["command"].get("filter") == {"nik": nik}]
    assert len(mine) == 1, reads  # the cold read; the warm balance and the card read sent nothing
    (query,) = mine
    assert query["find"] == "cards"
    assert not {"txnNumber", "autocommit", "startTransaction"} & set(query), "a plain read, no transaction"
    assert "flows" in query["projection"] and "figures" not in query["projection"]

    plan = await db.command({"explain": {"find": "cards", "filter": {"nik": nik}}})
    scan = plan["queryPlanner"]["winningPlan"]["inputStage"]
    assert (scan["stage"], scan["indexName"]) == ("IXSCAN", "by_nik")


async def test_a_hold_and_a_debit_show_on_the_next_read_without_waiting_for_the_ttl(
    infra, token_issuer, unique_db, service_env
) -> None:
    # An hour of TTL: only the change stream can make the cached answer change within this test.
    async with running_balance(infra, token_issuer, unique_db, read_cache_ttl_seconds=3600) as balance:
        bootstrap = infra.kafka_bootstrap
        nik, kpj = await funded(balance, bootstrap)
        assert (await balance.card_of(nik, kpj))["available_idr"] == BALANCE  # read, so kept

        now = datetime.now(UTC)
        claim = ClaimSubmitted(
            claim_id=f"clm-{uuid.uuid4().hex[:12]}",
            member_id=f"m-{nik}",
            nik=nik,
            kpj=kpj,
            reason="resignation",
            document_ids=["d-1"],
            verification_id="v-1",
            submitted_at=now,
            sla_due_at=now + timedelta(days=1),
        )
        await publish_raw(bootstrap, [claim])
        await balance.wait_card(nik, kpj, reserved_idr=BALANCE, available_idr=0, timeout=30)

        await publish_raw(
            bootstrap,
            [
                PayoutSettled(
                    payout_id="pay-1",
                    claim_id=claim.claim_id,
                    member_id=claim.member_id,
                    gross_idr=BALANCE,
                    tax_idr=0,
                    net_idr=BALANCE,
                    bank_code="014",
                    bank_reference="BCA-1",
                    settled_at=datetime.now(UTC),
                )
            ],
        )
        card = await balance.wait_card(nik, kpj, withdrawn_idr=BALANCE, timeout=30)
        assert (card["balance_idr"], card["reserved_idr"]) == (0, 0)

        # A card registered to the member later appears too (the change names the NIK).
        _, second = await funded(balance, bootstrap, nik)
        assert {c["kpj"] for c in (await balance.balance(nik))["cards"]} == {kpj, second}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_reads_and_merges_answer_with_the_broker_out_of_reach(balance, infra, unique_db, run_app) -> None:
    """A second API on the same database, its Kafka pointing at a closed port (nothing shared is stopped)."""
    bootstrap = infra.kafka_bootstrap
    nik, a = await funded(balance, bootstrap)
    _, b = await funded(balance, bootstrap, nik)
    verification_id = f"ver-{uuid.uuid4().hex[:12]}"
    await publish_raw(
        bootstrap,
        [
            FaceVerified(
                verification_id=verification_id,
                member_id=f"m-{nik}",
                nik=nik,
                purpose="balance_merge",
                score=0.7,
                threshold=0.45,
                model_version="test",
                verified_at=datetime.now(UTC),
                expires_at=expires_soon(),
            )
        ],
    )
    verifications = balance.mongo[balance.db_name]["verifications"]
    await eventually(lambda: verifications.find_one({"_id": verification_id}), 40, message="verification stored")

    cut_off = create_api(rates_settings(unique_db, kafka_bootstrap_servers=f"127.0.0.1:{closed_port()}"))
    async with run_app(cut_off) as api:
        ready = await api.get("/readyz")
        assert (ready.status_code, ready.json()["checks"]) == (200, {"mongodb": True})

        headers = balance.headers(nik)
        body = (await api.get("/v1/balance", headers=headers)).json()
        assert (body["total_idr"], sorted(c["kpj"] for c in body["cards"])) == (2 * BALANCE, sorted([a, b]))
        card = await api.get("/v1/card", headers=headers)
        assert card.status_code == 200 and card.json()["kpj"] in {a, b}

        # A merge needs no broker either: its event waits in the outbox for the worker to publish.
        merge = await api.post(
            "/v1/balance/merges", headers=headers, json={"kpj_numbers": [a, b], "verification_id": verification_id}
        )
        assert merge.status_code == 202, merge.text
        after = (await api.get("/v1/balance", headers=headers)).json()
        # One pot floors its returns once a year instead of twice: 2025 credits 12,027, not 2 x 6,013.
        assert after["total_idr"] == 2 * BALANCE + 1
        assert {c["kpj"]: c["status"] for c in after["cards"]} == {a: "active", b: "merged"}

    # The worker, which has the broker, publishes it.
    merged = await balance.tap.wait_for("BalanceMerged", merge_id=merge.json()["merge_id"])
    assert merged.data["target_kpj"] == a
