from datetime import UTC, datetime

from jmo_profile.domain import changes
from jmo_profile.domain.profile import completeness, mismatches, profile_view
from jmo_profile.domain.wizard import Update

NIK = "3171011708450001"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def card(kpj="12345678901", name="Budi Santoso", birth="1945-08-17", **extra):
    return {
        "_id": kpj,
        "nik": NIK,
        "full_name": name,
        "birth_date": birth,
        "employer_id": "EMP-1",
        "employer_name": "PT Maju",
        "registered_on": "2015-01-01",
        **extra,
    }


def person(**extra):
    doc = {
        "ktp": {
            "full_name": "BUDI SANTOSO",
            "birth_place": "JAKARTA",
            "birth_date": "1945-08-17",
            "sex": "M",
            "kk_number": "3171012345678901",
            "address": {"street": "Jl. Merdeka"},
        },
        "account": {"member_id": "m1", "full_name": "Budi Santoso", "email": "b@example.id", "phone": "+6281234567890"},
    }
    doc.update(extra)
    return doc


def test_cards_show_whether_they_are_active_and_where_data_came_from():
    view = profile_view(
        NIK, "m1", person(), [card(), card("12345678902", ended_on="2025-01-31", end_cause="resignation")]
    )
    assert [(c["kpj"], c["status"]) for c in view["cards"]] == [("12345678901", "active"), ("12345678902", "ended")]
    assert view["full_name"] == {"value": "BUDI SANTOSO", "source": "registry"}
    assert view["population"]["provenance"]["kk_number"] == "registry"
    assert view["contact"]["entered_in"] == "registration"


def test_completeness_lists_what_a_claim_still_needs():
    assert [n["item"] for n in completeness(person())] == ["data_update", "bank_account"]
    assert [n["item"] for n in completeness({})] == ["data_update", "bank_account", "contact"]
    done = person(data_update={"completed": True}, entered={"bank_account": {"bank_code": "014"}})
    assert completeness(done) == []


def test_no_mismatch_when_records_agree_up_to_case():
    assert mismatches(person(), [card()]) == []


def test_mismatches_name_each_differing_record_and_where_to_correct_it():
    found = mismatches(
        person(entered={"population": {"birth_place": "BANDUNG"}}),
        [card(name="M. Budi Santoso", birth="1945-08-18"), card("12345678902", name="BUDI SANTOSA")],
    )
    by_field = {m["field"]: m for m in found}
    assert set(by_field) == {"full_name", "birth_date", "birth_place"}
    names = by_field["full_name"]
    assert names["reference"]["source"] == "registry"
    # An extra initial is a different name, not an abbreviation of one.
    assert [(d["where"], d["kind"]) for d in names["differences"]] == [
        ("KPJ card 12345678901 (PT Maju)", "different"),
        ("KPJ card 12345678902 (PT Maju)", "different"),
    ]
    assert "employer" in names["differences"][0]["how_to_correct"]
    assert by_field["birth_date"]["differences"][0]["value"] == "1945-08-18"
    assert by_field["birth_place"]["differences"][0]["source"] == "member"


def test_an_abbreviated_name_is_reported_as_such():
    found = mismatches(person(ktp={"full_name": "MUHAMMAD BUDI"}), [card(name="M. BUDI")])
    assert found[0]["differences"][0]["kind"] == "abbreviation"


def complete_update(account_number="1234567890"):
    update = Update(update_id="u1", member_id="m1", nik=NIK, created_at=NOW)
    update.steps = {
        "membership": {"data": {"confirmed": True}, "at": NOW},
        "face": {"data": {"verification_id": "v1"}, "at": NOW},
        "contact": {"data": {"phone": "+6281234567890", "email": "new@example.id"}, "at": NOW},
        "tax-bank": {
            "data": {
                "npwp": NIK,
                "bank_code": "014",
                "account_number": account_number,
                "account_name": "Budi Santoso",
                "inquiry_name": "BUDI SANTOSO",
                "inquired_at": NOW,
            },
            "at": NOW,
        },
        "population": {
            "data": {
                "kk_number": "3171012345678901",
                "address": {"street": "Jl. Baru"},
                "birth_place": "JAKARTA",
                "mother_maiden_name": "Siti",
            },
            "at": NOW,
        },
        "additional": {
            "data": {
                "marital_status": "married",
                "education": "s1",
                "occupation": "guru",
                "emergency_contact": {"name": "A", "relation": "sibling", "phone": "+6281111111111"},
            },
            "at": NOW,
        },
    }
    return update


def test_first_update_changes_what_differs_and_registers_the_bank_account():
    plan = changes.plan(person(), complete_update(), NOW)
    assert plan.bank_account_changed and plan.old_bank_account is None
    assert set(plan.changed_fields) == {
        "email",
        "npwp",
        "bank_account",
        "address",
        "mother_maiden_name",
        "marital_status",
        "education",
        "occupation",
        "emergency_contact",
    }
    assert plan.new_bank_account["face_verification_id"] == "v1"
    assert plan.new_bank_account["changed_at"] == NOW


def test_repeating_the_same_update_changes_nothing_and_keeps_the_change_date():
    first = changes.plan(person(), complete_update(), NOW)
    later = datetime(2026, 4, 1, tzinfo=UTC)
    again = changes.plan(person(entered=first.entered), complete_update(), later)
    assert again.changed_fields == [] and not again.bank_account_changed
    assert again.new_bank_account["changed_at"] == NOW
    other = changes.plan(person(entered=first.entered), complete_update("9999999999"), later)
    assert other.bank_account_changed and other.changed_fields == ["bank_account"]
    assert other.old_bank_account["account_number"] == "1234567890"


def dropped(raw, dumped, where=""):
    """Keys of the service's view the answer model would not send."""
    if isinstance(raw, dict):
        return [f"{where}.{k}" for k in raw if k not in dumped] + [
            d for k in raw if k in dumped for d in dropped(raw[k], dumped[k], f"{where}.{k}")
        ]
    if isinstance(raw, list):
        return [d for i, (r, x) in enumerate(zip(raw, dumped)) for d in dropped(r, x, f"{where}[{i}]")]
    return []


def test_the_profile_reads_as_its_answer_model_before_and_after_an_update():
    from jmo_profile.entrypoints.schemas import ProfileView

    plan = changes.plan(person(), complete_update(), NOW)
    updated = person(entered=plan.entered, data_update={"completed": True, "update_id": "u1", "at": NOW})
    for raw in (
        profile_view(NIK, "m1", person(), [card(), card("12345678902", name="BUDI SANTOSA")]),
        profile_view(NIK, "m1", updated, [card()]),
        profile_view(NIK, "m1", {}, [card()]),
    ):
        dumped = ProfileView.model_validate(raw).model_dump()
        assert dropped(raw, dumped) == []
    view = ProfileView.model_validate(profile_view(NIK, "m1", updated, [card()]))
    assert view.bank_account is not None and view.bank_account.face_verification_id == "v1"
    assert view.population is not None and view.population.provenance["address"] == "member"
    assert view.data_update.completed and view.data_update.completed_at == NOW
