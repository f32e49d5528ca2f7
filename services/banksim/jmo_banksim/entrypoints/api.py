"""`python -m jmo_banksim.entrypoints.api`: the partner-bank simulator on BANKSIM_PORT (8099)."""

from __future__ import annotations

from jmo_shared.runtime import serve

from ..bootstrap import create_api
from ..settings import BanksimSettings


def main() -> None:
    settings = BanksimSettings()
    serve(create_api(settings), settings)


if __name__ == "__main__":
    main()
