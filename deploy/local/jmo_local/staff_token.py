"""Print a staff access token for the local stack.

    python -m jmo_local.staff_token --role officer --sub siti.officer [--ttl 600]
    curl -H "Authorization: Bearer $(python -m jmo_local.staff_token --role ops --sub budi)" ...

The key lives in DATA_DIR (default <repo>/.data, as `make run`); see jmo_local.staff.
`--role` may be given twice (officer and ops).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .services import ROOT
from .staff import MAX_TTL_SECONDS, STAFF_ROLES, key_path, staff_token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", action="append", choices=STAFF_ROLES, required=True)
    parser.add_argument("--sub", required=True, help="the staff member's name (becomes the token's sub)")
    parser.add_argument("--ttl", type=int, default=600, help=f"seconds, at most {MAX_TTL_SECONDS}")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DATA_DIR", ROOT / ".data")))
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    existed = key_path(data_dir).exists()
    try:
        token = staff_token(data_dir, args.role, args.sub, args.ttl)
    except ValueError as exc:
        parser.error(str(exc))
    if not existed:
        print(
            f"note: made a new staff signing key in {key_path(data_dir)}; services started before now "
            "do not know it (restart `make run`)",
            file=sys.stderr,
        )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
