"""After an account recovery (identity's ContactChanged, cause recovery, on the real topic) the
tax-bank step refuses a new bank account until restricted_until; the contact follows the event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from profile_support import Profile, SampleMember, onboard
from pymongo import AsyncMongoClient

from jmo_shared.events import ContactChanged
from jmo_shared.testing import eventually, publish

pytestmark = pytest.mark.integration

BANK_CODE = "014"  # BCA: 10-digit account numbers


def contact_changed(
    member: SampleMember, cause: str, restricted_until: datetime | None, phone: str | None = None
) -> ContactChanged:
    return ContactChanged(
        member_id=member.member_id,
        nik=member.nik,
        email=member.email,
        phone=phone or member.phone,
        cause=cause,
        changed_at=datetime.now(UTC),
        restricted_until=restricted_until,
    )


async def applied(profile: Profile, *events) -> None:
    """Publish identity's events and wait until the profile's consumer has applied them."""
    ids = await publish(profile.settings.kafka_bootstrap_servers, list(events))
    settings = profile.settings
    group = f"{settings.consumer_group_prefix}.{settings.service_name}.projection"
    client = AsyncMongoClient(settings.mongodb_uri)
    try:

        async def done() -> bool:
            found = await client[settings.db_name]["processed_events"].count_documents(
                {"_id": {"$in": [f"{group}:{i}" for i in ids]}}
            )
            return found == len(ids)

        await eventually(done, timeout=60, message="identity's events applied")
    finally:
        await client.close()


async def to_tax_bank(profile: Profile, member: SampleMember, face_id: str) -> str:
    auth = profile.auth(member)
    update_id = (await profile.api.post("/v1/profile/updates", headers=auth)).json()["update_id"]
    for step, body in [
        ("membership", {"confirmed": True}),
        ("face", {"verification_id": face_id}),
        ("contact", {"phone": member.phone, "email": member.email}),
    ]:
        resp = await profile.api.put(f"/v1/profile/updates/{update_id}/{step}", headers=auth, json=body)
        assert resp.status_code == 200, (step, resp.text)
    return update_id


def tax_bank(profile: Profile, member: SampleMember) -> dict:
    number = str(uuid.uuid4().int)[:10].rjust(10, "1")
    profile.bank.open(BANK_CODE, number, member.full_name.upper())
    return {"bank_code": BANK_CODE, "account_number": number, "account_name": member.full_name}


async def put_tax_bank(profile: Profile, member: SampleMember, update_id: str, body: dict):
    return await profile.api.put(f"/v1/profile/updates/{update_id}/tax-bank", headers=profile.auth(member), json=body)


async def test_a_recovered_account_cannot_change_the_bank_account_until_the_hold_ends(profile: Profile):
    member = SampleMember.random()
    face = member.face()
    until = (datetime.now(UTC) + timedelta(hours=72)).replace(microsecond=0)
    new_phone = "+62813" + str(uuid.uuid4().int)[:8]
    await onboard(profile, member, face, contact_changed(member, "recovery", until, phone=new_phone))

    view = (await profile.api.get("/v1/profile", headers=profile.auth(member))).json()
    assert view["contact"]["phone"] == new_phone  # the recovered contact replaced the registered one

    update_id = await to_tax_bank(profile, member, face.verification_id)
    inquiries = profile.bank.inquiries
    resp = await put_tax_bank(profile, member, update_id, tax_bank(profile, member))
    assert resp.status_code == 409, resp.text
    problem = resp.json()
    assert problem["code"] == "bank_account_change_restricted"
    assert until.strftime("%Y-%m-%d %H:%M") in problem["detail"]
    assert datetime.fromisoformat(problem["restricted_until"]) == until
    assert problem["errors"][0]["field"] == "account_number"
    assert profile.bank.inquiries == inquiries  # refused before asking the bank

    # A later plain confirmation (no restricted_until) does not lift the hold.
    await applied(profile, contact_changed(member, "confirmation", None, phone=new_phone))
    again = await put_tax_bank(profile, member, update_id, tax_bank(profile, member))
    assert again.status_code == 409 and again.json()["code"] == "bank_account_change_restricted"


async def test_a_hold_that_has_ended_blocks_nothing(profile: Profile):
    member = SampleMember.random()
    face = member.face()
    await onboard(profile, member, face, contact_changed(member, "recovery", datetime.now(UTC) - timedelta(minutes=1)))
    update_id = await to_tax_bank(profile, member, face.verification_id)
    resp = await put_tax_bank(profile, member, update_id, tax_bank(profile, member))
    assert resp.status_code == 200, resp.text


async def test_a_recovery_after_the_step_still_stops_the_confirm(profile: Profile):
    member = SampleMember.random()
    face = member.face()
    await onboard(profile, member, face)
    update_id = await to_tax_bank(profile, member, face.verification_id)
    assert (await put_tax_bank(profile, member, update_id, tax_bank(profile, member))).status_code == 200
    auth = profile.auth(member)
    for step, body in [
        (
            "population",
            {
                "nik": member.nik,
                "kk_number": member.kk_number,
                "birth_place": "Jakarta",
                "mother_maiden_name": "Siti Aminah",
                "address": {
                    "street": "Jl. Sudirman No. 5",
                    "rt": "3",
                    "rw": "4",
                    "village": "Karet",
                    "district": "Setiabudi",
                    "regency": "Jakarta Selatan",
                    "province": "DKI Jakarta",
                    "province_code": "31",
                    "regency_code": "3171",
                    "postal_code": "12920",
                },
            },
        ),
        (
            "additional",
            {
                "marital_status": "single",
                "education": "sma",
                "occupation": "karyawan swasta",
                "emergency_contact": {"name": "Rahmat Hidayat", "relation": "sibling", "phone": "+6281299990000"},
            },
        ),
    ]:
        resp = await profile.api.put(f"/v1/profile/updates/{update_id}/{step}", headers=auth, json=body)
        assert resp.status_code == 200, (step, resp.text)

    await applied(profile, contact_changed(member, "recovery", datetime.now(UTC) + timedelta(hours=72)))
    confirm = await profile.api.post(f"/v1/profile/updates/{update_id}/confirm", headers=auth)
    assert confirm.status_code == 409 and confirm.json()["code"] == "bank_account_change_restricted"
    after = (await profile.api.get("/v1/profile", headers=auth)).json()
    assert after["bank_account"] is None
