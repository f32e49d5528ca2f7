"""The worker's projection of the feeds and identity's events, checked through GET /v1/profile."""

from __future__ import annotations

import random
from datetime import date

import pytest
from profile_support import Profile, SampleMember, onboard

from jmo_shared.events import EmploymentEnded
from jmo_shared.testing import eventually, publish

pytestmark = pytest.mark.integration


async def test_feeds_in_any_order_build_one_profile(profile: Profile):
    member = SampleMember.random()
    old_kpj = str(random.randint(10**10, 10**11 - 1))
    bootstrap = profile.settings.kafka_bootstrap_servers
    # The ending of the old card comes first, without a NIK (older producers), then its registration
    # under a name the employer misspelled, then everything else, one event twice.
    ended = EmploymentEnded(kpj=old_kpj, ended_on=date(2020, 6, 30), cause="resignation", letter_date=date(2020, 6, 1))
    await publish(bootstrap, [ended])
    await publish(
        bootstrap,
        [member.registered(kpj=old_kpj, name="Muhamad Santosa", employer="CV Lama", registered_on=date(2012, 3, 1))],
    )
    await onboard(profile, member, member.registered(), member.person(birth_place="BANDUNG"))

    async def both_cards():
        body = (await profile.api.get("/v1/profile", headers=profile.auth(member))).json()
        return body if len(body["cards"]) == 2 else None

    body = await eventually(both_cards, timeout=60, message="both cards projected")
    cards = {c["kpj"]: c for c in body["cards"]}
    assert cards[old_kpj]["status"] == "ended" and cards[old_kpj]["end_cause"] == "resignation"
    assert cards[old_kpj]["employer_name"] == "CV Lama"
    assert cards[member.kpj]["status"] == "active" and cards[member.kpj]["source"] == "employer"

    assert body["full_name"] == {"value": member.full_name.upper(), "source": "registry"}
    population = body["population"]
    assert population["kk_number"] == member.kk_number and population["sex"] == "M"
    assert population["birth_place"] == "BANDUNG"  # the later record replaced the first
    assert population["address"]["regency_code"] == "3171"
    assert population["provenance"]["kk_number"] == "registry"
    assert "photo_jpeg_b64" not in str(body)
    assert body["contact"] == {
        **body["contact"],
        "email": member.email,
        "phone": member.phone,
        "entered_in": "registration",
    }
    assert [n["item"] for n in body["completeness"]] == ["data_update", "bank_account"]

    [names] = [m for m in body["mismatches"] if m["field"] == "full_name"]
    assert names["reference"]["source"] == "registry"
    assert [d["where"] for d in names["differences"]] == [f"KPJ card {old_kpj} (CV Lama)"]


async def test_a_member_sees_only_their_own_profile(profile: Profile):
    member, stranger = SampleMember.random(), SampleMember.random()
    await onboard(profile, member)
    resp = await profile.api.get("/v1/profile", headers=profile.auth(stranger))
    assert resp.status_code == 404 and resp.json()["code"] == "profile_not_found"
    start = await profile.api.post("/v1/profile/updates", headers=profile.auth(stranger))
    assert start.status_code == 404
    no_nik = await profile.api.get("/v1/profile", headers=profile.issuer.headers(member.member_id))
    assert no_nik.status_code == 403
