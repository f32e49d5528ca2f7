"""Claims against the balance through real Kafka: hold, debit exactly once, release.

One card: 114,000 contributed in January 2024; 2024 at 6% credits 6,270 and
2025 at 5% credits floor(120,270 * 5%) = 6,013, so the balance is 126,283.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from balance_harness import contribution, publish_raw, random_kpj, random_nik, registered

from jmo_shared.events.claims import ClaimRejected, ClaimSubmitted
from jmo_shared.events.payout import PayoutFailed, PayoutSettled

pytestmark = pytest.mark.integration

BALANCE = 126_283


async def funded_card(balance, bootstrap: str) -> tuple[str, str, str]:
    nik, kpj = random_nik(), random_kpj()
    await publish_raw(bootstrap, [registered(nik, kpj), contribution(kpj, "2024-01", 74_000, 40_000, nik)])
    await balance.wait_card(nik, kpj, balance_idr=BALANCE)
    return nik, kpj, f"m-{nik}"


def claim(nik: str, kpj: str, member_id: str, partial_percent: int | None = None) -> ClaimSubmitted:
    now = datetime.now(UTC)
    return ClaimSubmitted(
        claim_id=f"clm-{uuid.uuid4().hex[:12]}",
        member_id=member_id,
        nik=nik,
        kpj=kpj,
        reason="partial_10" if partial_percent else "resignation",
        partial_percent=partial_percent,
        document_ids=["d-1"],
        verification_id="v-1",
        submitted_at=now,
        sla_due_at=now + timedelta(days=1),
    )


def settled(c: ClaimSubmitted, payout_id: str, gross: int) -> PayoutSettled:
    return PayoutSettled(
        payout_id=payout_id,
        claim_id=c.claim_id,
        member_id=c.member_id,
        gross_idr=gross,
        tax_idr=0,
        net_idr=gross,
        bank_code="014",
        bank_reference=f"BCA-{payout_id}",
        settled_at=datetime.now(UTC),
    )


async def test_a_paid_claim_is_debited_exactly_once(balance, infra) -> None:
    bootstrap = infra.kafka_bootstrap
    nik, kpj, member = await funded_card(balance, bootstrap)

    first = claim(nik, kpj, member)
    await publish_raw(bootstrap, [first])
    reserved = await balance.tap.wait_for("BalanceReserved", claim_id=first.claim_id)
    assert reserved.data | {"reserved_at": None} == {
        "claim_id": first.claim_id,
        "member_id": member,
        "nik": nik,
        "kpj": kpj,
        "amount_idr": BALANCE,
        "balance_idr": BALANCE,
        "reserved_at": None,
    }
    await balance.wait_card(nik, kpj, reserved_idr=BALANCE, available_idr=0)
    # The hold is announced too, to the services that project the balance (claims' eligibility).
    held = await balance.tap.wait_for("BalanceChanged", kpj=kpj, reserved_idr=BALANCE)
    assert (held.data["balance_idr"], held.data["available_idr"]) == (BALANCE, 0)

    second = claim(nik, kpj, member)
    await publish_raw(bootstrap, [second])
    refused = await balance.tap.wait_for("BalanceReservationRejected", claim_id=second.claim_id)
    assert refused.data["reason_code"] == "open_claim_exists"

    # The same PayoutSettled delivered twice (one event id), then re-announced under a new id.
    payout_id = f"pay-{uuid.uuid4().hex[:10]}"
    twice = await publish_raw(bootstrap, [settled(first, payout_id, BALANCE)], times=2)
    again = await publish_raw(bootstrap, [settled(first, payout_id, BALANCE)])
    await balance.processed([twice[0].id, again[0].id])

    card = await balance.wait_card(nik, kpj, withdrawn_idr=BALANCE)
    assert (card["balance_idr"], card["reserved_idr"], card["available_idr"]) == (0, 0, 0)
    debited = await balance.tap.wait_for("BalanceDebited", claim_id=first.claim_id)
    assert (debited.data["amount_idr"], debited.data["balance_idr"], debited.data["payout_id"]) == (
        0 + BALANCE,
        0,
        payout_id,
    )
    await asyncio.sleep(2)  # time for a wrong second debit to reach the topic
    assert len(balance.tap.distinct("BalanceDebited", claim_id=first.claim_id)) == 1
    ledger = balance.mongo[balance.db_name]["ledger"]
    assert await ledger.count_documents({"claim_id": first.claim_id, "kind": "debit"}) == 1

    # The hold is gone: the member may claim again (nothing left, so: no_balance).
    third = claim(nik, kpj, member)
    await publish_raw(bootstrap, [third])
    assert (await balance.tap.wait_for("BalanceReservationRejected", claim_id=third.claim_id)).data[
        "reason_code"
    ] == "no_balance"


async def test_two_claims_of_one_member_sent_together_hold_once(balance, infra) -> None:
    # Keyed by member: one partition, usually one batch, whose holds and slots are read ahead together.
    bootstrap = infra.kafka_bootstrap
    nik, kpj, member = await funded_card(balance, bootstrap)
    first, second = claim(nik, kpj, member), claim(nik, kpj, member, partial_percent=10)
    await publish_raw(bootstrap, [first, second])
    reserved = await balance.tap.wait_for("BalanceReserved", claim_id=first.claim_id)
    assert reserved.data["amount_idr"] == BALANCE
    refused = await balance.tap.wait_for("BalanceReservationRejected", claim_id=second.claim_id)
    assert refused.data["reason_code"] == "open_claim_exists"
    await balance.wait_card(nik, kpj, reserved_idr=BALANCE, available_idr=0)


async def test_a_failed_payout_or_a_rejected_claim_releases_the_hold(balance, infra) -> None:
    bootstrap = infra.kafka_bootstrap
    nik, kpj, member = await funded_card(balance, bootstrap)

    full = claim(nik, kpj, member)
    await publish_raw(bootstrap, [full])
    await balance.tap.wait_for("BalanceReserved", claim_id=full.claim_id)
    await publish_raw(
        bootstrap,
        [
            PayoutFailed(
                payout_id="pay-x",
                claim_id=full.claim_id,
                member_id=member,
                reason_code="account_closed",
                failed_at=datetime.now(UTC),
            )
        ],
    )
    released = await balance.tap.wait_for("BalanceReleased", claim_id=full.claim_id)
    assert (released.data["amount_idr"], released.data["reason_code"]) == (BALANCE, "payout_failed")
    await balance.wait_card(nik, kpj, reserved_idr=0, available_idr=BALANCE)

    # A partial claim holds floor(126,283 * 10%) = 12,628; rejecting the claim frees it.
    partial = claim(nik, kpj, member, partial_percent=10)
    await publish_raw(bootstrap, [partial])
    held = await balance.tap.wait_for("BalanceReserved", claim_id=partial.claim_id)
    assert held.data["amount_idr"] == 12_628
    await balance.wait_card(nik, kpj, reserved_idr=12_628, available_idr=BALANCE - 12_628)
    await publish_raw(
        bootstrap,
        [
            ClaimRejected(
                claim_id=partial.claim_id,
                member_id=member,
                kpj=kpj,
                reason_code="documents_invalid",
                message="x",
                rejected_at=datetime.now(UTC),
            )
        ],
    )
    released = await balance.tap.wait_for("BalanceReleased", claim_id=partial.claim_id)
    assert released.data["reason_code"] == "claim_rejected"
    card = await balance.wait_card(nik, kpj, reserved_idr=0)
    assert (card["available_idr"], card["withdrawn_idr"]) == (BALANCE, 0)

    # A settlement for a claim whose hold was released changes nothing.
    late = await publish_raw(bootstrap, [settled(full, "pay-x", BALANCE)])
    await balance.processed([late[0].id])
    assert (await balance.card_of(nik, kpj))["balance_idr"] == BALANCE


async def test_a_claim_on_a_card_that_is_not_the_members_is_refused(balance, infra) -> None:
    bootstrap = infra.kafka_bootstrap
    nik, kpj, member = await funded_card(balance, bootstrap)
    stranger = random_nik()
    theirs = claim(stranger, kpj, f"m-{stranger}")
    unknown = claim(nik, random_kpj(), member)
    await publish_raw(bootstrap, [theirs, unknown])
    for c in (theirs, unknown):
        refused = await balance.tap.wait_for("BalanceReservationRejected", claim_id=c.claim_id)
        assert refused.data["reason_code"] == "card_not_found"
    assert (await balance.card_of(nik, kpj))["reserved_idr"] == 0
