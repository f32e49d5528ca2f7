"""Finding offices and PLKK clinics, and loading lists of them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jmo_shared.errors import DomainError, ErrorKind, FieldError, not_found
from jmo_shared.logging import get_logger
from jmo_shared.mongo import Database

from ..adapters.places import PlaceFilter, PlaceStore
from ..domain.geo import haversine_km, valid_coordinates
from ..domain.places import COLUMNS, Place, RowProblem, parse_row

log = get_logger(__name__)

DEMO_PLACES = Path(__file__).resolve().parents[1] / "data" / "places.csv"
UPSERT_CHUNK = 200


@dataclass(frozen=True)
class Near:
    lat: float
    lon: float
    radius_km: float


def place_view(p: Place, near: Near | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "place_id": p.place_id,
        "kind": p.kind,
        "name": p.name,
        "address": p.address,
        "province": p.province,
        "regency": p.regency,
        "location": {"lat": p.lat, "lon": p.lon},
        "phone": p.phone,
        "opening_hours": p.opening_hours,
        "services": list(p.services),
    }
    if near is not None:
        view["distance_km"] = round(haversine_km(near.lat, near.lon, p.lat, p.lon), 2)
    return view


def near_point(
    lat: float | None, lon: float | None, radius_km: float | None, default_radius: float, max_radius: float
) -> Near | None:
    """A position to sort by, or None; half a position or a stray radius is the caller's mistake."""
    if lat is None and lon is None:
        if radius_km is not None:
            raise DomainError(
                "validation_failed",
                "radius_km needs lat and lon",
                ErrorKind.INVALID,
                [FieldError("radius_km", "requires_position", "give lat and lon with radius_km")],
            )
        return None
    missing = "lon" if lon is None else "lat" if lat is None else None
    if missing:
        other = "lat" if missing == "lon" else "lon"
        raise DomainError(
            "validation_failed",
            "lat and lon go together",
            ErrorKind.INVALID,
            [FieldError(missing, "required", f"{missing} is required with {other}")],
        )
    assert lat is not None and lon is not None
    if not valid_coordinates(lat, lon):
        raise DomainError(
            "validation_failed",
            "lat/lon out of range",
            ErrorKind.INVALID,
            [FieldError("lat", "out_of_range", "lat in [-90, 90], lon in [-180, 180]")],
        )
    if radius_km is not None and radius_km > max_radius:
        raise DomainError(
            "validation_failed",
            "radius_km too large",
            ErrorKind.INVALID,
            [FieldError("radius_km", "too_large", f"at most {max_radius:g} km")],
        )
    return Near(lat, lon, radius_km if radius_km is not None else default_radius)


class PlaceQueries:
    def __init__(self, store: PlaceStore, default_radius_km: float, max_radius_km: float) -> None:
        self._store = store
        self._default_radius = default_radius_km
        self._max_radius = max_radius_km

    async def search(
        self, f: PlaceFilter, lat: float | None, lon: float | None, radius_km: float | None, skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int, float | None]:
        """One page of places (nearest first when given a position), the total, and the radius searched."""
        near = near_point(lat, lon, radius_km, self._default_radius, self._max_radius)
        if near is None:
            places, total = await self._store.search(f, skip, limit)
        else:
            places, total = await self._store.nearest(f, near.lat, near.lon, near.radius_km * 1000, skip, limit)
        return [place_view(p, near) for p in places], total, near.radius_km if near else None

    async def get(self, place_id: str) -> dict[str, Any]:
        place = await self._store.get(place_id)
        if place is None:
            raise not_found("place", code="place_not_found")
        return place_view(place)


def parse_csv(text: str) -> tuple[list[Place], list[RowProblem]]:
    """Every valid place and every problem (with its line number); duplicates of a place_id are problems."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [RowProblem(1, ",".join(missing), "missing column(s) in the header")]
    places: list[Place] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        place, row_problems = parse_row({(k or "").strip(): v for k, v in row.items()}, line)
        problems += row_problems
        if place is None:
            continue
        if place.place_id in seen:
            problems.append(RowProblem(line, "place_id", f"duplicate of line {seen[place.place_id]}"))
            continue
        seen[place.place_id] = line
        places.append(place)
    return places, problems


class PlaceImport:
    def __init__(self, db: Database, store: PlaceStore) -> None:
        self._db = db
        self._store = store

    async def upsert(self, places: list[Place]) -> int:
        for start in range(0, len(places), UPSERT_CHUNK):
            chunk = places[start : start + UPSERT_CHUNK]

            async def work(tx, chunk=chunk):
                await self._store.upsert(tx, chunk)

            await self._db.transaction(work)
        return len(places)

    async def seed_demo_if_empty(self) -> int:
        if await self._store.count() > 0:
            return 0
        places, problems = parse_csv(DEMO_PLACES.read_text(encoding="utf-8"))
        if problems:
            # A broken bundled file is a bug of ours: say so loudly, load what is valid.
            log.error("demo_places_invalid", problems=[p.__dict__ for p in problems])
        loaded = await self.upsert(places)
        log.info("demo_places_loaded", count=loaded)
        return loaded
