"""Balance read benchmark (not a test): GET /v1/balance (or /v1/card) reads/s, p50, p99, errors.

N concurrent keep-alive clients (aiohttp) read the balance of M distinct members,
each with the member's own token, for D seconds after a warm-up, and print
reads/s, p50, p99 and errors per concurrency, the CPU each process used, and the
API's read-cache hits.

Either let it start a balance API + worker of its own on the dev infra and seed
K members through real MemberRegistered + ContributionPosted events on Kafka:

    python services/balance/bench/read_bench.py --spawn --members 1000 --months 12 \\
        --concurrency 16,64 --duration 20 \\
        --kafka 127.0.0.1:9092 --mongo 'mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true'

or run it against a running API, with tokens it trusts: either a file of bearer
tokens (one per line, e.g. from identity's login), or a key whose JWKS the API
was started with (`--print-jwks` prints it, for JWKS_JSON) and a file of NIKs:

    python services/balance/bench/read_bench.py --base-url http://127.0.0.1:8003 --tokens-file tokens.txt
    python services/balance/bench/read_bench.py --base-url http://127.0.0.1:8003 --key bench.pem --niks-file niks.txt
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiohttp
from pymongo import AsyncMongoClient

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ingest_bench import ledger_count, wait_applied  # noqa: E402
from stack import (  # noqa: E402 - the bench's own helpers, next to this file
    DEFAULT_MONGO,
    CpuMeter,
    jwks_of,
    listening_pid,
    load_or_make_key,
    member_events,
    metric_sums,
    port_of,
    publish,
    scrape,
    spawn,
    token,
)


async def _drive(
    url: str, path: str, tokens: list[str], clients: int, start_at: float, warmup: float, duration: float
) -> tuple[list[float], int, float]:
    """One load process: `clients` keep-alive connections reading as fast as answers come."""
    latencies: list[float] = []
    errors = 0
    measure_from, stop_at = start_at + warmup, start_at + warmup + duration
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(
        base_url=url, connector=connector, timeout=aiohttp.ClientTimeout(total=10)
    ) as http:
        await asyncio.sleep(max(0.0, start_at - time.time()))

        async def client(i: int) -> None:
            nonlocal errors
            rng = random.Random(i)
            while (now := time.time()) < stop_at:
                headers = {"Authorization": f"Bearer {rng.choice(tokens)}"}
                t0 = time.perf_counter()
                try:
                    async with http.get(path, headers=headers) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except (TimeoutError, aiohttp.ClientError):
                    ok = False
                if now >= measure_from:
                    latencies.append(time.perf_counter() - t0)
                    errors += not ok

        async def cpu_from_measure_start() -> float:
            await asyncio.sleep(max(0.0, measure_from - time.time()))
            return time.process_time()

        cpu_start, *_ = await asyncio.gather(cpu_from_measure_start(), *(client(i) for i in range(clients)))
    return latencies, errors, time.process_time() - cpu_start


def _drive_process(*args) -> tuple[list[float], int, float]:
    return asyncio.run(_drive(*args))


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


async def read_load(
    url: str,
    path: str,
    tokens: list[str],
    concurrency: int,
    processes: int,
    warmup: float,
    duration: float,
    meter: CpuMeter,
) -> None:
    start_at = time.time() + 1.0
    shares = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    before = await scrape(url)
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [
            loop.run_in_executor(pool, _drive_process, url, path, tokens, n, start_at, warmup, duration)
            for n in shares
            if n
        ]
        await asyncio.sleep(max(0.0, start_at + warmup - time.time()))
        meter.start()
        results = await asyncio.gather(*futures)
        cpu = meter.stop()
    after = await scrape(url)
    latencies = sorted(x for lat, _, _ in results for x in lat)
    errors = sum(e for _, e, _ in results)
    load_cpu = sum(c for _, _, c in results)
    hits = metric_sums(after, "balance_read_cache_total", outcome="hit") - metric_sums(
        before, "balance_read_cache_total", outcome="hit"
    )
    misses = metric_sums(after, "balance_read_cache_total", outcome="miss") - metric_sums(
        before, "balance_read_cache_total", outcome="miss"
    )
    cache = f", read cache {hits / (hits + misses):.1%} hits" if hits + misses else ""
    print(
        f"GET {path}: concurrency {concurrency} ({processes} load process(es)), {len(set(tokens))} members: "
        f"{len(latencies)} reads in {duration:.0f} s -> {len(latencies) / duration:.0f} reads/s, "
        f"p50 {percentile(latencies, 0.50) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
        f"errors {errors}{cache}"
    )
    print(f"  {cpu}; load generator {load_cpu:.1f} s")


async def seed(kafka: str, worker_url: str, members: int, months: int, cards: int) -> list[str]:
    events, niks = member_events(members, months, cards)
    baseline, *_ = await ledger_count(worker_url)
    started = time.monotonic()
    await publish(kafka, events)
    await wait_applied(worker_url, baseline, len(events), 900)
    took = time.monotonic() - started
    print(
        f"seeded {members} members ({len(events)} events through Kafka) in {took:.1f} s "
        f"({len(events) / took:.0f} events/s; see ingest_bench.py)"
    )
    return niks


async def members_of(mongo: str, db: str) -> list[str]:
    client = AsyncMongoClient(mongo)
    try:
        return sorted({d["nik"] for d in await client[db]["cards"].find({"registered": True}, {"nik": 1}).to_list()})
    finally:
        await client.close()


def tokens_from(args: argparse.Namespace, key, niks: list[str] | None) -> list[str]:
    if args.tokens_file:
        return [t.strip() for t in Path(args.tokens_file).read_text().splitlines() if t.strip()]
    if niks is None:
        niks = [n.strip() for n in Path(args.niks_file).read_text().splitlines() if n.strip()]
    return [token(key, nik) for nik in niks]


async def main(args: argparse.Namespace) -> None:
    stack = None
    url = args.base_url
    pids: dict[str, int | None] = {"database": listening_pid(port_of(args.mongo))}
    niks = None
    key = load_or_make_key(args.key)
    if args.spawn:
        extra = dict(e.split("=", 1) for e in args.service_env)
        stack = await spawn(
            args.kafka, args.mongo, key, {"LOG_LEVEL": args.service_log_level, **extra}, db=args.reuse_db
        )
        url = stack.api_url
        pids.update(stack.pids)
    try:
        if args.spawn and args.reuse_db:
            niks = await members_of(args.mongo, args.reuse_db)
            print(f"reusing database {args.reuse_db}: {len(niks)} members")
        elif args.spawn:
            niks = await seed(args.kafka, stack.worker_url, args.members, args.months, args.cards_per_member)
        tokens = tokens_from(args, key, niks)
        if args.members and len(tokens) > args.members:
            tokens = random.sample(tokens, args.members)
        for path in args.paths.split(","):
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                await read_load(
                    url, path, tokens, concurrency, args.processes, args.warmup, args.duration, CpuMeter(pids)
                )
    finally:
        if stack:
            stack.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spawn", action="store_true", help="start a balance API + worker and seed members")
    parser.add_argument("--base-url", default="http://127.0.0.1:8003", help="a running balance API (no --spawn)")
    parser.add_argument("--tokens-file", help="bearer tokens, one per line (one per member)")
    parser.add_argument("--key", help="PEM of an ES256 key the API trusts (created if missing; see --print-jwks)")
    parser.add_argument("--niks-file", help="with --key: the NIKs to mint tokens for, one per line")
    parser.add_argument("--print-jwks", action="store_true", help="print the JWKS_JSON for --key and exit")
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument(
        "--mongo",
        default=os.environ.get("MONGODB_URI", DEFAULT_MONGO),
        help="the database (--spawn; also to find its process for the CPU figures)",
    )
    parser.add_argument("--reuse-db", help="with --spawn: run on this database of an earlier run, no seeding")
    parser.add_argument("--members", type=int, default=1000, help="distinct members read (and seeded)")
    parser.add_argument("--months", type=int, default=12, help="contributions per seeded card")
    parser.add_argument("--cards-per-member", type=int, default=1)
    parser.add_argument("--concurrency", default="32", help="concurrent connections; a list runs each in turn")
    parser.add_argument("--processes", type=int, default=1, help="load-generating processes")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured")
    parser.add_argument("--paths", default="/v1/balance", help="e.g. /v1/balance,/v1/card")
    parser.add_argument(
        "--service-log-level",
        default="INFO",
        help="LOG_LEVEL of the spawned API and worker (INFO logs one line per request)",
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the spawned processes, e.g. BALANCE_READ_CACHE_TTL_SECONDS=0 "
        "to measure without the read cache",
    )
    args = parser.parse_args()
    if args.print_jwks:
        if not args.key:
            parser.error("--print-jwks needs --key")
        print(jwks_of(load_or_make_key(args.key)))
        return
    if not args.spawn and not args.tokens_file and not (args.key and args.niks_file):
        parser.error("without --spawn give --tokens-file, or --key and --niks-file")
    # A plain SIGTERM (e.g. from `timeout`) still stops the balance processes the bench started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
