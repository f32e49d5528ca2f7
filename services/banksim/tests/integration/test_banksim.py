"""The bank simulator on a real broker and database: its HTTP surface, and PayoutSent -> credit once ->
signed report, checked by an independent receiver that plays the payout service."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaProducer
from banksim_harness import Receiver, in_process, serve_http

from jmo_banksim.entrypoints.api import create_api
from jmo_banksim.settings import BanksimSettings
from jmo_shared.events.payout import Amount, Party, PayoutSent
from jmo_shared.testing import eventually
from jmo_shared.topics import PARTNER_BANKS, bank_topic

pytestmark = pytest.mark.integration


def settings(infra, serve_prefix: str) -> BanksimSettings:
    tag = uuid.uuid4().hex[:10]
    return BanksimSettings(
        mongodb_uri=infra.mongo_uri,
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        db_name=f"t_banksim_{tag}",
        consumer_group=f"test-{tag}-banksim",
        bank_notify_secrets={code: f"dev-secret-{code}" for code in PARTNER_BANKS},
        serve_notify_url_prefix=serve_prefix,
        notify_retry_initial_seconds=0.1,
        notify_give_up_seconds=10,
    )


def number() -> str:
    return "".join(random.choices("0123456789", k=10))


async def test_accounts_inquiry_and_behaviour(infra) -> None:
    async with in_process(create_api(settings(infra, "http://nowhere.invalid/"))) as sim:
        acct = {"bank_code": "014", "account_number": number(), "holder_name": "SITI AMINAH"}
        first = await sim.post("/sim/accounts", json=acct)
        assert first.status_code == 201 and first.json()["balance_idr"] == 0
        again = await sim.post("/sim/accounts", json=acct)
        assert again.status_code == 201 and again.json() == first.json()
        taken = await sim.post("/sim/accounts", json={**acct, "holder_name": "SOMEONE ELSE"})
        assert (taken.status_code, taken.json()["code"]) == (409, "account_exists")
        unknown_bank = await sim.post("/sim/accounts", json={**acct, "bank_code": "999"})
        assert (unknown_bank.status_code, unknown_bank.json()["errors"][0]["code"]) == (422, "unknown_bank")
        bad_number = await sim.post("/sim/accounts", json={**acct, "account_number": "12-34"})
        assert (bad_number.status_code, bad_number.json()["errors"][0]["field"]) == (422, "account_number")

        inquiry = await sim.post(
            "/sim/account-inquiry", json={"bank_code": "014", "account_number": acct["account_number"]}
        )
        assert inquiry.status_code == 200
        assert inquiry.json() == {
            "bank_code": "014",
            "account_number": acct["account_number"],
            "holder_name": "SITI AMINAH",
        }
        missing = await sim.post("/sim/account-inquiry", json={"bank_code": "014", "account_number": number()})
        assert (missing.status_code, missing.json()["code"]) == (404, "account_not_found")
        odd = await sim.post("/sim/account-inquiry", json={"bank_code": "014", "account_number": "12-3"})
        assert (odd.status_code, odd.json()["code"]) == (404, "account_not_found")
        view = await sim.get(f"/sim/accounts/014/{acct['account_number']}")
        assert view.status_code == 200 and view.json()["transactions"] == []

        assert (await sim.get("/sim/behaviour")).json()["default"]["mode"] == "normal"
        one = await sim.post("/sim/behaviour", json={"bank_code": "002", "mode": "reject", "reason_code": "AC04"})
        assert one.json()["banks"]["002"]["mode"] == "reject" and one.json()["default"]["mode"] == "normal"
        everyone = await sim.post("/sim/behaviour", json={"mode": "silent"})
        assert everyone.json() == {
            "default": {
                "mode": "silent",
                "delay_seconds": None,
                "reason_code": None,
                "reason": None,
                "statement": None,
            },
            "banks": {},
        }
        wrong = await sim.post("/sim/behaviour", json={"mode": "chaos"})
        assert (wrong.status_code, wrong.json()["errors"][0]["code"]) == (422, "not_allowed")
        ready = await sim.get("/readyz")
        assert ready.json()["checks"]["mongodb"] is True


def instruction(
    notify_url: str,
    bank_code: str,
    account: str,
    amount: int,
    payout_id: str | None = None,
    end_to_end_id: str | None = None,
) -> PayoutSent:
    payout_id = payout_id or str(uuid.uuid4())
    return PayoutSent(
        payout_id=payout_id,
        claim_id=f"CLM-{uuid.uuid4().hex[:8]}",
        member_id=str(uuid.uuid4()),
        message_id="MSG" + uuid.UUID(payout_id).hex,
        end_to_end_id=end_to_end_id or "E2E" + uuid.UUID(payout_id).hex,
        external_id="2025071500000000000001",
        partner_reference_no=payout_id,
        rail="BI_FAST",
        instructed_amount=Amount(amount_idr=amount),
        gross_idr=amount,
        tax_idr=0,
        net_idr=amount,
        debtor=Party(name="BPJS Ketenagakerjaan", account_number="0000000000", bank_code="009"),
        creditor=Party(name="SITI AMINAH", account_number=account, bank_code=bank_code),
        remittance_info="JHT test",
        requested_execution_date=date.today(),
        notify_url=notify_url,
        sent_at=datetime.now(UTC),
    )


async def send_to_partition(bootstrap: str, events: list[PayoutSent]) -> None:
    """Every message on one partition, in this order, each a new delivery (new event id)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for data in events:
            event = data.to_event("/test/payout")
            await producer.send_and_wait(
                bank_topic(data.creditor.bank_code), value=event.to_bytes(), key=data.key().encode(), partition=0
            )
    finally:
        await producer.stop()


