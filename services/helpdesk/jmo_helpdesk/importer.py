"""Load a real list of offices and PLKK clinics: `python -m jmo_helpdesk.importer <file.csv>`.

Columns: place_id,kind,name,address,province,regency,lat,lon,phone,opening_hours,services
(`kind` is office or plkk; `services` separated by ';'; UTF-8). Upserts by place_id,
so running it twice changes nothing. If any row is bad, nothing is written and every
bad row is listed with its line number (exit status 1): a half-loaded list would send
members to places that are not on it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from jmo_shared.runtime import Runtime

from .adapters.collections import ensure_indexes
from .adapters.places import PlaceStore
from .service_layer.places import PlaceImport, parse_csv
from .settings import HelpdeskSettings


async def run(path: Path, settings: HelpdeskSettings, out=sys.stdout) -> int:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=out)
        return 1
    places, problems = parse_csv(text)
    if problems:
        for p in problems:
            print(f"{path}:{p.line}: {p.field}: {p.message}", file=out)
        print(f"{len(problems)} problem(s); nothing imported", file=out)
        return 1
    runtime = Runtime(settings)
    try:
        await ensure_indexes(runtime.db)
        count = await PlaceImport(runtime.db, PlaceStore(runtime.db)).upsert(places)
    finally:
        await runtime.client.close()
    print(f"imported {count} place(s) from {path}", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jmo_helpdesk.importer", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="CSV file of places")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.file, HelpdeskSettings()))


if __name__ == "__main__":
    sys.exit(main())
