"""`python -m jmo_payout.entrypoints.api`: the payout HTTP API on PAYOUT_PORT (8005)."""

from __future__ import annotations

from jmo_shared.runtime import serve

from ..bootstrap import create_api
from ..settings import PayoutSettings


def main() -> None:
    settings = PayoutSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