def verify(received, bank_code: str) -> dict:
    ts = received.headers["x-timestamp"]
    expected = hmac.new(f"dev-secret-{bank_code}".encode(), ts.encode() + b"." + received.body, hashlib.sha256)
    assert received.headers["x-signature"] == expected.hexdigest()
    assert received.headers["x-bank-code"] == bank_code
    assert abs(datetime.now(UTC) - datetime.fromisoformat(ts)) < timedelta(minutes=1)
    return json.loads(received.body)


async def test_payout_sent_credits_once_and_reports_signed(infra) -> None:
    receiver = Receiver()
    async with serve_http(receiver.app()) as url:
        notify_url = f"{url}/v1/bank/notifications"
        async with in_process(create_api(settings(infra, url))) as sim:
            account = number()
            await sim.post(
                "/sim/accounts", json={"bank_code": "014", "account_number": account, "holder_name": "SITI AMINAH"}
            )
            paid = instruction(notify_url, "014", account, 7_500_000)
            unknown = instruction(notify_url, "014", number(), 1_000)
            retried = instruction(notify_url, "014", account, 2_000)
            refused = instruction(notify_url, "014", account, 3_000)
            receiver.scripted[retried.payout_id] = [503, 502]
            receiver.scripted[refused.payout_id] = [409]
            marker = instruction(notify_url, "014", account, 1)
            # The same instruction delivered twice (a redelivery), then the others, the marker last.
            await send_to_partition(infra.kafka_bootstrap, [paid, paid, unknown, retried, refused, marker])

            await eventually(lambda: _has(receiver, marker.payout_id), timeout=30, message="marker reported")
            await eventually(lambda: _has(receiver, retried.payout_id, 3), timeout=30, message="retried report")
            for sent in (paid, unknown, refused):
                await eventually(lambda pid=sent.payout_id: _has(receiver, pid), timeout=10, message="reported")

            report = verify(receiver.for_payout(paid.payout_id)[0], "014")
            assert (report["status"], report["end_to_end_id"]) == ("ACSC", paid.end_to_end_id)
            assert report["bank_reference"].startswith("SIM014")
            assert len(receiver.for_payout(paid.payout_id)) == 1
            rejected = verify(receiver.for_payout(unknown.payout_id)[0], "014")
            assert (rejected["status"], rejected["reason_code"], rejected["reason"]) == (
                "RJCT",
                "AC01",
                "account not found",
            )
            assert len(receiver.for_payout(refused.payout_id)) == 1  # a 4xx is final: no retry

            view = (await sim.get(f"/sim/accounts/014/{account}")).json()
            assert view["balance_idr"] == 7_500_000 + 2_000 + 3_000 + 1
            assert [t["payout_id"] for t in view["transactions"]].count(paid.payout_id) == 1

            async def outcomes():
                docs = {}
                for p in (retried, refused):
                    resp = await sim.get("/sim/transfers", params={"payout_id": p.payout_id})
                    docs[p.payout_id] = resp.json()[0].get("notify_outcome")
                return docs if all(docs.values()) else None

            done = await eventually(outcomes, timeout=10, message="notify outcomes stored")
            assert done == {retried.payout_id: "accepted:200", refused.payout_id: "refused:409"}


