"""Exec a process described by a JSON file: {"argv": [...], "env": {...}, "cwd": "..."}.

supervisord's own `environment=` and `command=` lines cannot carry JSON values or
`%` safely, so every program there is `python -m jmo_local.launch <spec.json>`,
which replaces itself with the real process (signals go straight to it).
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    env = dict(os.environ)
    env.update(spec.get("env", {}))
    if spec.get("cwd"):
        os.chdir(spec["cwd"])
    os.execvpe(spec["argv"][0], spec["argv"], env)


if __name__ == "__main__":
    main()
