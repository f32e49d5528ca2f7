"""One JHT claim from registration to money in the member's bank, through HTTP and Kafka only."""

from __future__ import annotations

import asyncio
import importlib
import json
import random
import uuid
from datetime import date, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from jmo_local.demo import Card, build_members, feed_events
from jmo_local.demo_loader import demo_photo_pairs, publish_events
from jmo_local.journey import Journey
from jmo_local.services import ROOT
from jmo_local.smtp import read_mailbox
from jmo_shared.testing import eventually
from jmo_shared.topics import BALANCE_EVENTS, CLAIMS_EVENTS, PAYOUT_EVENTS, bank_topic

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

RESIGNATION_DOCUMENTS = ["ktp", "kpj_card", "resignation_letter"]


def resigned_member(
    today: date, wage_idr: int = 5_000_000, employer: tuple[str, str] = ("EMP-0001", "PT Maju Bersama")
):
    """A member with one card, ended by resignation three months ago after two years at `wage_idr`."""
    seed = random.randrange(10**9)
    member = build_members(
        1, today, demo_photo_pairs(ROOT / ".cache"), seed=seed, nik_seq_start=random.randrange(1, 9000)
    )[0]
    rng = random.Random(seed)
    ended = today - timedelta(days=90)
    member.cards = [
        Card(
            kpj=str(rng.randrange(10**10, 10**11)),
            employer_id=employer[0],
            employer_name=employer[1],
            registered_on=ended - timedelta(days=730),
            ended_on=ended,
            letter_date=ended - timedelta(days=30),
            wage_idr=wage_idr,
        ),
    ]
    return member


def expected_contributions(member, today: date) -> int:
    return sum(
        e.employer_idr + e.worker_idr
        for e in feed_events(member, today)
        if e.event_type.endswith("ContributionPosted.v1")
    )


async def payout_sent_for(bootstrap: str, bank_code: str, claim_id: str, timeout: float = 30) -> list[dict]:
    """Every PayoutSent for the claim on the bank's own topic (read from the beginning)."""
    return await events_for(bootstrap, bank_topic(bank_code), "jht.payout.PayoutSent.v1", claim_id, timeout)