async def test_instructions_for_another_payout_service_are_left_alone(infra) -> None:
    receiver = Receiver()
    async with serve_http(receiver.app()) as url:
        async with in_process(create_api(settings(infra, url))) as sim:
            account = number()
            await sim.post(
                "/sim/accounts", json={"bank_code": "014", "account_number": account, "holder_name": "SITI AMINAH"}
            )
            elsewhere = instruction("http://elsewhere.invalid/v1/bank/notifications", "014", account, 5_000)
            marker = instruction(f"{url}/v1/bank/notifications", "014", account, 1)
            await send_to_partition(infra.kafka_bootstrap, [elsewhere, marker])
            await eventually(lambda: _has(receiver, marker.payout_id), timeout=30, message="marker reported")
            assert (await sim.get(f"/sim/accounts/014/{account}")).json()["balance_idr"] == 1
            missing = await sim.get("/sim/transfers", params={"payout_id": elsewhere.payout_id})
            assert missing.status_code == 404


async def test_a_result_held_while_reordered_results_are_reported_is_reported_too(infra) -> None:
    """Reordering holds results and reports them newest first; one held while that round's reports are
    still out (a slow receiver) goes in a later round, even once the bank has stopped reordering."""
    receiver = Receiver()
    async with serve_http(receiver.app()) as url:
        notify_url = f"{url}/v1/bank/notifications"
        config = settings(infra, url).model_copy(update={"reorder_hold_seconds": 0.3})
        async with in_process(create_api(config)) as sim:
            account = number()
            await sim.post(
                "/sim/accounts", json={"bank_code": "014", "account_number": account, "holder_name": "SITI AMINAH"}
            )
            assert (await sim.post("/sim/behaviour", json={"mode": "reorder"})).status_code == 200
            first = instruction(notify_url, "014", account, 1_000)
            receiver.slow[first.payout_id] = 3.0
            await send_to_partition(infra.kafka_bootstrap, [first])
            await eventually(lambda: _has(receiver, first.payout_id), timeout=30, message="first report out")

            # The first round is still waiting on the receiver: this result is held meanwhile.
            during = instruction(notify_url, "014", account, 2_000)
            await send_to_partition(infra.kafka_bootstrap, [during])
            await eventually(lambda: _executed(sim, during.payout_id), timeout=10, message="second executed")
            assert (await sim.post("/sim/behaviour", json={"mode": "normal"})).status_code == 200

            await eventually(
                lambda: _has(receiver, during.payout_id), timeout=15, message="the result held during a round reported"
            )
            assert verify(receiver.for_payout(during.payout_id)[0], "014")["status"] == "ACSC"


async def _executed(sim, payout_id: str) -> bool:
    resp = await sim.get("/sim/transfers", params={"payout_id": payout_id})
    return resp.status_code == 200 and resp.json()[0].get("executed_at") is not None


