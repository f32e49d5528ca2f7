"""What the running stack spends when nobody uses it: CPU per process, database operations, RSS.

    make run                                   # in one terminal
    python -m jmo_local.idle_bench --seconds 60

Prints the cores kept busy by each process of the stack (from /proc), the database operations per
second by opcounter (serverStatus, our own probe's commands taken out) and the resident memory of
each process, against the targets (under 3% of a core, under 10 operations/s, under 2.5 GB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from . import stackstats

CPU_TARGET_CORES = 0.03
DB_OPS_TARGET_PER_S = 10.0
RSS_TARGET_MB = 2500.0


async def measure(seconds: float, mongo_uri: str, data_dir: Path | None) -> dict:
    stack = stackstats.find_stack(data_dir)
    if not stack:
        raise SystemExit(stackstats.NO_STACK)
    mongo = stackstats.MongoProbe(mongo_uri)
    await mongo.start()
    try:
        d = await stackstats.quiet_window(stack, mongo, seconds)
    finally:
        await mongo.close()
    idle = stackstats.Idle.of(d)
    return {
        "seconds": round(d.seconds, 1),
        "processes": len(d.cpu_ms_by_process),
        "cores_busy": round(idle.cpu_ms_per_s / 1000, 4),
        "cores_busy_by_process": {
            k: round(v / 1000, 4) for k, v in sorted(idle.cpu_ms_per_s_by_process.items(), key=lambda kv: -kv[1])
        },
        "db_ops_per_s": round(idle.db_ops_per_s, 1),
        "db_ops_per_s_by_counter": {k: round(v, 1) for k, v in idle.db_ops_per_s_by_counter.items() if v},
        "rss_mb": round(d.rss_mb, 0),
        "rss_mb_by_process": {k: round(v) for k, v in sorted(d.rss_mb_by_process.items(), key=lambda kv: -kv[1])},
        "appeared": d.appeared,
        "vanished": d.vanished,
    }


def report(r: dict) -> list[str]:
    def mark(ok: bool) -> str:
        return "within target" if ok else "over target"

    lines = [
        f"idle stack over {r['seconds']}s, {r['processes']} processes",
        f"  CPU: {r['cores_busy']:.3f} cores ({r['cores_busy'] * 100:.1f}% of a core; target < "
        f"{CPU_TARGET_CORES * 100:.0f}%: {mark(r['cores_busy'] < CPU_TARGET_CORES)})",
    ]
    lines += [f"      {name:<20} {cores * 100:6.2f}%" for name, cores in r["cores_busy_by_process"].items()]
    lines.append(
        f"  database: {r['db_ops_per_s']:.1f} operations/s (target < {DB_OPS_TARGET_PER_S:.0f}: "
        f"{mark(r['db_ops_per_s'] < DB_OPS_TARGET_PER_S)}) {r['db_ops_per_s_by_counter']}"
    )
    lines.append(f"  RSS: {r['rss_mb']:,.0f} MB (target < {RSS_TARGET_MB:,.0f}: {mark(r['rss_mb'] < RSS_TARGET_MB)})")
    lines += [f"      {name:<20} {mb:6,.0f} MB" for name, mb in r["rss_mb_by_process"].items()]
    if r["appeared"] or r["vanished"]:
        lines.append(f"  restarted during the window: appeared {r['appeared']}, vanished {r['vanished']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--mongo-uri", default=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017"))
    parser.add_argument("--data-dir", type=Path, default=None, help="the stack's DATA_DIR (default: as make run)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    result = asyncio.run(measure(args.seconds, args.mongo_uri, args.data_dir))
    print("\n".join(report(result)))
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