async def events_for(bootstrap: str, topic: str, event_type: str, claim_id: str, timeout: float = 30) -> list[dict]:
    """Every event of a type about the claim on a topic, read from the beginning to its current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[dict] = []
    try:
        partitions = [
            TopicPartition(topic, p)
            for p in (consumer.partitions_for_topic(topic) or await _partitions(consumer, topic))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                for msg in msgs:
                    event = json.loads(msg.value)
                    if event["type"] == event_type and event["data"].get("claim_id") == claim_id:
                        found.append(event)
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if all(positions[tp] >= end[tp] for tp in partitions):
                break
    finally:
        await consumer.stop()
    return found


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 - aiokafka has no public metadata refresh
    return consumer.partitions_for_topic(topic) or set()


async def debited_card(journey: Journey, kpj: str) -> dict:
    """The card once nothing is held on it any more (the reservation became a debit)."""

    async def settled():
        card = next(c for c in (await journey.balance())["cards"] if c["kpj"] == kpj)
        return card if card["reserved_idr"] == 0 else None

    return await eventually(settled, timeout=30, message=f"debit of {kpj}")


async def paid_notices(system, journey: Journey, claim_id: str) -> tuple[int, int]:
    """(inbox entries, e-mails) telling the member the claim was paid, once the e-mail has arrived."""

    async def both() -> tuple[int, int] | None:
        resp = await journey.client.get(f"{system.url('notify-api')}/v1/notifications", headers=journey.auth)
        inbox = [n for n in resp.json()["items"] if n["kind"] == "claim_paid" and n.get("claim_id") == claim_id]
        mails = [
            m
            for m in read_mailbox(system.data_dir / "mail")
            if m["To"] == journey.email and m["X-JMO-Kind"] == "claim_paid" and claim_id in m.get_content()
        ]
        return (len(inbox), len(mails)) if inbox and mails else None

    return await eventually(both, timeout=30, message="the paid notification and e-mail")


async def prepared_journey(system) -> tuple[Journey, str, int]:
    """A member registered, logged in, face-verified, data updated, balance projected."""
    today = date.today()
    member = resigned_member(today)
    journey = Journey(system.urls, member)
    await journey.open_bank_account()
    await publish_events(system.kafka_bootstrap, feed_events(member, today), source="/test/upstream", progress=False)
    await journey.register()
    await journey.login()
    face = await journey.verify_face("profile_update")
    assert face["matched"] is True, face
    await journey.update_profile(face["verification_id"])
    kpj = member.cards[0].kpj
    card = await journey.wait_balance(kpj, expected_contributions(member, today))
    return journey, kpj, card["balance_idr"]


async def test_one_jht_claim_from_login_to_money_in_the_bank(system) -> None:
    journey, kpj, balance_before = await prepared_journey(system)
    try:
        eligibility = await journey.wait_claim_ready(kpj, "resignation")
        assert set(RESIGNATION_DOCUMENTS) <= set(eligibility["required_documents"])
        assert eligibility["estimated"]["gross_idr"] == balance_before
        documents = await journey.upload_documents(eligibility["required_documents"])
        face = await journey.verify_face("claim")
        correlation_id = uuid.uuid4().hex
        resp = await journey.submit_claim(
            kpj, "resignation", documents, face["verification_id"], correlation_id=correlation_id
        )
        assert resp.status_code == 202, resp.text
        assert resp.headers["X-Correlation-ID"] == correlation_id
        claim_id = resp.json()["claim_id"]

        claim = await journey.wait_claim(claim_id, "PAID")
        statuses = [t["status"] for t in claim["timeline"]]
        assert statuses == ["SUBMITTED", "VERIFYING", "APPROVED", "PAYING", "PAID"], claim["timeline"]
        gross = balance_before
        tax = 0  # PPh 21 final: 0% on the first Rp50,000,000 of a lump sum paid within two years
        assert (claim["gross_idr"], claim["tax_idr"], claim["net_idr"]) == (gross, tax, gross - tax)

        sent = await payout_sent_for(system.kafka_bootstrap, journey.member.bank_code, claim_id)
        assert len(sent) == 1, sent
        data = sent[0]["data"]
        assert (data["gross_idr"], data["tax_idr"], data["net_idr"]) == (gross, tax, gross - tax)
        assert data["instructed_amount"]["amount_idr"] == gross - tax
        assert data["creditor"]["account_number"] == journey.member.account_number
        # The correlation id given at submission follows the claim through every service,
        # across the bank's answer too (which does not carry it).
        assert sent[0]["correlationid"] == correlation_id
        for topic, event_type in (
            (CLAIMS_EVENTS, "jht.claims.ClaimApproved.v1"),
            (BALANCE_EVENTS, "jht.balance.BalanceReserved.v1"),
            (PAYOUT_EVENTS, "jht.payout.PayoutSettled.v1"),
            (BALANCE_EVENTS, "jht.balance.BalanceDebited.v1"),
        ):
            [event] = await eventually(
                lambda topic=topic, event_type=event_type: events_for(
                    system.kafka_bootstrap, topic, event_type, claim_id
                ),
                timeout=30,
                message=event_type,
            )
            assert event["correlationid"] == correlation_id, event_type

        # Balance applies PayoutSettled on its own: the debit follows PAID shortly.
        card = await debited_card(journey, kpj)
        assert card["balance_idr"] == balance_before - gross
        account = await journey.bank_account()
        assert account["balance_idr"] == gross - tax
        payout = await journey.payouts(claim_id)
        assert (payout["status"], payout["gross_idr"], payout["net_idr"]) == ("SETTLED", gross, gross - tax)
        assert payout["rail"] == "BI_FAST" and payout["bank_code"] == journey.member.bank_code
        # The member is told once: one "paid" entry in the inbox (notify) and one e-mail for it.
        assert await paid_notices(system, journey, claim_id) == (1, 1)
    finally:
        await journey.close()


async def test_a_gateway_drives_the_claim_through_clients_generated_from_the_openapi_documents(
    system, openapi_client
) -> None:
    """What the mobile gateway does, with the Python clients openapi-python-client generates from the
    claims and payout services' OpenAPI documents (tests/contract/test_openapi_documents.py): eligibility,
    the submission with its required Idempotency-Key, the claim read to PAID, a refusal read as a Problem,
    and the payout. Before the claim (registration to documents) the journey's plain HTTP calls."""
    claims = openapi_client("claims")
    payouts = openapi_client("payout")

    def claims_api(name: str):
        return importlib.import_module(f"{claims.__name__}.{name}")

    get_eligibility, submit_claim, get_claim = (
        claims_api(f"api.claims.{op}") for op in ("get_eligibility", "submit_claim", "get_claim")
    )
    claims_models = claims_api("models")
    get_payout_of_claim = importlib.import_module(f"{payouts.__name__}.api.payouts.get_payout_of_claim")
    payout_models = importlib.import_module(f"{payouts.__name__}.models")

    journey, kpj, balance_before = await prepared_journey(system)
    claims_client = claims.AuthenticatedClient(base_url=system.url("claims-api"), token=journey.token, timeout=30)
    payout_client = payouts.AuthenticatedClient(base_url=system.url("payout-api"), token=journey.token, timeout=30)
    try:
        await journey.wait_claim_ready(kpj, "resignation")
        eligibility = await get_eligibility.asyncio(client=claims_client, kpj=kpj)
        assert isinstance(eligibility, claims_models.EligibilityAnswer), eligibility
        [resignation] = [r for r in eligibility.reasons if r.reason.value == "resignation" and r.kpj == kpj]
        assert resignation.eligible and resignation.estimated.gross_idr == balance_before
        documents = await journey.upload_documents(resignation.required_documents)
        face = await journey.verify_face("claim")
        body = claims_models.ClaimRequest(
            reason=claims_models.ClaimRequestReason.RESIGNATION,
            kpj=kpj,
            document_ids=documents,
            verification_id=face["verification_id"],
        )
        key = uuid.uuid4().hex

        async def submitted():
            resp = await submit_claim.asyncio_detailed(client=claims_client, body=body, idempotency_key=key)
            # Until claims has projected the member's data update (an event), as the journey does.
            waiting = ("data_update_required", "bank_account_missing", "bank_account_unconfirmed")
            if isinstance(resp.parsed, claims_models.Problem) and resp.parsed.code in waiting:
                return None
            return resp

        resp = await eventually(submitted, timeout=30, message="the claim accepted")
        assert resp.status_code == 202, resp.content
        answer = resp.parsed
        assert isinstance(answer, claims_models.SubmitAnswer), answer
        assert (answer.kpj, answer.reason.value) == (kpj, "resignation")
        replay = await submit_claim.asyncio(client=claims_client, body=body, idempotency_key=key)
        assert isinstance(replay, claims_models.SubmitAnswer) and replay.claim_id == answer.claim_id

        async def paid():
            claim = await get_claim.asyncio(answer.claim_id, client=claims_client)
            assert isinstance(claim, claims_models.ClaimAnswer), claim
            return claim if claim.status == "PAID" else None

        claim = await eventually(paid, timeout=90, message="the claim PAID")
        assert [t.status for t in claim.timeline] == ["SUBMITTED", "VERIFYING", "APPROVED", "PAYING", "PAID"]
        gross = balance_before
        assert (claim.gross_idr, claim.tax_idr, claim.net_idr) == (gross, 0, gross)

        missing = await get_claim.asyncio_detailed("CLM-does-not-exist", client=claims_client)
        assert missing.status_code == 404 and isinstance(missing.parsed, claims_models.Problem), missing.content
        assert missing.parsed.status == 404 and missing.parsed.correlation_id

        async def settled():
            payout = await get_payout_of_claim.asyncio(client=payout_client, claim_id=answer.claim_id)
            assert isinstance(payout, payout_models.PayoutView), payout
            return payout if payout.status == "SETTLED" else None

        payout = await eventually(settled, timeout=30, message="the payout SETTLED")
        assert (payout.gross_idr, payout.net_idr, payout.rail) == (gross, gross, "BI_FAST")
        assert payout.bank_code == journey.member.bank_code and payout.settled_at is not None
    finally:
        await claims_client.get_async_httpx_client().aclose()
        await payout_client.get_async_httpx_client().aclose()
        await journey.close()


