"""Offices and PLKK clinics (work-accident service centres), and how a row of a list becomes one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .geo import valid_coordinates

KINDS = ("office", "plkk")
PLACE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$")
COLUMNS = (
    "place_id",
    "kind",
    "name",
    "address",
    "province",
    "regency",
    "lat",
    "lon",
    "phone",
    "opening_hours",
    "services",
)
REQUIRED = ("place_id", "kind", "name", "address", "province", "regency", "lat", "lon")


@dataclass(frozen=True)
class Place:
    place_id: str
    kind: str
    name: str
    address: str
    province: str
    regency: str
    lat: float
    lon: float
    phone: str = ""
    opening_hours: str = ""
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    message: str


def normalise(text: str) -> str:
    """The form names are compared in: case and spacing do not matter ("DKI  jakarta" = "DKI Jakarta")."""
    return " ".join(text.split()).casefold()


def parse_row(row: dict[str, str | None], line: int) -> tuple[Place | None, list[RowProblem]]:
    """One row of a places list; the problems name the file's line so an editor can fix them."""
    get = {k: (row.get(k) or "").strip() for k in COLUMNS}
    problems = [RowProblem(line, f, "is required") for f in REQUIRED if not get[f]]
    if get["place_id"] and not PLACE_ID.match(get["place_id"]):
        problems.append(RowProblem(line, "place_id", "letters, digits, '-' or '_' (2-64)"))
    if get["kind"] and get["kind"] not in KINDS:
        problems.append(RowProblem(line, "kind", f"must be one of {', '.join(KINDS)}"))
    lat = lon = None
    try:
        lat, lon = float(get["lat"]), float(get["lon"])
    except ValueError:
        if get["lat"] and get["lon"]:
            problems.append(RowProblem(line, "lat/lon", "must be decimal degrees"))
    if lat is not None and lon is not None and not valid_coordinates(lat, lon):
        problems.append(RowProblem(line, "lat/lon", "out of range"))
    if problems or lat is None or lon is None:
        return None, problems
    services = tuple(s.strip() for s in get["services"].split(";") if s.strip())
    return Place(
        get["place_id"],
        get["kind"],
        get["name"],
        get["address"],
        get["province"],
        get["regency"],
        lat,
        lon,
        get["phone"],
        get["opening_hours"],
        services,
    ), []
