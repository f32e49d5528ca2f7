"""Rows of a places list: what is accepted, and line numbers of what is not."""

from __future__ import annotations

from datetime import date

from jmo_helpdesk.domain.programs import ProgramVersion, current_version
from jmo_helpdesk.service_layer.places import DEMO_PLACES, parse_csv

HEADER = "place_id,kind,name,address,province,regency,lat,lon,phone,opening_hours,services\n"


def test_the_bundled_demo_list_is_valid_and_covers_several_provinces() -> None:
    places, problems = parse_csv(DEMO_PLACES.read_text(encoding="utf-8"))
    assert problems == []
    assert len(places) >= 40
    assert len({p.province for p in places}) >= 8
    assert {p.kind for p in places} == {"office", "plkk"}


def test_bad_rows_are_reported_by_line() -> None:
    text = HEADER + (
        "A-1,office,Kantor A,Jl. A,DKI Jakarta,Jakarta Pusat,-6.1,106.8,,,klaim JHT;JKK\n"
        "A-2,hospital,Kantor B,Jl. B,DKI Jakarta,Jakarta Pusat,-6.1,106.8,,,\n"
        "A-3,plkk,,Jl. C,DKI Jakarta,Jakarta Pusat,north,106.8,,,\n"
        "A-1,plkk,Dup,Jl. D,Bali,Denpasar,-8.6,115.2,,,\n"
        "A-5,plkk,Far,Jl. E,Bali,Denpasar,-95,115.2,,,\n"
    )
    places, problems = parse_csv(text)
    assert [p.place_id for p in places] == ["A-1"]
    assert places[0].services == ("klaim JHT", "JKK")
    assert [(p.line, p.field) for p in problems] == [
        (3, "kind"),
        (4, "name"),
        (4, "lat/lon"),
        (5, "place_id"),
        (6, "lat/lon"),
    ]


def test_a_missing_column_is_reported_on_the_header() -> None:
    places, problems = parse_csv("place_id,kind,name\nA,office,B\n")
    assert places == []
    assert problems[0].line == 1 and "address" in problems[0].field


def test_current_program_version_waits_for_its_effective_date() -> None:
    v1 = ProgramVersion("JKP", 1, date(2021, 2, 2))
    v2 = ProgramVersion("JKP", 2, date(2025, 2, 7))
    assert current_version([v1, v2], date(2025, 2, 6)) == v1
    assert current_version([v1, v2], date(2025, 2, 7)) == v2
    assert current_version([v2], date(2020, 1, 1)) is None
