import pytest

from jmo_profile.domain import validation
from jmo_profile.domain.banks import DEFAULT_ACCOUNT_LENGTHS, mask_account_number

NIK = "3171011708450001"


def codes(errors):
    return {(e.field, e.code) for e in errors}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("+6281234567890", "+6281234567890"),
        ("081234567890", "+6281234567890"),
        ("62 812-3456-7890", "+6281234567890"),
        ("+628012345678", "+628012345678"),
    ],
)
def test_mobile_numbers_are_kept_in_e164(raw, expected):
    data, errors = validation.contact_step({"phone": raw, "email": "a@example.id"})
    assert errors == [] and data["phone"] == expected


@pytest.mark.parametrize("raw", ["+6221345678", "+65812345678", "+62812", "+628123456789012", "phone", "+62 812 abc"])
def test_non_indonesian_mobile_numbers_are_refused(raw):
    _, errors = validation.contact_step({"phone": raw, "email": "a@example.id"})
    assert codes(errors) == {("phone", "invalid_phone")}


@pytest.mark.parametrize(
    "raw",
    [
        "budi@example",
        "budi@@example.id",
        "budi example.id",
        "budi@-example.id",
        ".budi@example.id",
        "budi..x@example.id",
        "a" * 65 + "@example.id",
    ],
)
def test_bad_email_addresses_are_refused(raw):
    _, errors = validation.contact_step({"phone": "+6281234567890", "email": raw})
    assert codes(errors) == {("email", "invalid_email")}


def test_email_domain_is_lower_cased_and_missing_fields_are_named():
    data, errors = validation.contact_step({"phone": "+6281234567890", "email": "Budi.S@Example.ID"})
    assert errors == [] and data["email"] == "Budi.S@example.id"
    _, errors = validation.contact_step({})
    assert codes(errors) == {("phone", "required"), ("email", "required")}


def tax_bank(**overrides):
    body = {"npwp": NIK, "bank_code": "014", "account_number": "1234567890", "account_name": "Budi Santoso"}
    body.update(overrides)
    return validation.tax_bank_step(body, NIK, DEFAULT_ACCOUNT_LENGTHS)


def test_npwp_may_be_the_members_nik_or_the_old_number():
    assert tax_bank()[0]["npwp"] == NIK
    data, errors = tax_bank(npwp="01.312.166.0-091.000")
    assert errors == [] and data["npwp"] == "0013121660091000"
    assert tax_bank(npwp=None)[0]["npwp"] is None


def test_npwp_errors():
    assert codes(tax_bank(npwp="01.312.166.1-091.000")[1]) == {("npwp", "invalid_npwp")}
    assert codes(tax_bank(npwp="12345")[1]) == {("npwp", "invalid_npwp")}
    # A valid NIK, but not this member's.
    assert codes(tax_bank(npwp="3171011708450002")[1]) == {("npwp", "npwp_not_own_nik")}


@pytest.mark.parametrize(
    "bank_code, number, error",
    [
        ("014", "1234567890", None),  # BCA 10
        ("008", "1234567890123", None),  # Mandiri 13
        ("002", "123456789012345", None),  # BRI 15
        ("200", "1234567890123456", None),  # BTN 16
        ("028", "123456789012", None),  # OCBC 12
        ("014", "12345678901", ("account_number", "invalid_account_length")),
        ("002", "1234567890", ("account_number", "invalid_account_length")),
        ("014", "12345abcde", ("account_number", "invalid_account_number")),
        ("999", "1234567890", ("bank_code", "unknown_bank")),
        ("14", "1234567890", ("bank_code", "unknown_bank")),
    ],
)
def test_bank_account_numbers_have_the_banks_length(bank_code, number, error):
    data, errors = tax_bank(bank_code=bank_code, account_number=number)
    if error is None:
        assert errors == [] and data["account_number"] == number
    else:
        assert codes(errors) == {error}


def test_tax_bank_reports_every_field_at_once():
    _, errors = validation.tax_bank_step({"npwp": "x"}, NIK, DEFAULT_ACCOUNT_LENGTHS)
    assert codes(errors) == {
        ("npwp", "invalid_npwp"),
        ("bank_code", "required"),
        ("account_number", "required"),
        ("account_name", "required"),
    }


def population(**overrides):
    address = {
        "street": "Jl. Merdeka No. 1",
        "rt": "3",
        "rw": "005",
        "village": "Menteng",
        "district": "Menteng",
        "regency": "Jakarta Pusat",
        "province": "DKI Jakarta",
        "province_code": "31",
        "regency_code": "3171",
        "postal_code": "10310",
    }
    address.update(overrides.pop("address", {}))
    body = {
        "nik": NIK,
        "kk_number": "3171012345678901",
        "address": address,
        "birth_place": "Jakarta",
        "mother_maiden_name": "Siti Aminah",
    }
    body.update(overrides)
    return validation.population_step(body, NIK)


def test_population_step_cleans_values():
    data, errors = population(address={"regency_code": "31.71"})
    assert errors == []
    assert data["address"]["rt"] == "003" and data["address"]["regency_code"] == "3171"
    assert data["birth_place"] == "JAKARTA"


def test_population_codes_must_be_those_of_the_nik():
    _, errors = population(address={"province_code": "32", "regency_code": "3273"})
    assert codes(errors) == {
        ("address.province_code", "province_code_mismatch"),
        ("address.regency_code", "regency_code_mismatch"),
    }


def test_population_field_errors():
    _, errors = population(
        nik="3171011708450002",
        kk_number="12345",
        address={"rt": "1234", "postal_code": "1031", "street": ""},
        mother_maiden_name="S1t1",
    )
    assert codes(errors) == {
        ("nik", "nik_mismatch"),
        ("kk_number", "invalid_kk_number"),
        ("address.rt", "invalid_rt"),
        ("address.postal_code", "invalid_postal_code"),
        ("address.street", "required"),
        ("mother_maiden_name", "invalid_name"),
    }
    _, errors = validation.population_step({"nik": NIK}, NIK)
    assert ("address", "required") in codes(errors)


def additional(member_phone="+6281111111111", **overrides):
    body = {
        "marital_status": "Married",
        "education": "S1",
        "occupation": "karyawan swasta",
        "emergency_contact": {"name": "Rahmat Hidayat", "relation": "sibling", "phone": "081234567890"},
    }
    body.update(overrides)
    return validation.additional_step(body, member_phone)


def test_additional_step_accepts_and_normalises():
    data, errors = additional()
    assert errors == []
    assert data["marital_status"] == "married" and data["education"] == "s1"
    assert data["emergency_contact"]["phone"] == "+6281234567890"


def test_additional_step_errors():
    _, errors = additional(
        marital_status="complicated",
        education=None,
        emergency_contact={"name": "", "relation": "boss", "phone": "+6281111111111"},
    )
    assert codes(errors) == {
        ("marital_status", "not_allowed"),
        ("education", "required"),
        ("emergency_contact.name", "required"),
        ("emergency_contact.relation", "not_allowed"),
        ("emergency_contact.phone", "same_as_member_phone"),
    }


def test_account_numbers_are_masked_to_the_last_four_digits():
    assert mask_account_number("1234567890") == "******7890"
    assert mask_account_number(None) is None
