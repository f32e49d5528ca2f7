"""Merges interrupted by a crash: the balance API and worker run as real processes and are killed
(SIGKILL) while merges are half-done, while late contributions race with them and while the
worker is applying a burst of contributions; then restarted, and the members retry.

Merges run in the API, in one transaction each; BALANCE_MERGE_STEP_DELAY_SECONDS holds every
merge inside its transaction after its cards were marked, so the kill lands mid-merge. The
transactions the killed processes left open keep their documents locked until the database
aborts them (mongod's transactionLifetimeLimitSeconds, 60 s by default): the retries and the
redelivered events wait for that. This test runs a SecantusDB of its own that aborts them after
TRANSACTION_LIFETIME seconds, so the wait is seconds, not a minute.

Return rates are 0 here, so every card's balance is exactly its contributions and "nothing
lost or doubled" is an equality.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from balance_harness import (
    EventTap,
    contribution,
    expires_soon,
    publish_raw,
    random_kpj,
    random_nik,
    registered,
    skip_history,
)
from pymongo import AsyncMongoClient

from jmo_local.mongo import SecantusNode
from jmo_local.ports import free_port
from jmo_shared import httpclient
from jmo_shared.events.identity import FaceVerified
from jmo_shared.testing import eventually

pytestmark = pytest.mark.integration

MEMBERS = 4
CARDS = 3  # per member: the first is the target, two are sources
PERIODS = ("2025-01", "2025-02")
BURST_CARDS = 100  # another member set whose contributions the worker is applying at the kill
MERGE_DELAY = 3.0
TRANSACTION_LIFETIME = 8.0  # longer than MERGE_DELAY: only the killed processes' transactions are aborted


class Process:
    """`python -m jmo_balance.entrypoints.<role>` with its output in a file."""

    def __init__(self, role: str, env: dict[str, str], log_path) -> None:
        self.role, self.env, self.log_path = role, env, log_path
        self.proc: subprocess.Popen | None = None

    def start(self, **extra_env: str) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"jmo_balance.entrypoints.{self.role}"],
                env={**self.env, **extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, f"the {self.role} died before the kill"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def ready(url: str, timeout: float = 60) -> None:
    async def check() -> bool:
        try:
            async with httpclient.async_client(timeout=3) as http:
                return (await http.get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(check, timeout, interval=0.3, message=f"{url} ready")


async def merge_until_answered(api_url: str, headers: dict, body: dict, deadline: float) -> dict:
    """What the member's app does: repeat the same request until it gets an answer."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            async with httpclient.async_client(base_url=api_url, timeout=150) as http:
                resp = await http.post("/v1/balance/merges", headers=headers, json=body)
            if resp.status_code == 202:
                return resp.json()
            assert resp.status_code >= 500, resp.text  # a refusal would be a bug here
        except httpx.HTTPError:
            pass  # the API is down (killed, restarting)
        assert loop.time() < deadline, "the merge was never answered"
        await asyncio.sleep(0.5)


@pytest.fixture()
def short_lived_transactions(tmp_path) -> Iterator[SecantusNode]:
    """A SecantusDB that aborts a transaction left idle for TRANSACTION_LIFETIME seconds."""
    node = SecantusNode(tmp_path / "secantus", free_port(), transaction_lifetime_seconds=TRANSACTION_LIFETIME)
    node.start()
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


