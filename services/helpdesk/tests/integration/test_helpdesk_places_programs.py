"""Places and programs through the API, on the demo data the worker loads at start."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio
from helpdesk_harness import helpdesk, settings_for

from jmo_helpdesk.importer import run as import_csv

pytestmark = pytest.mark.integration

MONAS = {"lat": -6.1754, "lon": 106.8272}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(infra, token_issuer):
    settings = settings_for(infra, token_issuer, f"t_helpdesk_{uuid.uuid4().hex[:10]}")
    async with helpdesk(settings) as (client, _worker):
        client.settings = settings  # type: ignore[attr-defined]
        yield client


async def test_the_worker_loaded_the_demo_places(api) -> None:
    body = (await api.get("/v1/places", params={"page_size": 100})).json()
    assert body["total"] == 41 and len(body["items"]) == 41
    one = (await api.get(f"/v1/places/{body['items'][0]['place_id']}")).json()
    assert one == body["items"][0]
    missing = await api.get("/v1/places/NOPE-1")
    assert missing.status_code == 404 and missing.json()["code"] == "place_not_found"


async def test_filters_by_kind_province_regency_and_text(api) -> None:
    plkk_jatim = (await api.get("/v1/places", params={"kind": "plkk", "province": "jawa  TIMUR"})).json()
    assert {p["place_id"] for p in plkk_jatim["items"]} == {"PLKK-SBY-01", "PLKK-SDA-01"}
    surabaya = (await api.get("/v1/places", params={"regency": "Kota Surabaya", "kind": "office"})).json()
    assert {p["place_id"] for p in surabaya["items"]} == {"KC-SBY-01", "KC-SBY-02"}
    text = (await api.get("/v1/places", params={"q": "fisioterapi bekasi"})).json()
    assert [p["place_id"] for p in text["items"]] == ["PLKK-BKS-01"]
    # A regex metacharacter is just a character.
    assert (await api.get("/v1/places", params={"q": ".*"})).json()["total"] == 0


async def test_pagination_covers_every_place_once(api) -> None:
    seen: list[str] = []
    for page in (1, 2, 3, 4, 5):
        body = (await api.get("/v1/places", params={"page": page, "page_size": 10})).json()
        assert body["total"] == 41 and body["page"] == page
        seen += [p["place_id"] for p in body["items"]]
    assert len(seen) == 41 == len(set(seen))


PLACE_KEYS = {
    "place_id",
    "kind",
    "name",
    "address",
    "province",
    "regency",
    "location",
    "phone",
    "opening_hours",
    "services",
}


async def test_a_page_has_the_shared_shape_and_a_distance_only_when_searched_by_position(api) -> None:
    body = (await api.get("/v1/places")).json()
    assert set(body) == {"items", "page", "page_size", "total", "radius_km"}
    assert (body["page"], body["page_size"], len(body["items"]), body["radius_km"]) == (1, 20, 20, None)
    assert all(set(p) == PLACE_KEYS for p in body["items"])
    near = (await api.get("/v1/places", params={**MONAS, "page_size": 2})).json()
    assert near["radius_km"] == 50 and all(set(p) == PLACE_KEYS | {"distance_km"} for p in near["items"])
    past_the_end = (await api.get("/v1/places", params={"page": 100})).json()
    assert past_the_end["items"] == [] and past_the_end["total"] == body["total"]


async def test_nearest_first_with_distances_within_the_radius(api) -> None:
    body = (await api.get("/v1/places", params={**MONAS, "radius_km": 15})).json()
    items = body["items"]
    distances = [p["distance_km"] for p in items]
    assert distances == sorted(distances) and distances[-1] <= 15
    assert {p["province"] for p in items} <= {"DKI Jakarta", "Banten", "Jawa Barat"}
    assert body["total"] == len(items) >= 7
    # Sorting and counting hold across pages too.
    page2 = (await api.get("/v1/places", params={**MONAS, "radius_km": 15, "page": 2, "page_size": 3})).json()
    assert [p["place_id"] for p in page2["items"]] == [p["place_id"] for p in items[3:6]]
    # Grogol (~4 km) is nearer than Tebet (~7 km); Bandung is ~115 km away.
    clinics = (await api.get("/v1/places", params={**MONAS, "kind": "plkk", "radius_km": 200})).json()["items"]
    assert clinics[0]["place_id"] == "PLKK-JKT-03" and all(p["kind"] == "plkk" for p in clinics)
    assert "PLKK-BDG-01" in {p["place_id"] for p in clinics}
    far = (await api.get("/v1/places", params={"lat": 3.59, "lon": 98.67, "radius_km": 5})).json()
    assert [p["place_id"] for p in far["items"]] == ["KC-MDN-01", "PLKK-MDN-01"]


@pytest.mark.parametrize(
    "params,field",
    [
        ({"lat": -6.2}, "lon"),
        ({"lon": 106.8}, "lat"),
        ({"radius_km": 5}, "radius_km"),
        ({"lat": 91, "lon": 0}, "lat"),
        ({"page": 0}, "page"),
        ({"page_size": 1000}, "page_size"),
        ({"kind": "hospital"}, "kind"),
        ({"lat": 0, "lon": 0, "radius_km": 2001}, "radius_km"),
    ],
)
async def test_bad_search_parameters_are_422_with_the_field(api, params, field) -> None:
    resp = await api.get("/v1/places", params=params)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in resp.json()["errors"]]


async def test_programs_in_both_languages_with_versions(api) -> None:
    listed = (await api.get("/v1/programs")).json()
    assert [p["code"] for p in listed["programs"]] == ["JHT", "JKK", "JKM", "JP", "JKP"]
    en = (await api.get("/v1/programs/jht", params={"lang": "en"})).json()
    idn = (await api.get("/v1/programs/JHT", params={"lang": "id"})).json()
    assert en["title"] == "Old-Age Savings (JHT)" and idn["title"] == "Jaminan Hari Tua (JHT)"
    assert "3.7%" in en["sections"][0]["body"] and "3,7%" in idn["sections"][0]["body"]
    assert en["version"] == idn["version"] == 1 and en["effective_date"] == "2022-04-26"
    jkp = (await api.get("/v1/programs/JKP", params={"lang": "en"})).json()
    assert jkp["version"] == 2 and "60%" in jkp["sections"][0]["body"]
    bad_lang = await api.get("/v1/programs/JHT", params={"lang": "fr"})
    assert bad_lang.status_code == 422 and bad_lang.json()["errors"][0]["field"] == "lang"
    assert (await api.get("/v1/programs/XYZ")).status_code == 404


async def test_importer_upserts_and_refuses_a_list_with_bad_rows(api, tmp_path) -> None:
    settings = api.settings  # type: ignore[attr-defined]
    good = tmp_path / "good.csv"
    good.write_text(
        "place_id,kind,name,address,province,regency,lat,lon,phone,opening_hours,services\n"
        "KC-JKT-01,office,Kantor Cabang Jakarta Kuningan (renamed),Jl. Rasuna Said Kav. 90,DKI Jakarta,"
        "Jakarta Selatan,-6.2241,106.8316,,Senin-Jumat 08:00-15:00,klaim JHT\n"
        "KC-NTB-01,office,Kantor Cabang Mataram,Jl. Pejanggik 1,Nusa Tenggara Barat,Kota Mataram,-8.58,116.11,,,\n",
        encoding="utf-8",
    )
    out: list[str] = []

    class Sink:
        def write(self, s: str) -> None:
            out.append(s)

        def flush(self) -> None:
            pass

    assert await import_csv(good, settings, out=Sink()) == 0
    assert await import_csv(good, settings, out=Sink()) == 0  # idempotent
    assert (await api.get("/v1/places")).json()["total"] == 42
    renamed = (await api.get("/v1/places/KC-JKT-01")).json()
    assert renamed["name"].endswith("(renamed)") and renamed["services"] == ["klaim JHT"]

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "place_id,kind,name,address,province,regency,lat,lon,phone,opening_hours,services\n"
        "KC-NTT-01,office,Kantor Kupang,Jl. A,Nusa Tenggara Timur,Kota Kupang,-10.17,123.6,,,\n"
        "KC-NTT-02,kiosk,Kantor X,Jl. B,Nusa Tenggara Timur,Kota Kupang,-10.17,123.6,,,\n",
        encoding="utf-8",
    )
    out.clear()
    assert await import_csv(bad, settings, out=Sink()) == 1
    assert f"{bad}:3: kind" in "".join(out)
    assert (await api.get("/v1/places/KC-NTT-01")).status_code == 404  # nothing written
