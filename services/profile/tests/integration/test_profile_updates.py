"""The pengkinian data wizard through HTTP, with the feeds and identity's events on real Kafka."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from profile_support import Profile, SampleMember, onboard

from jmo_local.ports import free_port
from jmo_profile.entrypoints.api import create_api
from jmo_shared.events import CloudEvent, ProfileUpdated
from jmo_shared.testing import publish
from jmo_shared.topics import PROFILE_EVENTS

pytestmark = pytest.mark.integration

BANK_CODE = "014"  # BCA: 10-digit account numbers


def account_number() -> str:
    return str(uuid.uuid4().int)[:10].rjust(10, "1")


def steps_for(member: SampleMember, verification_id: str, number: str) -> list[tuple[str, dict]]:
    return [
        ("membership", {"confirmed": True}),
        ("face", {"verification_id": verification_id}),
        ("contact", {"phone": "0812 3456 7890", "email": f"new.{member.email}"}),
        (
            "tax-bank",
            {
                "npwp": member.nik,
                "bank_code": BANK_CODE,
                "account_number": number,
                "account_name": member.full_name.replace("Muhammad", "M."),
            },
        ),
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
                "marital_status": "married",
                "education": "sma",
                "occupation": "karyawan swasta",
                "emergency_contact": {"name": "Rahmat Hidayat", "relation": "sibling", "phone": "+6281299990000"},
            },
        ),
    ]


async def start(profile: Profile, member: SampleMember) -> str:
    resp = await profile.api.post("/v1/profile/updates", headers=profile.auth(member))
    assert resp.status_code in (200, 201), resp.text
    return resp.json()["update_id"]


async def put(profile: Profile, member: SampleMember, update_id: str, step: str, body: dict):
    return await profile.api.put(f"/v1/profile/updates/{update_id}/{step}", headers=profile.auth(member), json=body)


async def profile_updated(bootstrap: str, update_id: str, settle: float = 2.0, timeout: float = 30) -> list[CloudEvent]:
    """Every ProfileUpdated of this update on profile.events (waits a little past the first)."""
    consumer = AIOKafkaConsumer(
        PROFILE_EVENTS,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[CloudEvent] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                for msg in msgs:
                    event = CloudEvent.from_bytes(msg.value)
                    if event.type == ProfileUpdated.event_type and event.data.get("update_id") == update_id:
                        assert msg.key.decode() == event.data["member_id"]
                        found.append(event)
            if found:
                deadline = min(deadline, time.monotonic() + settle)
    finally:
        await consumer.stop()
    return found


async def test_whole_wizard_updates_the_profile_and_emits_profile_updated(profile: Profile):
    member = SampleMember.random()
    face = member.face()
    await onboard(profile, member, face)
    number = account_number()
    # The bank abbreviates the name; the KTP and the member spell it out or abbreviate it otherwise.
    holder = member.full_name.upper().replace("MUHAMMAD", "MUH")
    profile.bank.open(BANK_CODE, number, holder)

    before = (await profile.api.get("/v1/profile", headers=profile.auth(member))).json()
    assert [n["item"] for n in before["completeness"]] == ["data_update", "bank_account"]

    created = await profile.api.post("/v1/profile/updates", headers=profile.auth(member))
    assert created.status_code == 201
    update_id = created.json()["update_id"]
    assert created.json()["steps"][0] == {"step": "membership", "status": "current"}
    resumed = await profile.api.post("/v1/profile/updates", headers=profile.auth(member))
    assert resumed.status_code == 200 and resumed.json()["update_id"] == update_id

    for step, body in steps_for(member, face.verification_id, number):
        resp = await put(profile, member, update_id, step, body)
        assert resp.status_code == 200, (step, resp.text)
    assert resp.json()["next_step"] is None

    review = (await profile.api.get(f"/v1/profile/updates/{update_id}", headers=profile.auth(member))).json()
    assert review["entered"]["contact"]["phone"] == "+6281234567890"
    assert review["entered"]["tax-bank"]["inquiry_name"] == holder
    assert review["entered"]["tax-bank"]["name_match"] == "equivalent"
    assert {"phone", "email", "npwp", "bank_account", "address"} <= set(review["changes"])

    confirmed = await profile.api.post(f"/v1/profile/updates/{update_id}/confirm", headers=profile.auth(member))
    assert confirmed.status_code == 200, confirmed.text
    result = confirmed.json()
    assert result["status"] == "confirmed" and result["bank_account_changed"] is True
    again = await profile.api.post(f"/v1/profile/updates/{update_id}/confirm", headers=profile.auth(member))
    assert again.status_code == 200 and again.json() == result

    events = await profile_updated(profile.settings.kafka_bootstrap_servers, update_id)
    assert len(events) == 1, "a repeated confirm must not emit again"
    data = ProfileUpdated.model_validate(events[0].data)
    assert data.member_id == member.member_id and data.nik == member.nik
    assert data.data_update_completed is True
    assert data.full_name == member.full_name.upper()
    assert data.email == f"new.{member.email}" and data.phone == "+6281234567890"
    assert data.npwp == member.nik
    assert data.bank_account is not None and data.bank_account_changed is True
    assert data.bank_account.account_number == number
    assert data.bank_account.inquiry_name == holder
    assert data.bank_account.account_name == member.full_name.replace("Muhammad", "M.")
    assert data.bank_account.face_verification_id == face.verification_id
    assert data.bank_account.changed_at is not None
    assert set(data.changed_fields) == set(result["changed_fields"])

    after = (await profile.api.get("/v1/profile", headers=profile.auth(member))).json()
    assert after["completeness"] == []
    assert after["data_update"]["completed"] is True and after["data_update"]["update_id"] == update_id
    assert after["bank_account"]["account_number"] == number
    assert after["population"]["provenance"]["address"] == "member"
    assert after["emergency_contact"]["relation"] == "sibling"

    audit = (await profile.api.get("/v1/profile/bank-account/changes", headers=profile.auth(member))).json()
    [change] = audit["changes"]
    assert audit["items"] == audit["changes"] and (audit["page"], audit["page_size"], audit["total"]) == (1, 20, 1)
    assert change["update_id"] == update_id and change["face_verification_id"] == face.verification_id
    assert change["old"] is None
    assert change["new"]["account_number"] == "*" * 6 + number[-4:]

    # A new update is opened once the previous one is confirmed.
    next_update = await profile.api.post("/v1/profile/updates", headers=profile.auth(member))
    assert next_update.status_code == 201 and next_update.json()["update_id"] != update_id


async def test_steps_out_of_order_and_foreign_face_verifications_are_refused(profile: Profile):
    member, other = SampleMember.random(), SampleMember.random()
    own_claim_face = member.face(purpose="claim")
    expired = member.face(minutes=-1)
    others_face = other.face()
    await onboard(profile, member, own_claim_face, expired, others_face)
    update_id = await start(profile, member)

    skipped = await put(profile, member, update_id, "contact", {"phone": member.phone, "email": member.email})
    assert skipped.status_code == 409
    assert skipped.json()["code"] == "step_out_of_order" and skipped.json()["next_step"] == "membership"

    unconfirmed = await put(profile, member, update_id, "membership", {"confirmed": False})
    assert unconfirmed.status_code == 422 and unconfirmed.json()["errors"][0]["code"] == "must_confirm"
    assert (await put(profile, member, update_id, "membership", {"confirmed": True})).status_code == 200

    for verification_id, code in [
        (others_face.verification_id, "verification_not_found"),
        (str(uuid.uuid4()), "verification_not_found"),
        (own_claim_face.verification_id, "verification_wrong_purpose"),
        (expired.verification_id, "verification_expired"),
    ]:
        resp = await put(profile, member, update_id, "face", {"verification_id": verification_id})
        assert resp.status_code == 422 and resp.json()["code"] == code, resp.text
        assert resp.json()["errors"] == [{"field": "verification_id", "code": code, "message": resp.json()["detail"]}]

    confirm = await profile.api.post(f"/v1/profile/updates/{update_id}/confirm", headers=profile.auth(member))
    assert confirm.status_code == 409 and confirm.json()["next_step"] == "face"

    # Another member can neither see nor change this update.
    for resp in [
        await profile.api.get(f"/v1/profile/updates/{update_id}", headers=profile.auth(other)),
        await put(profile, other, update_id, "membership", {"confirmed": True}),
    ]:
        assert resp.status_code == 404 and resp.json()["code"] == "update_not_found"
    assert (await profile.api.get("/v1/profile")).status_code == 401


async def walk_to(profile: Profile, member: SampleMember, update_id: str, face_id: str, number: str, last: str):
    for step, body in steps_for(member, face_id, number):
        if step == last:
            return
        resp = await put(profile, member, update_id, step, body)
        assert resp.status_code == 200, (step, resp.text)


def field_codes(resp) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in resp.json()["errors"]}


async def test_each_step_names_the_fields_to_correct(profile: Profile):
    member = SampleMember.random()
    face = member.face()
    await onboard(profile, member, face)
    number, strangers = account_number(), account_number()
    profile.bank.open(BANK_CODE, number, member.full_name)
    profile.bank.open(BANK_CODE, strangers, "Rahmat Hidayat")
    update_id = await start(profile, member)
    await walk_to(profile, member, update_id, face.verification_id, number, "contact")

    resp = await put(profile, member, update_id, "contact", {"phone": "+6521234567", "email": "nobody@"})
    assert resp.status_code == 422
    assert field_codes(resp) == {("phone", "invalid_phone"), ("email", "invalid_email")}
    assert (
        await put(profile, member, update_id, "contact", {"phone": member.phone, "email": member.email})
    ).status_code == 200

    good = {"npwp": member.nik, "bank_code": BANK_CODE, "account_number": number, "account_name": member.full_name}
    cases = [
        (
            {"npwp": "12.345.678.9-012.345", "bank_code": "999", "account_number": "12", "account_name": ""},
            {("npwp", "invalid_npwp"), ("bank_code", "unknown_bank"), ("account_name", "required")},
        ),
        ({**good, "account_number": number + "1"}, {("account_number", "invalid_account_length")}),
        ({**good, "account_number": account_number()}, {("account_number", "account_not_found")}),
        ({**good, "account_number": strangers}, {("account_number", "account_name_mismatch")}),
        ({**good, "account_name": "Siti Rahayu"}, {("account_name", "account_name_mismatch")}),
    ]
    for body, expected in cases:
        resp = await put(profile, member, update_id, "tax-bank", body)
        assert resp.status_code == 422, resp.text
        assert field_codes(resp) == expected, body
    assert (await put(profile, member, update_id, "tax-bank", good)).status_code == 200

    population = dict(steps_for(member, face.verification_id, number))["population"]
    resp = await put(
        profile,
        member,
        update_id,
        "population",
        {
            **population,
            "nik": SampleMember.random().nik,
            "kk_number": "123",
            "address": {**population["address"], "province_code": "32", "regency_code": "3273", "postal_code": "x"},
        },
    )
    assert resp.status_code == 422
    assert field_codes(resp) == {
        ("nik", "nik_mismatch"),
        ("kk_number", "invalid_kk_number"),
        ("address.province_code", "province_code_mismatch"),
        ("address.regency_code", "regency_code_mismatch"),
        ("address.postal_code", "invalid_postal_code"),
    }
    assert (await put(profile, member, update_id, "population", population)).status_code == 200

    resp = await put(
        profile,
        member,
        update_id,
        "additional",
        {
            "marital_status": "it's complicated",
            "education": "sma",
            "occupation": "",
            "emergency_contact": {"name": "Rahmat", "relation": "sibling", "phone": member.phone},
        },
    )
    assert resp.status_code == 422
    assert field_codes(resp) == {
        ("marital_status", "not_allowed"),
        ("occupation", "required"),
        ("emergency_contact.phone", "same_as_member_phone"),
    }
    malformed = await put(profile, member, update_id, "additional", {"emergency_contact": "call my brother"})
    assert malformed.status_code == 422 and malformed.json()["code"] == "validation_failed"


async def test_bank_inquiry_unreachable_answers_503(profile: Profile, run_app):
    member = SampleMember.random()
    face = member.face()
    await onboard(profile, member, face)
    dead_bank = profile.settings.model_copy(update={"bank_inquiry_url": f"http://127.0.0.1:{free_port()}"})
    async with run_app(create_api(dead_bank)) as api:
        cut_off = Profile(api=api, settings=dead_bank, bank=profile.bank, issuer=profile.issuer)
        update_id = await start(cut_off, member)
        number = account_number()
        await walk_to(cut_off, member, update_id, face.verification_id, number, "tax-bank")
        resp = await put(
            cut_off,
            member,
            update_id,
            "tax-bank",
            {"bank_code": BANK_CODE, "account_number": number, "account_name": member.full_name},
        )
        assert resp.status_code == 503 and resp.json()["code"] == "bank_inquiry_unavailable"
        review = (await api.get(f"/v1/profile/updates/{update_id}", headers=cut_off.auth(member))).json()
        assert review["next_step"] == "tax-bank"


async def test_bank_inquiries_are_limited_per_member(profile: Profile, run_app):
    prober, other = SampleMember.random(), SampleMember.random()
    faces = {prober.nik: prober.face(), other.nik: other.face()}
    for member in (prober, other):
        await onboard(profile, member, faces[member.nik])
    limited = profile.settings.model_copy(update={"bank_inquiry_max_per_member": 3})
    async with run_app(create_api(limited)) as api:
        throttled = Profile(api=api, settings=limited, bank=profile.bank, issuer=profile.issuer)
        update_id = await start(throttled, prober)
        await walk_to(throttled, prober, update_id, faces[prober.nik].verification_id, account_number(), "tax-bank")
        guess = {"npwp": prober.nik, "bank_code": BANK_CODE, "account_name": prober.full_name}
        for _ in range(3):
            resp = await put(throttled, prober, update_id, "tax-bank", {**guess, "account_number": account_number()})
            assert (resp.status_code, resp.json()["code"]) == (422, "account_not_found"), resp.text
        asked = profile.bank.inquiries
        refused = await put(throttled, prober, update_id, "tax-bank", {**guess, "account_number": account_number()})
        assert (refused.status_code, refused.json()["code"]) == (429, "too_many_attempts"), refused.text
        assert 0 < refused.json()["retry_after"] <= 3600
        assert refused.headers["Retry-After"] == str(refused.json()["retry_after"])
        assert profile.bank.inquiries == asked, "a refused inquiry never reaches the bank"
        # Counted per member: another member is not held.
        number = account_number()
        profile.bank.open(BANK_CODE, number, other.full_name)
        other_update = await start(throttled, other)
        await walk_to(throttled, other, other_update, faces[other.nik].verification_id, number, "tax-bank")
        ok = await put(throttled, other, other_update, "tax-bank", dict(steps_for(other, "", number))["tax-bank"])
        assert ok.status_code == 200, ok.text


async def test_a_face_verification_arriving_late_is_accepted_once_projected(profile: Profile):
    member = SampleMember.random()
    await onboard(profile, member)
    update_id = await start(profile, member)
    assert (await put(profile, member, update_id, "membership", {"confirmed": True})).status_code == 200
    face = member.face()
    early = await put(profile, member, update_id, "face", {"verification_id": face.verification_id})
    assert early.status_code == 422 and early.json()["code"] == "verification_not_found"
    await publish(profile.settings.kafka_bootstrap_servers, [face])
    for _ in range(150):
        resp = await put(profile, member, update_id, "face", {"verification_id": face.verification_id})
        if resp.status_code == 200:
            break
        await asyncio.sleep(0.2)
    assert resp.status_code == 200 and resp.json()["next_step"] == "contact"


async def test_a_signed_face_assertion_counts_at_once(profile: Profile):
    """What identity answers for a match is accepted straight away, with no FaceVerified for it here."""
    member = SampleMember.random()
    await onboard(profile, member)
    update_id = await start(profile, member)
    assert (await put(profile, member, update_id, "membership", {"confirmed": True})).status_code == 200
    match_id = uuid.uuid4().hex
    assertion = profile.issuer.face_assertion(member.member_id, member.nik, "profile_update", match_id)
    resp = await put(profile, member, update_id, "face", {"verification_id": assertion})
    assert resp.status_code == 200, resp.text
    assert resp.json()["next_step"] == "contact"
    review = (await profile.api.get(f"/v1/profile/updates/{update_id}", headers=profile.auth(member))).json()
    assert match_id in json.dumps(review)  # recorded by the match's own id, not the token


async def test_the_bank_account_changes_come_a_page_at_a_time_newest_first(profile: Profile):
    from datetime import UTC, datetime, timedelta

    from pymongo import AsyncMongoClient

    from jmo_profile.adapters.repository import BANK_ACCOUNT_CHANGES

    member, other = SampleMember.random(), SampleMember.random()
    start = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)

    def change(who: SampleMember, days: int, old: str | None, new: str) -> dict:
        def account(number: str) -> dict:
            return {"bank_code": BANK_CODE, "account_number": number, "account_name": "X", "inquiry_name": "X"}

        return {
            "_id": str(uuid.uuid4()),
            "member_id": who.member_id,
            "nik": who.nik,
            "update_id": str(uuid.uuid4()),
            "face_verification_id": uuid.uuid4().hex,
            "at": start + timedelta(days=days),
            "old": account(old) if old else None,
            "new": account(new),
            "account_changed": True,
        }

    rows = [
        change(member, 0, None, "1111111111"),
        change(member, 40, "1111111111", "2222222222"),
        change(member, 80, "2222222222", "3333333333"),
        change(other, 90, None, "4444444444"),
    ]
    client = AsyncMongoClient(profile.settings.mongodb_uri)
    try:
        await client[profile.settings.db_name][BANK_ACCOUNT_CHANGES].insert_many(rows)
    finally:
        await client.close()
    url, auth = "/v1/profile/bank-account/changes", profile.auth(member)

    first = (await profile.api.get(url, headers=auth, params={"page_size": 2})).json()
    assert [c["update_id"] for c in first["items"]] == [rows[2]["update_id"], rows[1]["update_id"]]
    assert (first["page"], first["page_size"], first["total"]) == (1, 2, 3)
    second = (await profile.api.get(url, headers=auth, params={"page": 2, "page_size": 2})).json()
    assert [c["update_id"] for c in second["items"]] == [rows[0]["update_id"]] and second["total"] == 3
    assert second["items"][0]["old"] is None and second["items"][0]["new"]["account_number"] == "******1111"
    # Older apps read `changes`: the same page's changes.
    assert second["changes"] == second["items"]
    past_the_end = (await profile.api.get(url, headers=auth, params={"page": 3, "page_size": 2})).json()
    assert past_the_end["items"] == [] and past_the_end["changes"] == [] and past_the_end["total"] == 3
    for params in ({"page": 0}, {"page_size": 101}):
        assert (await profile.api.get(url, headers=auth, params=params)).status_code == 422, params
