"""`make bench-volume`: are claims as fast once the databases hold a busy month?

The question: after 200,000 contributions and 20,000 paid claims, do claims/s and p99 submit-to-PAID
stay within 15% of a fresh stack? Against the stack `make run` started, in phases, each one of the
existing benchmarks run as a process of its own (their JSON kept in --out):

1. fresh: `jmo_local.bench --members M --rate R`, the reference;
2. contributions: `jmo_local.ingest_bench` until --contributions ContributionPosted went through
   (runs of at most 9,000 new cards, its limit);
3. paid claims: `jmo_local.bench --members K --rate F --no-ceiling` in rounds until --paid-claims
   claims are PAID in all (phase 1's count in), each round on a stack fuller than the last;
4. at volume: the bench of phase 1 again.

Then it prints phase 1 beside phase 4 with the ratio and whether it is within --tolerance, every
round's figures (the trend as the data grows), and the documents each database holds before and
after. Filling costs what onboarding costs (about 1.3 CPU-seconds per member, two face matches):
20,000 paid claims take hours of a 2-core machine; --paid-claims sets how far to go.

    python -m jmo_local.volume_bench --contributions 200000 --paid-claims 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from . import stackstats
from .ingest_bench import MAX_CARDS

# Databases of the stack that are not ours: left out of the sizes.
SYSTEM_DATABASES = frozenset({"admin", "config", "local"})
# The figures compared fresh against at volume, and which way is better.
COMPARED = (
    ("claims/s sustained", ("claims", "sustained_claims_per_s"), "higher"),
    ("submit-to-PAID p50 ms", ("claims", "submit_to_paid_ms_p50"), "lower"),
    ("submit-to-PAID p99 ms", ("claims", "submit_to_paid_ms_p99"), "lower"),
    ("POST /v1/claims p99 ms", ("claims", "submit_response_ms_p99"), "lower"),
    ("CPU ms per claim", ("stack", "cpu_ms_per_unit"), "lower"),
    ("DB operations per claim", ("stack", "db_ops_per_unit"), "lower"),
    ("onboarding s per member", ("onboarding", "seconds_per_member"), "lower"),
    ("database ceiling tx/s", ("ceiling", "tx_per_s"), "higher"),
    ("RSS MB after", ("stack", "rss_mb_end"), "lower"),
)
# The issue's own test: these two within the tolerance.
JUDGED = ("claims/s sustained", "submit-to-PAID p99 ms")


# ---------------------------------------------------------------- planning and comparing (pure)


def contribution_runs(events: int, cards_per_run: int, events_per_card: int) -> list[tuple[int, int]]:
    """(cards, events) of each ingest run that posts `events` in all, `events_per_card` per card at most.

    Each run stays within ingest_bench's card limit and gives every card at least one period.
    """
    if events <= 0:
        return []
    cards_per_run = max(1, min(cards_per_run, MAX_CARDS))
    per_run = cards_per_run * max(1, events_per_card)
    runs = []
    left = events
    while left > 0:
        chunk = min(per_run, left)
        cards = min(cards_per_run, chunk)
        runs.append((cards, chunk))
        left -= chunk
    return runs


def claim_rounds(paid_so_far: int, target: int, per_round: int) -> list[int]:
    """Members of each fill round so that `target` claims are paid, starting from `paid_so_far`."""
    left = max(0, target - paid_so_far)
    rounds = []
    while left > 0:
        rounds.append(min(per_round, left))
        left -= rounds[-1]
    return rounds


def figure(report: dict[str, Any], path: tuple[str, str]) -> float | None:
    section, key = path
    if section == "onboarding" and key == "seconds_per_member":
        onboarding = report.get("onboarding") or {}
        ready = onboarding.get("ready")
        return round(onboarding["seconds"] / ready, 3) if ready and onboarding.get("seconds") else None
    value = (report.get(section) or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


@dataclass
class Row:
    name: str
    fresh: float | None
    volume: float | None
    better: str

    @property
    def change(self) -> float | None:
        """at volume / fresh - 1, or None when either is missing or fresh is 0."""
        if self.fresh is None or self.volume is None or self.fresh == 0:
            return None
        return self.volume / self.fresh - 1

    def worse_by(self) -> float | None:
        """How much worse at volume (a fraction; negative when better)."""
        change = self.change
        if change is None:
            return None
        return -change if self.better == "higher" else change


def compare(fresh: dict[str, Any], volume: dict[str, Any]) -> list[Row]:
    return [Row(name, figure(fresh, path), figure(volume, path), better) for name, path, better in COMPARED]


def verdict(rows: list[Row], tolerance: float) -> tuple[bool, list[str]]:
    """Whether the judged figures are within `tolerance` worse at volume, and why not."""
    problems = []
    for row in rows:
        if row.name not in JUDGED:
            continue
        worse = row.worse_by()
        if worse is None:
            problems.append(f"{row.name}: missing")
        elif worse > tolerance:
            problems.append(f"{row.name}: {worse:.0%} worse")
    return not problems, problems


def comparison_lines(rows: list[Row]) -> list[str]:
    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:,.2f}" if value < 100 else f"{value:,.0f}"

    lines = [f"{'figure':<26}{'fresh':>12}{'at volume':>12}{'change':>9}"]
    for row in rows:
        change = "-" if row.change is None else f"{row.change:+.0%}"
        lines.append(f"{row.name:<26}{show(row.fresh):>12}{show(row.volume):>12}{change:>9}")
    return lines


def round_line(index: int, report: dict[str, Any], paid_total: int) -> str:
    claims, stack = report.get("claims") or {}, report.get("stack") or {}
    return (
        f"round {index}: {claims.get('paid', 0)} paid ({paid_total} in all), "
        f"{claims.get('sustained_claims_per_s', 0):.2f} claims/s, p99 {claims.get('submit_to_paid_ms_p99', '-')} ms, "
        f"{stack.get('cpu_ms_per_unit', '-')} CPU ms and {stack.get('db_ops_per_unit', '-')} DB ops per claim, "
        f"onboarding {figure(report, ('onboarding', 'seconds_per_member'))} s per member"
    )


# ---------------------------------------------------------------- running the benchmarks


@dataclass
class Options:
    members: int
    rate: float
    contributions: int
    cards_per_run: int
    events_per_card: int
    paid_claims: int
    round_members: int
    round_rate: float
    tolerance: float
    out: Path
    mongodb_uri: str
    passthrough: list[str] = field(default_factory=list)


def run_module(module: str, args: list[str], json_path: Path, log: Path) -> dict[str, Any]:
    """Run one benchmark as its own process (its output also goes to `log`); its JSON report."""
    command = [sys.executable, "-m", module, *args, "--json", str(json_path)]
    print(f"$ {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                out.write(line)
                out.flush()
                if line.startswith(("submitted", "sustained", "submit-to-PAID", "end to end", "  per member")):
                    print(f"    {line.rstrip()}", flush=True)
            code = proc.wait()
        except KeyboardInterrupt:
            # Ctrl-C in a terminal reached the benchmark too; `kill -INT` of this process alone did not.
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
            raise
    print(f"  exit {code} after {time.monotonic() - started:.0f}s", flush=True)
    if not json_path.exists():
        raise SystemExit(f"{module} wrote no report ({json_path}); its output is in {log}")
    report = json.loads(json_path.read_text())
    report["exit_code"] = code
    return report


async def database_sizes(mongodb_uri: str) -> dict[str, dict[str, int]]:
    """Documents per collection of every database of the stack (estimated counts: metadata, no scan)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, serverSelectionTimeoutMS=5000)
    sizes: dict[str, dict[str, int]] = {}
    try:
        for name in sorted(await client.list_database_names()):
            if name in SYSTEM_DATABASES:
                continue
            db = client[name]
            sizes[name] = {c: await db[c].estimated_document_count() for c in sorted(await db.list_collection_names())}
    finally:
        await client.close()
    return sizes