async def test_the_same_claim_sent_twice_with_one_idempotency_key_pays_once(system) -> None:
    journey, kpj, balance_before = await prepared_journey(system)
    try:
        eligibility = await journey.wait_claim_ready(kpj, "resignation")
        documents = await journey.upload_documents(eligibility["required_documents"])
        face = await journey.verify_face("claim")
        key = uuid.uuid4().hex
        first = await journey.submit_claim(kpj, "resignation", documents, face["verification_id"], key)
        second = await journey.submit_claim(kpj, "resignation", documents, face["verification_id"], key)
        assert first.status_code == 202, first.text
        assert second.status_code == 202, second.text
        assert second.json() == first.json()
        claim_id = first.json()["claim_id"]
        await journey.wait_claim(claim_id, "PAID")
        # Sent once more after it was paid: still the first answer, still one claim.
        third = await journey.submit_claim(kpj, "resignation", documents, face["verification_id"], key)
        assert third.json() == first.json()
        claims = (await journey.client.get(f"{journey.urls.claims}/v1/claims", headers=journey.auth)).json()
        assert [c["claim_id"] for c in claims["claims"]] == [claim_id]

        assert len(await payout_sent_for(system.kafka_bootstrap, journey.member.bank_code, claim_id)) == 1
        account = await journey.bank_account()
        assert account["balance_idr"] == balance_before  # tax 0 below Rp50 million: net == gross
        assert len(account["transactions"]) == 1
        card = await debited_card(journey, kpj)
        assert card["balance_idr"] == 0
    finally:
        await journey.close()


async def test_the_demo_takes_the_next_member_and_every_demo_photo_pair_matches(system) -> None:
    """`make demo` again registers the next demo member (409 account_exists for one walked before), and
    every (KTP photo, selfie) pair the demo data uses is a match, not a copy of the KTP photo."""
    from jmo_local.demo import member_to_json
    from jmo_local.walkthrough import register_next

    today = date.today()
    pairs = demo_photo_pairs(ROOT / ".cache")
    members = [resigned_member(today) for _ in pairs]
    for member, (ktp, selfie) in zip(members, pairs):
        member.photo, member.selfie = ktp, selfie
        await publish_events(
            system.kafka_bootstrap, feed_events(member, today), source="/test/upstream", progress=False
        )
    docs = [member_to_json(member) for member in members]
    assert all(doc["claimable_kpj"] for doc in docs)

    walked = Journey(system.urls, members[0])
    await walked.register()
    following, _ = await register_next(system.urls, docs)
    assert following.member.nik == members[1].nik
    last = Journey(system.urls, members[2])
    await last.register()
    try:
        for journey in (walked, following, last):
            await journey.login()
            face = await journey.verify_face("claim")
            assert face["matched"] is True, (journey.member.photo, journey.member.selfie, face)
    finally:
        for journey in (walked, following, last):
            await journey.close()
