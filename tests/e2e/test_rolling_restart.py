"""Issue 7's rolling restart and issue 5's reads-stay-up, on the e2e files' shared system.

Rolling restart: while members onboard and submit claims, every service process is restarted with
SIGTERM, as a release rolls every Deployment at once, each one pod at a time: the APIs one after
another and, at the same time, the workers one after another, each next one only once the restarted
one answers /readyz. New requests to an API being restarted are held back (as a Kubernetes Service
stops routing to a terminating pod); requests already in flight must be answered. Then: no 5xx, every
process stopped gracefully (exit 0, no SIGKILL), every accepted claim PAID, and every claim's events
and money exactly once (audit.py, counted for this test's claims only). The bank simulator plays an
external bank and is not restarted here (test_faults.py makes it misbehave).

Reads stay up: with the claims and payout services down (API and worker), a member's balance and
digital card still answer with the right figures.

The system is tests/e2e/conftest.py's `system` (its own Kafka and SecantusDB, not the session's shared
`infra`, where other suites' services would answer our events); both tests leave every process
running for the files that use it after them.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import date

import httpx
import pytest

from jmo_local.services import SERVICES
from jmo_local.system import RunningSystem
from jmo_shared import httpclient

from .audit import MoneyAudit, audit_accounts, audit_events
from .load import ClaimLoad, TrafficGate

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

# Two lanes restarted side by side, each one process at a time.
LANES = ([f"{svc}-api" for svc in SERVICES], [f"{svc}-worker" for svc in SERVICES])
# Between taking a process out of the traffic and SIGTERM, as the deployments' preStop sleep does (5 s
# there): a request let through just before the hold has reached the server before it stops. Without
# it, a request written onto an idle keep-alive connection while uvicorn closes idle connections on
# SIGTERM is lost unanswered ("Server disconnected without sending a response"), in the test as it
# would be in a cluster without the sleep.
PRE_STOP_SECONDS = 1.0


@pytest.mark.timeout(900)
async def test_a_rolling_restart_under_load_loses_nothing(system: RunningSystem) -> None:
    gate = TrafficGate(names={spec.port: name for name, spec in system.specs.items()})
    load = ClaimLoad(
        system.urls, system.kafka_bootstrap, members=40, concurrency=8, patience=4.0, gate=gate, start_interval=2.0
    )
    restarts: list[str] = []
    bad_stops: list[str] = []

    async def roll(names: list[str]) -> None:
        for name in names:
            port = system.specs[name].port
            gate.hold(port)
            await asyncio.sleep(PRE_STOP_SECONDS)
            started = time.monotonic()
            code = await system.stop(name, signal.SIGTERM)
            stopped = time.monotonic() - started
            await system.start(name)
            gate.release(port)
            restarts.append(
                f"{name}: stopped in {stopped:.1f}s (exit {code}), ready after "
                f"{time.monotonic() - started:.1f}s, {load.submitted} claims submitted so far"
            )
            if code != 0:  # -9: it did not stop within the timeout and was killed
                bad_stops.append(f"{name} exit {code}:\n{system.log_tail(name, 15)}")

    try:
        await load.publish_feeds()
        runner = asyncio.create_task(load.run())
        await load.wait_submitted(2)  # claims are flowing
        await asyncio.gather(*(roll(lane) for lane in LANES))
        await runner
        still_open = await load.wait_final(timeout=180)
        audit = MoneyAudit()
        await audit_events(load, system.kafka_bootstrap, audit)
        await audit_accounts(load, audit)
    finally:
        await start_any_left_down(system)
        print("rolling restart:\n  " + "\n  ".join(restarts))
        print(
            f"  {load.throughput()}\n  statuses {dict(load.status_counts())}; HTTP {gate.requests} requests, "
            f"5xx {len(gate.server_errors)}, refused {dict(gate.refused)}, dropped {gate.dropped}"
        )
        await load.close()

    assert len(restarts) == sum(len(lane) for lane in LANES)
    assert not gate.server_errors, "5xx answers during the rolling restart:\n" + "\n".join(gate.server_errors)
    assert not bad_stops, "processes that did not stop gracefully on SIGTERM:\n" + "\n".join(bad_stops)
    assert not load.failures(), "members whose requests failed:\n" + "\n".join(load.failures())
    assert not still_open and all(r.status == "PAID" for r in load.claims()), dict(load.status_counts())
    assert len(load.claims()) == len(load.runs)
    assert not audit.problems, f"events or money not exactly once:\n{audit.report()}"
    if audit.redelivered:
        print(f"  event copies re-published with an id already on the topic: {dict(audit.redelivered)}")


@pytest.mark.timeout(600)
async def test_balance_and_card_reads_stay_up_while_claims_and_payout_are_down(system: RunningSystem) -> None:
    load = ClaimLoad(system.urls, system.kafka_bootstrap, members=1, concurrency=1)
    run = load.runs[0]
    journey = run.journey
    down = ["claims-api", "claims-worker", "payout-api", "payout-worker"]
    try:
        await load.publish_feeds()
        await journey.register()
        await journey.login()
        face = await journey.verify_face("profile_update")
        await journey.update_profile(face["verification_id"])
        card_before = await journey.wait_balance(run.kpj, run.contributions_idr)
        card_view = await load.member_get(run, f"{system.url('balance-api')}/v1/card")
        assert card_view.status_code == 200, card_view.text

        for name in down:
            assert await system.stop(name, signal.SIGTERM) == 0, system.log_tail(name)
        with pytest.raises(httpx.ConnectError):
            async with httpclient.async_client() as plain:  # no retrying transport: show it is really down
                await plain.get(f"{system.url('claims-api')}/healthz")

        started = time.monotonic()
        for _ in range(20):  # reads keep working, again and again, for a while
            balance = await load.member_get(run, f"{system.url('balance-api')}/v1/balance")
            card = await load.member_get(run, f"{system.url('balance-api')}/v1/card")
            assert balance.status_code == 200, balance.text
            assert card.status_code == 200, card.text
            [figures] = [c for c in balance.json()["cards"] if c["kpj"] == run.kpj]
            assert figures["contributions_idr"] == run.contributions_idr
            assert figures["balance_idr"] == card_before["balance_idr"] > 0
            assert balance.json()["total_idr"] == card_before["balance_idr"]
            assert card.json()["kpj"] == run.kpj
            assert card.json()["full_name"] == run.member.full_name
            assert run.member.nik not in card.json()["nik_masked"]
            assert card.json()["kpj"] == card_view.json()["kpj"] and card.json()["qr"]  # the same card, signed
            await asyncio.sleep(0.1)
        print(
            f"reads stayed up: 20 balance + 20 card reads in {time.monotonic() - started:.1f}s "
            f"with {', '.join(down)} stopped; balance {card_before['balance_idr']} on {run.kpj} "
            f"as of {balance.json()['as_of']} (today {date.today()})"
        )
        for name in down:
            await system.start(name)
        # And back: the claims path answers again once they are up.
        resp = await journey.eligibility(run.kpj)
        assert any(r["reason"] == "resignation" for r in resp["reasons"])
    finally:
        await start_any_left_down(system)
        await load.close()


async def start_any_left_down(system: RunningSystem) -> None:
    """Every process of the system running again (a failed test must not leave the next file a stopped one)."""
    for name in system.specs:
        if system.pid(name) is None:
            await system.start(name)
