"""`python -m jmo_local.secantusd`: SecantusDB's server, as `secantusd-py` runs it, with the TTL sweep set.

SecantusDB's own command line builds the server without its `ttl_sweep_seconds`, so
the sweep always runs every 60 s. That sweep reads every document of every
TTL-indexed collection under a lock all reads share (measured: 8 s at 50,000 rows
of outbox and processed ids, while an unrelated read waited as long), so it gets
slower as the data grows. Locally it is off by default: the services purge their
outbox and processed-event ids themselves, by ranges on indexed fields (see
jmo_shared.retention), which costs what is deleted, not what is kept.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from secantus.server import SecantusDBServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--storage-path", required=True)
    parser.add_argument("--cache-size", default="256M")
    parser.add_argument("--sync-on-commit", action="store_true")
    parser.add_argument(
        "--ttl-sweep-seconds",
        type=float,
        default=0.0,
        help="how often TTL indexes are swept; 0 turns the sweep off (the default here)",
    )
    parser.add_argument(
        "--transaction-lifetime-seconds",
        type=float,
        default=60.0,
        help="a transaction idle this long is aborted (mongod's transactionLifetimeLimitSeconds)",
    )
    args = parser.parse_args(argv)
    server = SecantusDBServer(
        host=args.host,
        port=args.port,
        storage_path=args.storage_path,
        replica_set_name="secantus",
        enable_test_commands=False,
        cache_size=args.cache_size,
        sync_on_commit=args.sync_on_commit,
        ttl_sweep_seconds=args.ttl_sweep_seconds,
        transaction_lifetime_seconds=args.transaction_lifetime_seconds,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server.start()
    server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