async def _has(receiver: Receiver, payout_id: str, count: int = 1) -> bool:
    return len(receiver.for_payout(payout_id)) >= count


def entries_of(statement: dict) -> list[dict]:
    return statement["BkToCstmrStmt"]["Stmt"][0]["Ntry"]


def e2e_ids(statement: dict) -> list[str]:
    return [e["NtryDtls"][0]["TxDtls"][0]["Refs"]["EndToEndId"] for e in entries_of(statement)]


async def test_the_statement_books_executed_transfers_only_and_can_lie(infra) -> None:
    receiver = Receiver()
    async with serve_http(receiver.app()) as url:
        notify_url = f"{url}/v1/bank/notifications"
        async with in_process(create_api(settings(infra, url))) as sim:
            account = number()
            await sim.post(
                "/sim/accounts", json={"bank_code": "451", "account_number": account, "holder_name": "SITI AMINAH"}
            )
            paid = instruction(notify_url, "451", account, 4_200_000)
            unknown = instruction(notify_url, "451", number(), 900_000)
            await send_to_partition(infra.kafka_bootstrap, [paid, unknown])
            for sent in (paid, unknown):
                await eventually(lambda pid=sent.payout_id: _has(receiver, pid), timeout=30, message="reported")
            executed = (await sim.get("/sim/transfers", params={"payout_id": paid.payout_id})).json()[0]
            day = datetime.fromisoformat(executed["executed_at"]).astimezone(ZoneInfo("Asia/Jakarta")).date()

            honest = await sim.get(f"/sim/statements/451?date={day}")
            assert honest.status_code == 200, honest.text
            stmt = honest.json()["BkToCstmrStmt"]["Stmt"][0]
            assert e2e_ids(honest.json()) == [paid.end_to_end_id]  # the AC01 rejection is not booked
            entry = entries_of(honest.json())[0]
            assert (entry["Amt"], entry["CdtDbtInd"], entry["BookgDt"]["Dt"]) == (
                {"Ccy": "IDR", "Value": 4_200_000},
                "DBIT",
                day.isoformat(),
            )
            assert entry["AcctSvcrRef"] == executed["bank_reference"]
            assert entry["NtryDtls"][0]["TxDtls"][0]["RltdPties"]["CdtrAcct"]["Id"]["Othr"]["Id"] == account
            assert stmt["Acct"]["Id"]["Othr"]["Id"] == "4517000001"
            balances = [b["Amt"]["Value"] for b in stmt["Bal"]]
            assert balances[0] - balances[1] == 4_200_000
            other_bank = await sim.get(f"/sim/statements/014?date={day}")
            assert entries_of(other_bank.json()) == []

            await sim.post("/sim/behaviour", json={"bank_code": "451", "mode": "normal", "statement": "drop_one"})
            assert e2e_ids((await sim.get(f"/sim/statements/451?date={day}")).json()) == []
            await sim.post(
                "/sim/behaviour", json={"bank_code": "451", "mode": "normal", "statement": "duplicate_entry"}
            )
            assert e2e_ids((await sim.get(f"/sim/statements/451?date={day}")).json()) == [paid.end_to_end_id] * 2

            future = await sim.get(f"/sim/statements/451?date={day + timedelta(days=2)}")
            assert (future.status_code, future.json()["errors"][0]["code"]) == (422, "date_in_future")
            bad_date = await sim.get("/sim/statements/451?date=23-11-2026")
            assert (bad_date.status_code, bad_date.json()["errors"][0]["field"]) == (422, "date")
            unknown_bank = await sim.get(f"/sim/statements/999?date={day}")
            assert (unknown_bank.status_code, unknown_bank.json()["errors"][0]["code"]) == (422, "unknown_bank")
            lie = await sim.post("/sim/behaviour", json={"bank_code": "451", "mode": "normal", "statement": "fib"})
            assert (lie.status_code, lie.json()["errors"][0]["field"]) == (422, "statement")
