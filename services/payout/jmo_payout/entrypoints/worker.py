"""`python -m jmo_payout.entrypoints.worker`: consumers, outbox relay and the timeout sweep;
health and metrics on PAYOUT_WORKER_PORT (8105)."""

from __future__ import annotations

from jmo_shared.runtime import serve

from ..bootstrap import create_worker
from ..settings import PayoutSettings


def main() -> None:
    settings = PayoutSettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
