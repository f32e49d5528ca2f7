"""The money path on a real broker and database: ClaimApproved -> payout -> the bank simulator
credits the account and reports back over signed HTTP (or its status topic) -> PayoutSettled/Failed.

One payout API (uvicorn on a free port, so the bank can call it), one payout worker and one bank
simulator serve the whole module; each test uses its own member, claim and bank account.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from payout_harness import DEV_SECRETS, EventTap, Member, account_number, approved, in_process, open_account
from pymongo import AsyncMongoClient

from jmo_banksim.entrypoints.api import create_api as create_bank
from jmo_banksim.settings import BanksimSettings
from jmo_payout.entrypoints.api import create_api
from jmo_payout.entrypoints.worker import create_worker
from jmo_payout.settings import PayoutSettings
from jmo_shared import httpclient
from jmo_shared.events import BankPayoutStatus, ClaimApproved
from jmo_shared.testing import TokenIssuer, bind_free_socket, eventually, publish, serve_http
from jmo_shared.topics import PARTNER_BANKS, PAYOUT_EVENTS, bank_status_topic, bank_topic

pytestmark = pytest.mark.integration

TIMEOUT_SECONDS = 12
INITIATED = "jht.payout.PayoutInitiated.v1"
SENT = "jht.payout.PayoutSent.v1"
SETTLED = "jht.payout.PayoutSettled.v1"
FAILED = "jht.payout.PayoutFailed.v1"


ROTATED_451 = "rotated-secret-451"


@dataclass
class Stack:
    api: httpx.AsyncClient
    bank: httpx.AsyncClient
    db: object
    tap: EventTap
    bootstrap: str
    issuer: TokenIssuer
    public_url: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(infra, token_issuer: TokenIssuer):
    tag = uuid.uuid4().hex[:10]
    sock = bind_free_socket()
    public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    common = dict(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        jwks_json=token_issuer.jwks(),
        staff_jwks_json=token_issuer.staff_jwks(),
        consumer_group_prefix=f"test-{tag}",
        environment="local",
    )
    # 451 is rotating its secret: payout takes the new one and the old one (which the simulator signs with).
    payout = PayoutSettings(
        **common,
        db_name=f"t_payout_{tag}",
        public_url=public_url,
        bank_notify_secrets={**DEV_SECRETS, "451": [ROTATED_451, DEV_SECRETS["451"]]},
        bank_timeout_seconds=TIMEOUT_SECONDS,
        timeout_sweep_interval_seconds=0.5,
    )
    bank = BanksimSettings(
        **common,
        bank_notify_secrets=DEV_SECRETS,
        db_name=f"t_banksim_{tag}",
        consumer_group=f"test-{tag}-banksim",
        serve_notify_url_prefix=public_url,
        reorder_hold_seconds=1.5,
        notify_retry_initial_seconds=0.2,
        notify_give_up_seconds=20,
    )
    tap = EventTap(infra.kafka_bootstrap, [PAYOUT_EVENTS, *(bank_topic(code) for code in PARTNER_BANKS)])
    await tap.start()
    mongo = AsyncMongoClient(infra.mongo_uri, tz_aware=True)
    try:
        async with serve_http(create_api(payout), sock) as url, in_process(create_bank(bank)) as bank_client:
            async with in_process(create_worker(payout)), httpclient.async_client(base_url=url, timeout=10) as api:
                yield Stack(
                    api, bank_client, mongo[payout.db_name], tap, infra.kafka_bootstrap, token_issuer, public_url
                )
    finally:
        await tap.stop()
        await mongo.close()


async def behave(stack: Stack, bank_code: str, mode: str, **extra: object) -> None:
    resp = await stack.bank.post("/sim/behaviour", json={"bank_code": bank_code, "mode": mode, **extra})
    assert resp.status_code == 200, resp.text


async def payout_of(stack: Stack, member: Member, claim: ClaimApproved) -> dict | None:
    resp = await stack.api.get(
        "/v1/payouts", params={"claim_id": claim.claim_id}, headers=stack.issuer.headers(member.member_id, member.nik)
    )
    return resp.json() if resp.status_code == 200 else None


async def wait_status(stack: Stack, member: Member, claim: ClaimApproved, status: str, timeout: float = 30) -> dict:
    async def check():
        view = await payout_of(stack, member, claim)
        return view if view and view["status"] == status else None

    return await eventually(check, timeout=timeout, message=f"payout {status}")


async def seen(stack: Stack, event_type: str, count: int = 1, timeout: float = 20, **match: object) -> list:
    async def check():
        found = stack.tap.of(event_type, **match)
        return found if len(found) >= count else None

    return await eventually(check, timeout=timeout, message=f"{count} x {event_type} {match}")


async def balance(stack: Stack, bank_code: str, number: str) -> dict:
    resp = await stack.bank.get(f"/sim/accounts/{bank_code}/{number}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def signed(body: dict, bank_code: str, secret: str | None = None, at: datetime | None = None) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    ts = (at or datetime.now(UTC)).isoformat()
    sig = hmac.new((secret or f"dev-secret-{bank_code}").encode(), ts.encode() + b"." + raw, hashlib.sha256)
    return raw, {
        "Content-Type": "application/json",
        "X-Bank-Code": bank_code,
        "X-Timestamp": ts,
        "X-Signature": sig.hexdigest(),
    }


async def notify(stack: Stack, body: dict, bank_code: str, **kw) -> httpx.Response:
    raw, headers = signed(body, bank_code, **kw)
    return await stack.api.post("/v1/bank/notifications", content=raw, headers=headers)


async def test_claim_approved_pays_once_and_settles(stack: Stack) -> None:
    member = Member.new()
    number = await open_account(stack.bank, "014")
    claim = approved(member, "014", number, gross=60_000_000)  # no NPWP: 6% above Rp50,000,000
    # Same member, so the same partition: once the marker is paid, both copies of the claim were read.
    marker = approved(member, "014", number, gross=1_000_000)
    await publish(stack.bootstrap, [claim, claim, marker])

    view = await wait_status(stack, member, claim, "SETTLED")
    marker_view = await wait_status(stack, member, marker, "SETTLED")
    assert (view["gross_idr"], view["tax_idr"], view["net_idr"]) == (60_000_000, 600_000, 59_400_000)
    assert (view["rail"], view["bank_code"]) == ("BI_FAST", "014")
    assert view["external_id"].isdigit() and view["sent_at"] and view["settled_at"]
    assert await stack.db["payouts"].count_documents({"claim_id": claim.claim_id}) == 1

    # One relay publishes in outbox order and payout.events is keyed by member: once the marker's
    # settlement is seen, any second PayoutInitiated for the claim would have been seen too.
    await seen(stack, SETTLED, payout_id=marker_view["payout_id"])
    await seen(stack, SENT, payout_id=marker_view["payout_id"])
    await seen(stack, SENT, claim_id=claim.claim_id)
    initiated = stack.tap.of(INITIATED, claim_id=claim.claim_id)
    assert len(initiated) == 1 and initiated[0].topic == PAYOUT_EVENTS
    assert (initiated[0].event.data["tax_idr"], initiated[0].event.data["net_idr"]) == (600_000, 59_400_000)
    sent = stack.tap.of(SENT, claim_id=claim.claim_id)
    assert [s.topic for s in sent] == [bank_topic("014")]
    transfer = sent[0].event.data
    assert transfer["instructed_amount"] == {"amount_idr": 59_400_000, "currency": "IDR"}
    assert (transfer["gross_idr"], transfer["tax_idr"], transfer["net_idr"]) == (60_000_000, 600_000, 59_400_000)
    assert transfer["creditor"] == {"name": "BUDI SANTOSO", "account_number": number, "bank_code": "014"}
    assert transfer["debtor"]["name"] == "BPJS Ketenagakerjaan"
    assert transfer["partner_reference_no"] == view["payout_id"]
    assert transfer["external_id"] == view["external_id"]
    assert transfer["remittance_info"] == f"JHT {claim.claim_id}"
    assert transfer["notify_url"] == f"{stack.public_url}/v1/bank/notifications"
    settled = await seen(stack, SETTLED, claim_id=claim.claim_id)
    assert len(settled) == 1 and settled[0].event.data["net_idr"] == 59_400_000

    account = await balance(stack, "014", number)
    assert account["balance_idr"] == 59_400_000 + 1_000_000  # the marker is below the taxed band
    assert [t["payout_id"] for t in account["transactions"]].count(view["payout_id"]) == 1

    by_id = await stack.api.get(
        f"/v1/payouts/{view['payout_id']}", headers=stack.issuer.headers(member.member_id, member.nik)
    )
    assert by_id.status_code == 200 and by_id.json()["claim_id"] == claim.claim_id


async def test_a_member_sees_only_their_own_payouts(stack: Stack) -> None:
    owner, stranger = Member.new(), Member.new()
    claim = approved(owner, "014", await open_account(stack.bank, "014"), gross=2_000_000)
    await publish(stack.bootstrap, [claim])
    view = await wait_status(stack, owner, claim, "SETTLED")
    assert await payout_of(stack, stranger, claim) is None
    other = await stack.api.get(
        f"/v1/payouts/{view['payout_id']}", headers=stack.issuer.headers(stranger.member_id, stranger.nik)
    )
    assert (other.status_code, other.json()["code"]) == (404, "payout_not_found")
    anonymous = await stack.api.get("/v1/payouts", params={"claim_id": claim.claim_id})
    assert anonymous.status_code == 401
    missing = await stack.api.get("/v1/payouts", headers=stack.issuer.headers(owner.member_id, owner.nik))
    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (422, "claim_id")


async def test_reject_mode_fails_the_payout_with_the_banks_reason(stack: Stack) -> None:
    member = Member.new()
    number = await open_account(stack.bank, "008")
    await behave(stack, "008", "reject", reason_code="AC04", reason="closed account")
    try:
        claim = approved(member, "008", number, gross=70_000_000, npwp="0123456789012345")
        await publish(stack.bootstrap, [claim])
        view = await wait_status(stack, member, claim, "FAILED")
    finally:
        await behave(stack, "008", "normal")
    assert (view["tax_idr"], view["net_idr"], view["reason_code"]) == (1_000_000, 69_000_000, "AC04")
    failed = await seen(stack, FAILED, claim_id=claim.claim_id)
    assert (failed[0].event.data["reason_code"], failed[0].event.data["bank_reason"]) == ("AC04", "closed account")
    assert not stack.tap.of(SETTLED, claim_id=claim.claim_id)
    assert (await balance(stack, "008", number))["balance_idr"] == 0


async def test_unknown_account_is_rejected_ac01(stack: Stack) -> None:
    member = Member.new()
    claim = approved(member, "002", account_number(), gross=5_000_000)
    await publish(stack.bootstrap, [claim])
    view = await wait_status(stack, member, claim, "FAILED")
    assert view["reason_code"] == "AC01"
    assert (await seen(stack, FAILED, claim_id=claim.claim_id))[0].event.data["bank_reason"] == "account not found"


async def test_duplicate_reports_settle_once(stack: Stack) -> None:
    member = Member.new()
    number = await open_account(stack.bank, "009")
    await behave(stack, "009", "duplicate")
    try:
        claim = approved(member, "009", number, gross=3_000_000)
        await publish(stack.bootstrap, [claim])
        view = await wait_status(stack, member, claim, "SETTLED")

        async def both_reports():
            reports = await stack.db["bank_reports"].find({"payout_id": view["payout_id"]}).to_list()
            return reports if len(reports) == 2 else None

        reports = await eventually(both_reports, timeout=20, message="two reports")
    finally:
        await behave(stack, "009", "normal")
    assert sorted(r["outcome"] for r in reports) == ["duplicate", "settled"]
    await seen(stack, SETTLED, claim_id=claim.claim_id)
    await asyncio.sleep(1.0)  # a second PayoutSettled would have reached the tap by now
    assert len(stack.tap.of(SETTLED, claim_id=claim.claim_id)) == 1
    account = await balance(stack, "009", number)
    assert account["balance_idr"] == 3_000_000 and len(account["transactions"]) == 1


async def test_reorder_mode_reports_newest_first_and_both_settle(stack: Stack) -> None:
    member = Member.new()
    number = await open_account(stack.bank, "028")
    await behave(stack, "028", "reorder")
    try:
        first, second = (approved(member, "028", number, gross=g) for g in (1_000_000, 2_000_000))
        await publish(stack.bootstrap, [first, second])
        views = [await wait_status(stack, member, c, "SETTLED") for c in (first, second)]
    finally:
        await behave(stack, "028", "normal")
    transfers = []
    for view in views:
        resp = await stack.bank.get("/sim/transfers", params={"payout_id": view["payout_id"]})
        transfers.append(resp.json()[0])
    executed_first, executed_last = sorted(transfers, key=lambda t: t["executed_at"])
    assert executed_first["notified_at"] > executed_last["notified_at"]
    assert (await balance(stack, "028", number))["balance_idr"] == 3_000_000


async def test_slow_mode_delays_the_settlement(stack: Stack) -> None:
    member = Member.new()
    number = await open_account(stack.bank, "200")
    await behave(stack, "200", "slow", delay_seconds=1.5)
    try:
        claim = approved(member, "200", number, gross=1_500_000)
        await publish(stack.bootstrap, [claim])
        view = await wait_status(stack, member, claim, "SETTLED")
    finally:
        await behave(stack, "200", "normal")
    transfer = (await stack.bank.get("/sim/transfers", params={"payout_id": view["payout_id"]})).json()[0]
    waited = datetime.fromisoformat(transfer["executed_at"]) - datetime.fromisoformat(transfer["received_at"])
    assert waited >= timedelta(seconds=1.5)


async def sent_silently(stack: Stack, bank_code: str, gross: int = 4_000_000) -> tuple[Member, ClaimApproved, dict]:
    """A payout the bank will never answer by itself (silent), so the test reports for it."""
    member = Member.new()
    await behave(stack, bank_code, "silent")
    claim = approved(member, bank_code, await open_account(stack.bank, bank_code), gross=gross)
    await publish(stack.bootstrap, [claim])
    view = await wait_status(stack, member, claim, "SENT")
    transfer = (await seen(stack, SENT, claim_id=claim.claim_id))[0].event.data
    return (
        member,
        claim,
        {
            "payout_id": view["payout_id"],
            "end_to_end_id": transfer["end_to_end_id"],
            "bank_code": bank_code,
            "status": "ACSC",
            "bank_reference": "REF-TEST-1",
            "reported_at": datetime.now(UTC).isoformat(),
        },
    )


async def test_bank_notification_refusals_and_idempotence(stack: Stack) -> None:
    member, claim, body = await sent_silently(stack, "451")
    try:
        forged = await notify(stack, body, "451", secret="not-the-secret")
        assert (forged.status_code, forged.json()["code"]) == (401, "invalid_signature")
        stale = await notify(stack, body, "451", at=datetime.now(UTC) - timedelta(minutes=6))
        assert (stale.status_code, stale.json()["code"]) == (401, "stale_timestamp")
        other_bank = await notify(stack, {**body, "bank_code": "014"}, "014")
        assert (other_bank.status_code, other_bank.json()["code"]) == (403, "wrong_bank")
        posing = await notify(stack, body, "014")  # signed by 014 about 451's transfer
        assert (posing.status_code, posing.json()["code"]) == (403, "wrong_bank")
        unknown = await notify(stack, {**body, "payout_id": str(uuid.uuid4())}, "451")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "payout_not_found")
        mismatch = await notify(stack, {**body, "end_to_end_id": "E2E-OTHER"}, "451")
        assert (mismatch.status_code, mismatch.json()["code"]) == (422, "end_to_end_id_mismatch")
        invalid = await notify(stack, {**body, "status": "MAYBE"}, "451")
        assert (invalid.status_code, invalid.json()["errors"][0]["field"]) == (422, "status")
        not_json = await stack.api.post("/v1/bank/notifications", content=b"{", headers=signed({}, "451")[1])
        assert not_json.status_code == 401  # the signature covers the body it was computed for
        assert (await payout_of(stack, member, claim))["status"] == "SENT"

        rejected = await notify(
            stack, {**body, "status": "RJCT", "reason_code": "AM05", "reason": "duplication"}, "451"
        )
        assert rejected.status_code == 200 and rejected.json()["outcome"] == "failed"
        again = await notify(stack, {**body, "status": "RJCT", "reason_code": "AM05"}, "451")
        assert (again.status_code, again.json()["outcome"], again.json()["status"]) == (200, "duplicate", "FAILED")
        late = await notify(stack, body, "451")
        assert (late.status_code, late.json()["outcome"], late.json()["status"]) == (200, "late", "FAILED")
    finally:
        await behave(stack, "451", "normal")
    failed = await seen(stack, FAILED, claim_id=claim.claim_id)
    assert failed[0].event.data["reason_code"] == "AM05"
    await asyncio.sleep(1.0)
    assert len(stack.tap.of(FAILED, claim_id=claim.claim_id)) == 1
    assert not stack.tap.of(SETTLED, claim_id=claim.claim_id)
    outcomes = [r["outcome"] async for r in stack.db["bank_reports"].find({"payout_id": body["payout_id"]})]
    assert {"failed", "duplicate", "late", "refused:end_to_end_id_mismatch", "refused:wrong_bank"} <= set(outcomes)


async def test_either_secret_of_a_rotating_bank_verifies(stack: Stack) -> None:
    member, claim, body = await sent_silently(stack, "451")
    try:
        neither = await notify(stack, body, "451", secret="retired-before-the-rotation")
        assert (neither.status_code, neither.json()["code"]) == (401, "invalid_signature")
        new = await notify(stack, body, "451", secret=ROTATED_451)
        assert (new.status_code, new.json()["outcome"]) == (200, "settled"), new.text
        old = await notify(stack, body, "451", secret=DEV_SECRETS["451"])
        assert (old.status_code, old.json()["outcome"]) == (200, "duplicate"), old.text
    finally:
        await behave(stack, "451", "normal")
    assert (await payout_of(stack, member, claim))["status"] == "SETTLED"


async def test_a_report_on_the_banks_status_topic_settles(stack: Stack) -> None:
    member, claim, body = await sent_silently(stack, "022")
    try:
        status = BankPayoutStatus(**{**body, "reported_at": datetime.now(UTC)})
        await publish(stack.bootstrap, [status], topic=bank_status_topic("022"))
        view = await wait_status(stack, member, claim, "SETTLED")
    finally:
        await behave(stack, "022", "normal")
    assert view["settled_at"]
    settled = await seen(stack, SETTLED, claim_id=claim.claim_id)
    assert settled[0].event.data["bank_reference"] == "REF-TEST-1"


async def test_a_silent_bank_times_out(stack: Stack) -> None:
    member, claim, _ = await sent_silently(stack, "002")
    try:
        view = await wait_status(stack, member, claim, "FAILED", timeout=TIMEOUT_SECONDS + 15)
    finally:
        await behave(stack, "002", "normal")
    assert view["reason_code"] == "bank_timeout"
    assert (await seen(stack, FAILED, claim_id=claim.claim_id))[0].event.data["reason_code"] == "bank_timeout"


async def test_a_bank_that_is_no_partner_gets_no_transfer(stack: Stack) -> None:
    member = Member.new()
    claim = approved(member, "999", account_number(), gross=1_000_000)
    await publish(stack.bootstrap, [claim])
    view = await wait_status(stack, member, claim, "FAILED")
    assert (view["reason_code"], view["rail"]) == ("bank_not_partner", None)
    await seen(stack, FAILED, claim_id=claim.claim_id)
    assert not stack.tap.of(SENT, claim_id=claim.claim_id)
    assert not stack.tap.of(INITIATED, claim_id=claim.claim_id)
