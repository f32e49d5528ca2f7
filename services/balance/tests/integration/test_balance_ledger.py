"""The ledger through real Kafka and the HTTP API: contributions, returns, member isolation.

Rates in these tests: 2024 6.00%, 2025 5.00%, every other year 0% (balance_harness).
"""

from __future__ import annotations

import pytest

from balance_harness import contribution, publish_raw, random_kpj, random_nik, registered

pytestmark = pytest.mark.integration


async def test_contributions_count_once_in_any_order_and_returns_are_credited(balance, infra) -> None:
    bootstrap = infra.kafka_bootstrap
    nik, kpj = random_nik(), random_kpj()
    # 2024-01 delivered twice with the same event id, then posted again under a new id
    # (different amount: the first posting stands); periods out of order; all before
    # the card is registered.
    await publish_raw(bootstrap, [contribution(kpj, "2024-01", 74_000, 40_000, nik)], times=2)
    await publish_raw(bootstrap, [
        contribution(kpj, "2025-03", 74_000, 40_000, nik),
        contribution(kpj, "2024-07", 74_000, 40_000, nik),
        contribution(kpj, "2024-01", 90_000, 50_000, nik),
    ])
    await publish_raw(bootstrap, [registered(nik, kpj, employer="PT Maju Jaya")])

    # 2024 at 6%: 114,000 * (11 + 5)/12 * 6% = 9,120
    # 2025 at 5%: (228,000 + 9,120) * 5% + 114,000 * 9/12 * 5% = 11,856 + 4,275 = 16,131
    card = await balance.wait_card(nik, kpj, contributions_idr=342_000)
    assert card == {
        "kpj": kpj, "employer": "PT Maju Jaya", "contributions_idr": 342_000, "returns_idr": 25_251,
        "withdrawn_idr": 0, "balance_idr": 367_251, "reserved_idr": 0, "available_idr": 367_251,
        "status": "active", "merged_into": None, "returns_credited_through": card["returns_credited_through"],
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


async def test_a_member_sees_only_their_own_cards(balance, infra) -> None:
    mine, theirs = random_nik(), random_nik()
    my_kpj, their_kpj = random_kpj(), random_kpj()
    await publish_raw(infra.kafka_bootstrap, [
        registered(mine, my_kpj), contribution(my_kpj, "2026-02", 74_000, 40_000, mine),
        registered(theirs, their_kpj), contribution(their_kpj, "2026-02", 740_000, 400_000, theirs),
    ])
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
