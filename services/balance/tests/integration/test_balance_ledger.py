"""The ledger through real Kafka and the HTTP API: contributions, returns, member isolation.

Rates in these tests: 2024 6.00%, 2025 5.00%, every other year 0% (balance_harness).
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from balance_harness import (
    contribution,
    publish_as_one_batch,
    publish_raw,
    random_kpj,
    random_nik,
    registered,
)
from prometheus_client import REGISTRY

pytestmark = pytest.mark.integration


async def test_contributions_count_once_in_any_order_and_returns_are_credited(balance, infra) -> None:
    bootstrap = infra.kafka_bootstrap
    nik, kpj = random_nik(), random_kpj()
    # 2024-01 delivered twice with the same event id, then posted again under a new id
    # (different amount: the first posting stands); periods out of order; all before
    # the card is registered.
    await publish_raw(bootstrap, [contribution(kpj, "2024-01", 74_000, 40_000, nik)], times=2)
    await publish_raw(
        bootstrap,
        [
            contribution(kpj, "2025-03", 74_000, 40_000, nik),
            contribution(kpj, "2024-07", 74_000, 40_000, nik),
            contribution(kpj, "2024-01", 90_000, 50_000, nik),
        ],
    )
    await publish_raw(bootstrap, [registered(nik, kpj, employer="PT Maju Jaya")])

    # 2024 at 6%: 114,000 * (11 + 5)/12 * 6% = 9,120
    # 2025 at 5%: (228,000 + 9,120) * 5% + 114,000 * 9/12 * 5% = 11,856 + 4,275 = 16,131
    card = await balance.wait_card(nik, kpj, contributions_idr=342_000)
    assert card == {
        "kpj": kpj,
        "employer": "PT Maju Jaya",
        "contributions_idr": 342_000,
        "returns_idr": 25_251,
        "withdrawn_idr": 0,
        "balance_idr": 367_251,
        "reserved_idr": 0,
        "available_idr": 367_251,
        "status": "active",
        "merged_into": None,
        "returns_credited_through": card["returns_credited_through"],
    }

    first = await balance.tap.wait_for("BalanceChanged", kpj=kpj)
    assert (first.data["balance_idr"], first.data["version"], first.data["nik"]) == (367_251, 1, nik)

    end_2024 = await balance.balance(nik, as_of="2024-12-31")
    assert [(c["contributions_idr"], c["returns_idr"]) for c in end_2024["cards"]] == [(228_000, 0)]
    mid_2025 = await balance.balance(nik, as_of="2025-06-30")
    assert (mid_2025["total_idr"], mid_2025["as_of"]) == (342_000 + 9_120, "2025-06-30")

    # A new month changes the figures: a new version of the card is announced.
    await publish_raw(bootstrap, [contribution(kpj, "2026-01", 74_000, 40_000, nik)])
    await balance.wait_card(nik, kpj, contributions_idr=456_000)
    second = await balance.tap.wait_for("BalanceChanged", kpj=kpj, version=2)
    assert second.data["contributions_idr"] == 456_000


async def test_a_run_of_contributions_counts_each_month_once_and_announces_each_card_once(balance, infra) -> None:
    """One partition delivers a run the ledger applies at once: two months for card A, a re-post of one
    of them under a new id (the first posting stands), a month A had from an earlier run, a month for B,
    a month for C (not registered yet) and one event delivered twice. Each card changed gets one
    BalanceChanged for the whole run, with its final figures and the next version."""
    bootstrap = infra.kafka_bootstrap
    nik, a, b, c = random_nik(), random_kpj(), random_kpj(), random_kpj()
    await publish_raw(
        bootstrap, [registered(nik, a), registered(nik, b), contribution(a, "2024-01", 74_000, 40_000, nik)]
    )
    await balance.wait_card(nik, a, contributions_idr=114_000)
    await balance.wait_card(nik, b, contributions_idr=0)
    await balance.tap.wait_for("BalanceChanged", kpj=a, version=2)

    source = "/upstream/test"
    a_jan = contribution(a, "2025-01", 74_000, 40_000, nik).to_event(source)
    run = [
        a_jan,
        contribution(b, "2025-02", 74_000, 40_000, nik).to_event(source),
        contribution(a, "2025-02", 74_000, 40_000, nik).to_event(source),
        contribution(a, "2025-01", 90_000, 50_000, nik).to_event(source),  # re-posted: 114,000 stands
        contribution(a, "2024-01", 90_000, 50_000, nik).to_event(source),  # posted by the earlier run
        contribution(c, "2025-03", 74_000, 40_000, nik).to_event(source),  # card not registered yet
        a_jan,  # the same event again: a redelivery
    ]
    await publish_as_one_batch(bootstrap, run, key=nik)
    await balance.processed(list({e.id: None for e in run}))

    # A: 2024 114,000 * 11/12 * 6% = 6,270; 2025 (120,270 * 12 + 114,000 * (11 + 10)) * 5% / 12 = 15,988
    # B: 114,000 * 10/12 * 5% = 4,750
    card_a = await balance.wait_card(nik, a, contributions_idr=342_000)
    assert (card_a["returns_idr"], card_a["balance_idr"]) == (22_258, 364_258)
    card_b = await balance.wait_card(nik, b, contributions_idr=114_000)
    assert card_b["balance_idr"] == 118_750
    body = await balance.balance(nik)
    assert (sorted(x["kpj"] for x in body["cards"]), body["total_idr"]) == (sorted([a, b]), 364_258 + 118_750)

    db = balance.mongo[balance.db_name]
    rows = await db["contributions"].find({"kpj": {"$in": [a, b, c]}}).to_list()
    assert sorted((r["kpj"], r["period"]) for r in rows) == sorted(
        [(a, "2024-01"), (a, "2025-01"), (a, "2025-02"), (b, "2025-02"), (c, "2025-03")]
    )
    stored_jan = next(r for r in rows if (r["kpj"], r["period"]) == (a, "2025-01"))
    assert (stored_jan["event_id"], stored_jan["amount_idr"]) == (a_jan.id, 114_000)

    await asyncio.sleep(2)  # time for a wrong extra event to reach the topic
    changed_a = sorted(e.data["version"] for e in balance.tap.distinct("BalanceChanged", kpj=a))
    changed_b = sorted(e.data["version"] for e in balance.tap.distinct("BalanceChanged", kpj=b))
    assert (changed_a, changed_b) == ([1, 2, 3], [1, 2])
    last_a = balance.tap.distinct("BalanceChanged", kpj=a, version=3)[0].data
    assert (last_a["contributions_idr"], last_a["balance_idr"], last_a["nik"]) == (342_000, 364_258, nik)
    assert balance.tap.distinct("BalanceChanged", kpj=b, version=2)[0].data["balance_idr"] == 118_750
    assert balance.tap.distinct("BalanceChanged", kpj=c) == []  # not a member's card yet

    # C's money waited on the card: it counts once the card is registered.
    await publish_raw(bootstrap, [registered(nik, c, on=date(2020, 3, 1))])
    card_c = await balance.wait_card(nik, c, contributions_idr=114_000)
    assert card_c["balance_idr"] == 118_275
    first_c = await balance.tap.wait_for("BalanceChanged", kpj=c)
    assert (first_c.data["version"], first_c.data["balance_idr"]) == (1, 118_275)


def _commands(*which: tuple[str, str]) -> dict[tuple[str, str], float]:
    """What this process sent so far (the worker runs in it): mongo_commands_total by command and collection."""
    return {
        w: REGISTRY.get_sample_value("mongo_commands_total", {"command": w[0], "collection": w[1]}) or 0.0
        for w in which
    }


async def test_a_run_costs_the_same_few_commands_whatever_its_length(balance, infra) -> None:
    """36 months for 3 cards in one run: the cards read once, the rows inserted once, the cards written once."""
    bootstrap = infra.kafka_bootstrap
    nik, kpjs = random_nik(), [random_kpj() for _ in range(3)]
    await publish_raw(bootstrap, [registered(nik, kpj) for kpj in kpjs])
    for kpj in kpjs:
        await balance.wait_card(nik, kpj, contributions_idr=0)
    await balance.tap.wait_for("BalanceChanged", kpj=kpjs[-1], version=1)

    which = [("find", "cards"), ("update", "cards"), ("insert", "contributions"), ("update", "contributions")]
    before = _commands(*which)
    run = [
        contribution(kpj, f"2025-{m:02d}", 74_000, 40_000, nik).to_event("/upstream/test")
        for m in range(1, 13)
        for kpj in kpjs
    ]
    await publish_as_one_batch(bootstrap, run, key=nik)
    await balance.processed([e.id for e in run])
    after = _commands(*which)

    assert {w: after[w] - before[w] for w in which} == {
        ("find", "cards"): 1,
        ("update", "cards"): 1,
        ("insert", "contributions"): 1,
        ("update", "contributions"): 0,
    }
    for kpj in kpjs:
        await balance.wait_card(nik, kpj, contributions_idr=12 * 114_000)
        await balance.tap.wait_for("BalanceChanged", kpj=kpj, version=2)


async def test_a_member_sees_only_their_own_cards(balance, infra) -> None:
    mine, theirs = random_nik(), random_nik()
    my_kpj, their_kpj = random_kpj(), random_kpj()
    await publish_raw(
        infra.kafka_bootstrap,
        [
            registered(mine, my_kpj),
            contribution(my_kpj, "2026-02", 74_000, 40_000, mine),
            registered(theirs, their_kpj),
            contribution(their_kpj, "2026-02", 740_000, 400_000, theirs),
        ],
    )
    await balance.wait_card(theirs, their_kpj, contributions_idr=1_140_000)
    await balance.wait_card(mine, my_kpj, contributions_idr=114_000)
    body = await balance.balance(mine)
    assert [c["kpj"] for c in body["cards"]] == [my_kpj]
    assert body["total_idr"] == 114_000


async def test_bad_requests_answer_problem_json(balance) -> None:
    nik = random_nik()
    no_token = await balance.api.get("/v1/balance")
    assert (no_token.status_code, no_token.json()["code"]) == (401, "missing_token")
    assert no_token.headers["content-type"].startswith("application/problem+json")

    bad_date = await balance.api.get("/v1/balance", headers=balance.headers(nik), params={"as_of": "2025-13-01"})
    assert bad_date.status_code == 422
    assert bad_date.json()["errors"][0]["field"] == "as_of"

    future = await balance.api.get("/v1/balance", headers=balance.headers(nik), params={"as_of": "2999-01-01"})
    assert (future.status_code, future.json()["code"]) == (422, "as_of_in_future")

    not_a_member = await balance.api.get("/v1/balance", headers=balance.issuer.headers("staff-1"))
    assert not_a_member.status_code == 403

    nothing = await balance.balance(nik)
    assert nothing["cards"] == [] and nothing["total_idr"] == 0
    no_card = await balance.api.get("/v1/card", headers=balance.headers(nik))
    assert (no_card.status_code, no_card.json()["code"]) == (404, "card_not_found")