def size_lines(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], top: int = 15) -> list[str]:
    rows = []
    for db, collections in after.items():
        for coll, count in collections.items():
            rows.append((count, f"{db}.{coll}", before.get(db, {}).get(coll, 0)))
    rows.sort(reverse=True)
    total_before = sum(n for c in before.values() for n in c.values())
    total_after = sum(n for c in after.values() for n in c.values())
    lines = [f"documents in the stack's databases: {total_before:,} before, {total_after:,} after; the largest:"]
    lines += [f"  {name:<40}{was:>12,} -> {count:>12,}" for count, name, was in rows[:top]]
    return lines


def claims_args(members: int, rate: float, extra: list[str]) -> list[str]:
    return ["--members", str(members), "--rate", f"{rate:g}", *extra]


def main_run(opts: Options) -> int:
    opts.out.mkdir(parents=True, exist_ok=True)
    log = opts.out / "output.log"
    summary: dict[str, Any] = {"options": {k: str(v) for k, v in vars(opts).items()}, "rounds": []}
    started = time.monotonic()
    sizes_before = asyncio.run(database_sizes(opts.mongodb_uri))
    summary["documents_before"] = sizes_before

    print(f"== 1. fresh: {opts.members} claims at {opts.rate:g}/s", flush=True)
    fresh = run_module(
        "jmo_local.bench", claims_args(opts.members, opts.rate, opts.passthrough), opts.out / "fresh.json", log
    )
    summary["fresh"] = fresh
    paid = int((fresh.get("claims") or {}).get("paid", 0))

    runs = contribution_runs(opts.contributions, opts.cards_per_run, opts.events_per_card)
    print(f"== 2. contributions: {opts.contributions:,} in {len(runs)} run(s)", flush=True)
    summary["ingest"] = []
    for i, (cards, events) in enumerate(runs, 1):
        report = run_module(
            "jmo_local.ingest_bench",
            ["--cards", str(cards), "--events", str(events), "--sample", "10"],
            opts.out / f"ingest-{i}.json",
            log,
        )
        summary["ingest"].append(report)

    rounds = claim_rounds(paid, opts.paid_claims, opts.round_members)
    print(f"== 3. paid claims: {paid} so far, {len(rounds)} round(s) to reach {opts.paid_claims:,}", flush=True)
    for i, members in enumerate(rounds, 1):
        report = run_module(
            "jmo_local.bench",
            [*claims_args(members, opts.round_rate, opts.passthrough), "--no-ceiling"],
            opts.out / f"round-{i}.json",
            log,
        )
        paid += int((report.get("claims") or {}).get("paid", 0))
        summary["rounds"].append(report)
        summary.setdefault("round_lines", []).append(round_line(i, report, paid))
        print(f"  {summary['round_lines'][-1]}", flush=True)

    print(f"== 4. at volume: {opts.members} claims at {opts.rate:g}/s again", flush=True)
    volume = run_module(
        "jmo_local.bench", claims_args(opts.members, opts.rate, opts.passthrough), opts.out / "volume.json", log
    )
    summary["volume"] = volume
    summary["paid_before_volume_phase"] = paid
    sizes_after = asyncio.run(database_sizes(opts.mongodb_uri))
    summary["documents_after"] = sizes_after

    rows = compare(fresh, volume)
    ok, problems = verdict(rows, opts.tolerance)
    summary["comparison"] = [{"figure": r.name, "fresh": r.fresh, "volume": r.volume, "change": r.change} for r in rows]
    summary["within_tolerance"] = ok
    summary["seconds"] = round(time.monotonic() - started)
    (opts.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))

    contributed = sum(int((r.get("visible") or {}).get("balance_changed_events", 0)) for r in summary["ingest"])
    print(f"\n== fresh against at volume ({paid:,} claims paid and {contributed:,} contributions announced before it)")
    for line in comparison_lines(rows):
        print(f"  {line}")
    for line in summary.get("round_lines", []):
        print(f"  {line}")
    for line in size_lines(sizes_before, sizes_after):
        print(f"  {line}")
    tolerance = f"{opts.tolerance:.0%}"
    if ok:
        print(f"claims/s and p99 at volume within {tolerance} of fresh")
    else:
        print(f"NOT within {tolerance}: {'; '.join(problems)}")
    print(f"every report in {opts.out} (summary.json, output.log); {summary['seconds']:,} s in all")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=150, help="claims of the fresh and the at-volume phase")
    parser.add_argument("--rate", type=float, default=20.0, help="their offered rate, claims/s")
    parser.add_argument("--contributions", type=int, default=200_000, help="ContributionPosted to fill with")
    parser.add_argument(
        "--cards-per-run", type=int, default=5000, help=f"new cards per ingest run (at most {MAX_CARDS:,})"
    )
    parser.add_argument("--events-per-card", type=int, default=40, help="contributions per card at most")
    parser.add_argument("--paid-claims", type=int, default=20_000, help="paid claims before the at-volume phase")
    parser.add_argument("--round-members", type=int, default=400, help="members (claims) per fill round")
    parser.add_argument(
        "--round-rate", type=float, default=6.0, help="claims/s offered in a fill round (about what the stack does)"
    )
    parser.add_argument("--tolerance", type=float, default=0.15, help="how much worse at volume still counts as flat")
    parser.add_argument("--mongodb-uri", default=os.environ.get("MONGODB_URI", stackstats.DEFAULT_MONGODB_URI))
    parser.add_argument("--out", type=Path, default=None, help="default: $DATA_DIR/bench/volume-<timestamp>/")
    parser.add_argument(
        "bench_args", nargs="*", help="after --: more arguments for every jmo_local.bench run (e.g. --concurrency 8)"
    )
    args = parser.parse_args()
    if args.members < 1 or args.rate <= 0 or args.round_members < 1 or args.round_rate <= 0:
        parser.error("--members, --rate, --round-members and --round-rate must be positive")
    if args.contributions < 0 or args.paid_claims < 0:
        parser.error("--contributions and --paid-claims cannot be negative")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or stackstats.default_data_dir() / "bench" / f"volume-{stamp}"
    opts = Options(
        args.members,
        args.rate,
        args.contributions,
        args.cards_per_run,
        args.events_per_card,
        args.paid_claims,
        args.round_members,
        args.round_rate,
        args.tolerance,
        out,
        args.mongodb_uri,
        args.bench_args,
    )
    try:
        sys.exit(main_run(opts))
    except KeyboardInterrupt:
        print(f"\ninterrupted; the reports so far are in {opts.out}", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