async def test_merges_killed_mid_transaction_complete_exactly_once_after_restart(
    infra, short_lived_transactions, token_issuer, unique_db, tmp_path
) -> None:
    bootstrap = infra.kafka_bootstrap
    prefix = f"test-{unique_db}"
    mongo_uri = short_lived_transactions.uri()
    api_port, worker_port = free_port(), free_port()
    env = {
        **os.environ,
        "MONGODB_URI": mongo_uri,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "JWKS_JSON": token_issuer.jwks(),
        "STAFF_JWKS_JSON": token_issuer.staff_jwks(),
        "CONSUMER_GROUP_PREFIX": prefix,
        "BALANCE_DB_NAME": unique_db,
        "BALANCE_PORT": str(api_port),
        "BALANCE_WORKER_PORT": str(worker_port),
        "BALANCE_RETURN_RATES_BP": "{}",
        "BALANCE_DEFAULT_RETURN_RATE_BP": "0",
        "LOG_LEVEL": "INFO",
    }
    api_url, worker_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{worker_port}"
    api = Process("api", env, tmp_path / "api.log")
    worker = Process("worker", env, tmp_path / "worker.log")
    mongo = AsyncMongoClient(mongo_uri, tz_aware=True)
    db = mongo[unique_db]
    await skip_history(bootstrap, prefix)
    tap = await EventTap(bootstrap).start()
    try:
        worker.start()
        api.start(BALANCE_MERGE_STEP_DELAY_SECONDS=str(MERGE_DELAY))
        await ready(worker_url)
        await ready(api_url)

        # Members with three cards each; every card has its own amounts, so a wrong move shows.
        members: dict[str, list[str]] = {random_nik(): [random_kpj() for _ in range(CARDS)] for _ in range(MEMBERS)}
        seeded: dict[str, int] = {}
        feed = []
        for n, (nik, kpjs) in enumerate(members.items()):
            for c, kpj in enumerate(kpjs):
                feed.append(registered(nik, kpj, employer=f"PT {c}"))
                for period in PERIODS:
                    amount = 100_000 * (n + 1) + 1_000 * (c + 1)
                    feed.append(contribution(kpj, period, amount - 40_000, 40_000, nik))
                    seeded[nik] = seeded.get(nik, 0) + amount
        verifications = {nik: f"ver-{uuid.uuid4().hex[:12]}" for nik in members}
        feed += [
            FaceVerified(
                verification_id=v,
                member_id=f"m-{nik}",
                nik=nik,
                purpose="balance_merge",
                score=0.7,
                threshold=0.45,
                model_version="test",
                verified_at=datetime.now(UTC),
                expires_at=expires_soon(30),
            )
            for nik, v in verifications.items()
        ]
        await publish_raw(bootstrap, feed)
        cards_total = MEMBERS * CARDS
        await eventually(
            lambda: _count_at_least(db["contributions"], cards_total * len(PERIODS)),
            60,
            message="every contribution applied",
        )
        await eventually(lambda: _count_at_least(db["verifications"], MEMBERS), 60, message="verifications")

        headers = {nik: token_issuer.headers(f"m-{nik}", nik) for nik in members}
        bodies = {nik: {"kpj_numbers": kpjs, "verification_id": verifications[nik]} for nik, kpjs in members.items()}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 240
        merges = {
            nik: asyncio.create_task(merge_until_answered(api_url, headers[nik], bodies[nik], deadline))
            for nik in members
        }
        # While the merges sit half-done: a late contribution to each member's last source card,
        # and a burst of contributions for other members that the worker is applying at the kill.
        late = [contribution(kpjs[-1], "2025-03", 50_000, 10_000, nik) for nik, kpjs in members.items()]
        burst_niks = {random_nik(): random_kpj() for _ in range(BURST_CARDS)}
        burst = [
            e
            for nik, kpj in burst_niks.items()
            for e in (registered(nik, kpj), *(contribution(kpj, p, 74_000, 40_000, nik) for p in PERIODS))
        ]
        await asyncio.sleep(1.0)
        await publish_raw(bootstrap, late + burst)
        await asyncio.sleep(0.3)
        assert await db["merges"].count_documents({}) == 0, "the kill must land before any merge committed"
        applied = await db["contributions"].count_documents({})
        api.kill()
        worker.kill()
        assert applied < (cards_total + BURST_CARDS) * len(PERIODS) + MEMBERS, "the worker still had work at the kill"

        worker.start()
        api.start()  # no delay now: the retries go straight through once their cards are free
        answers = dict(zip(members, await asyncio.gather(*merges.values())))

        # Every merge: completed, once.
        for nik, answer in answers.items():
            assert answer["status"] == "completed"
            async with httpclient.async_client(base_url=api_url, timeout=30) as http:
                detail = (await http.get(f"/v1/balance/merges/{answer['merge_id']}", headers=headers[nik])).json()
            assert (detail["status"], detail["target_kpj"], detail["source_kpjs"]) == (
                "completed",
                members[nik][0],
                members[nik][1:],
            )
            assert await db["merges"].count_documents({"nik": nik}) == 1
            for source in members[nik][1:]:
                ledger = db["ledger"]
                assert (
                    await ledger.count_documents({"merge_id": answer["merge_id"], "kind": "merge_out", "kpj": source})
                    == 1
                )
                assert (
                    await ledger.count_documents(
                        {"merge_id": answer["merge_id"], "kind": "merge_in", "counterpart": source}
                    )
                    == 1
                )

        # No rupiah lost or doubled: each member's total is what was contributed, all on the target.
        for nik, kpjs in members.items():
            expected = seeded[nik] + 60_000

            async def settled(nik: str = nik, kpjs: list[str] = kpjs, expected: int = expected) -> dict | None:
                async with httpclient.async_client(base_url=api_url, timeout=30) as http:
                    body = (await http.get("/v1/balance", headers=headers[nik])).json()
                return body if body["total_idr"] == expected else None

            body = await eventually(settled, 120, message=f"{nik}: total {expected}")
            by_kpj = {c["kpj"]: c for c in body["cards"]}
            assert by_kpj[kpjs[0]]["balance_idr"] == expected
            assert all((by_kpj[k]["status"], by_kpj[k]["balance_idr"]) == ("merged", 0) for k in kpjs[1:])

        # History kept: every contribution stored once, on the card it was posted to.
        posted = (cards_total + BURST_CARDS) * len(PERIODS) + MEMBERS
        await eventually(lambda: _count_at_least(db["contributions"], posted), 120, message="the burst applied")
        assert await db["contributions"].count_documents({}) == posted
        for kpjs in members.values():
            for kpj in kpjs:
                assert await db["contributions"].count_documents({"kpj": kpj}) == len(PERIODS) + (kpj == kpjs[-1])
        burst_cards = await db["cards"].find({"_id": {"$in": list(burst_niks.values())}}, {"flows": 1}).to_list()
        assert sorted(sum(f["c"] for f in c["flows"].values()) for c in burst_cards) == [2 * 114_000] * BURST_CARDS

        # One BalanceMerged per merge on the topic (the relay may repeat a message, never mint a second
        # event), saying what moved: the target's own money plus the sources' adds up to the total.
        for answer in answers.values():
            await tap.wait_for("BalanceMerged", timeout=60, merge_id=answer["merge_id"])
        await asyncio.sleep(2)  # time for a wrong second event to arrive
        for nik, answer in answers.items():
            published = tap.distinct("BalanceMerged", merge_id=answer["merge_id"])
            assert len(published) == 1, [e.id for e in published]
            merged = published[0].data
            own = sum(100_000 * (list(members).index(nik) + 1) + 1_000 for _ in PERIODS)
            assert merged["target_balance_idr"] == own + sum(s["amount_idr"] for s in merged["sources"])
            # The late contribution counts either moved with its card or straight on the target afterwards.
            assert merged["target_balance_idr"] in (seeded[nik], seeded[nik] + 60_000)
    finally:
        api.stop()
        worker.stop()
        await tap.stop()
        await mongo.close()


async def _count_at_least(collection, n: int) -> bool:
    return await collection.count_documents({}) >= n
