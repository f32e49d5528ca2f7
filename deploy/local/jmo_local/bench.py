"""`make bench`: N members through a JHT claim, concurrently, against the running system.

Each member is new (its own NIK, cards and contributions published to the
upstream feeds), registers, logs in, passes two face matches, completes the
pengkinian data wizard, uploads documents and submits a resignation claim.
Prints claims/s over the submit phase and submit-to-PAID latency p50/p99.

    python -m jmo_local.bench --members 40 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta

import httpx

from .demo import Card, build_members, feed_events
from .demo_loader import demo_photo_pairs, publish_events
from .journey import Journey, Urls
from .services import API_PORTS, BANKSIM_PORT, ROOT


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def bench_members(count: int, today: date):
    seed = random.randrange(10**9)
    members = build_members(count, today, demo_photo_pairs(ROOT / ".cache")[:1], seed=seed,
                            nik_seq_start=random.randrange(1000, 9000 - count))
    rng = random.Random(seed)
    for member in members:
        ended = today - timedelta(days=rng.randint(60, 200))
        member.cards = [Card(kpj=str(rng.randrange(10**10, 10**11)), employer_id="EMP-BENCH",
                             employer_name="PT Bench Nusantara", registered_on=ended - timedelta(days=700),
                             ended_on=ended, letter_date=ended - timedelta(days=30),
                             wage_idr=rng.randrange(4_000_000, 9_000_000, 100_000))]
    return members


async def prepare(journey: Journey, contributions: int) -> tuple[str, list[str], str]:
    await journey.register()
    await journey.login()
    face = await journey.verify_face("profile_update")
    await journey.update_profile(face["verification_id"])
    kpj = journey.member.cards[0].kpj
    await journey.wait_balance(kpj, contributions, timeout=300)
    eligibility = await journey.wait_claim_ready(kpj, "resignation", timeout=300)
    documents = await journey.upload_documents(eligibility["required_documents"])
    claim_face = await journey.verify_face("claim")
    return kpj, documents, claim_face["verification_id"]


async def run(members: int, concurrency: int, urls: Urls, kafka: str) -> int:
    today = date.today()
    people = bench_members(members, today)
    journeys = [Journey(urls, m, client=httpx.AsyncClient(timeout=60)) for m in people]
    print(f"bench: {members} members, concurrency {concurrency}, on {os.cpu_count()} cores", flush=True)
    for journey in journeys:
        await journey.open_bank_account()
    feeds = [e for m in people for e in feed_events(m, today)]
    await publish_events(kafka, feeds, source="/bench/upstream", progress=False)
    expected = {m.nik: sum(e.employer_idr + e.worker_idr for e in feed_events(m, today)
                           if e.event_type.endswith("ContributionPosted.v1")) for m in people}

    gate = asyncio.Semaphore(concurrency)
    started = time.monotonic()

    async def prepared(j: Journey):
        async with gate:
            return await prepare(j, expected[j.member.nik])

    ready = await asyncio.gather(*(prepared(j) for j in journeys), return_exceptions=True)
    failures = [r for r in ready if isinstance(r, BaseException)]
    print(f"prepared {members - len(failures)} members in {time.monotonic() - started:.1f}s "
          f"(register, login, 2 face matches, wizard, documents)", flush=True)
    for failure in failures[:3]:
        print(f"  preparation failed: {failure}", file=sys.stderr)

    latencies: list[float] = []
    outcomes: dict[str, int] = {}

    async def claim(j: Journey, prep) -> None:
        kpj, documents, verification = prep
        async with gate:
            t0 = time.monotonic()
            resp = await j.submit_claim(kpj, "resignation", documents, verification)
            if resp.status_code != 202:
                outcomes[f"refused {resp.status_code}"] = outcomes.get(f"refused {resp.status_code}", 0) + 1
                return
        claim_id = resp.json()["claim_id"]
        try:
            await j.wait_claim(claim_id, "PAID", timeout=300)
            latencies.append(time.monotonic() - t0)
            outcomes["PAID"] = outcomes.get("PAID", 0) + 1
        except AssertionError:
            status = (await j.claim(claim_id))["status"]
            outcomes[status] = outcomes.get(status, 0) + 1

    submit_start = time.monotonic()
    await asyncio.gather(*(claim(j, p) for j, p in zip(journeys, ready) if not isinstance(p, BaseException)))
    elapsed = time.monotonic() - submit_start
    for journey in journeys:
        await journey.close()

    print(f"outcomes: {outcomes}")
    if latencies:
        print(f"claims paid: {len(latencies)} in {elapsed:.2f}s -> {len(latencies) / elapsed:.2f} claims/s")
        print(f"submit-to-PAID latency: p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    return 0 if latencies and not failures else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    base = f"http://{args.host}"
    urls = Urls(*(f"{base}:{API_PORTS[s]}" for s in ("identity", "profile", "balance", "claims", "payout")),
                banksim=f"{base}:{BANKSIM_PORT}")
    sys.exit(asyncio.run(run(args.members, args.concurrency, urls, args.kafka)))


if __name__ == "__main__":
    main()
