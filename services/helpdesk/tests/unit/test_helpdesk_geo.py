"""Great-circle distances (the numbers members read next to each place)."""

from __future__ import annotations

import math

import pytest

from jmo_helpdesk.domain.geo import EARTH_RADIUS_KM, haversine_km, valid_coordinates


def test_same_point_is_zero() -> None:
    assert haversine_km(-6.2, 106.8, -6.2, 106.8) == 0.0


def test_one_degree_of_longitude_on_the_equator() -> None:
    assert haversine_km(0, 100, 0, 101) == pytest.approx(2 * math.pi * EARTH_RADIUS_KM / 360, rel=1e-9)


def test_jakarta_to_bandung_and_back() -> None:
    # Monas (-6.1754, 106.8272) to Gedung Sate (-6.9025, 107.6188): about 119 km as the crow flies.
    there = haversine_km(-6.1754, 106.8272, -6.9025, 107.6188)
    assert 117 < there < 121
    assert haversine_km(-6.9025, 107.6188, -6.1754, 106.8272) == pytest.approx(there)


def test_antipodes_are_half_the_circumference() -> None:
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_KM)


@pytest.mark.parametrize("lat,lon,ok", [(0, 0, True), (90, 180, True), (-90.1, 0, False), (0, 180.5, False)])
def test_coordinate_ranges(lat: float, lon: float, ok: bool) -> None:
    assert valid_coordinates(lat, lon) is ok
