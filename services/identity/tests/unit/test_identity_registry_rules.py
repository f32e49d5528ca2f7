from datetime import date

from jmo_identity.domain.accounts import parse_registration
from jmo_identity.domain.passwords import PasswordPolicy
from jmo_identity.domain.registry import (
    Applicant,
    Card,
    Person,
    RegistryEntry,
    discrepancies,
    nik_facts,
    not_in_registry,
    validate_nik,
)

# A woman born 17 Aug 1985: day 17 + 40 = 57 in the NIK.
NIK_F = "3171015708850001"
BORN = date(1985, 8, 17)
ENTRY = RegistryEntry(
    nik=NIK_F,
    cards=(Card("12345678901", "SITI AMINAH", BORN), Card("12345678902", "Siti  Aminah", BORN)),
    person=Person("Siti Aminah", BORN, "F"),
)


def fields(errors) -> dict[str, str]:
    return {e.field: e.code for e in errors}


def test_nik_is_checked_by_stdnum():
    assert validate_nik("3171 0157 0885 0001") == NIK_F
    assert validate_nik("9971015708850001") is None  # unknown province
    assert validate_nik("3171013308850001") is None  # day 33
    assert validate_nik("31710157088500") is None


def test_nik_facts_read_birth_date_and_sex():
    facts = nik_facts(NIK_F)
    assert (facts.day, facts.month, facts.year_2digits, facts.sex) == (17, 8, 85, "F")
    assert facts.fits(BORN) and not facts.fits(date(1985, 8, 18))
    assert nik_facts("3171011708850001").sex == "M"


def test_an_applicant_matching_the_registries_has_no_discrepancy():
    assert discrepancies(Applicant(NIK_F, "12345678902", "siti aminah", BORN), ENTRY) == []


def test_each_differing_field_gets_one_error():
    errors = discrepancies(Applicant(NIK_F, "99999999999", "Siti Aminah Putri", date(1985, 8, 18)), ENTRY)
    assert fields(errors) == {
        "kpj": "kpj_not_registered_to_nik",
        "full_name": "name_differs",
        "birth_date": "birth_date_differs",
    }
    assert len(errors) == 3


def test_name_on_the_card_must_match_too():
    entry = RegistryEntry(NIK_F, (Card("12345678901", "Siti Aminah Binti Ahmad", BORN),), ENTRY.person)
    assert fields(discrepancies(Applicant(NIK_F, "12345678901", "Siti Aminah", BORN), entry)) == {
        "full_name": "name_differs"
    }


def test_a_nik_that_contradicts_the_population_record_is_flagged():
    male_record = RegistryEntry(NIK_F, ENTRY.cards, Person("Siti Aminah", BORN, "M"))
    assert fields(discrepancies(Applicant(NIK_F, "12345678901", "Siti Aminah", BORN), male_record)) == {
        "nik": "nik_inconsistent_with_registry"
    }


def test_both_registries_must_know_the_nik():
    assert [e.code for e in not_in_registry(None)] == [
        "unknown_to_membership_registry",
        "unknown_to_population_registry",
    ]
    assert [e.code for e in not_in_registry(RegistryEntry(NIK_F, (), ENTRY.person))] == [
        "unknown_to_membership_registry"
    ]
    assert [e.code for e in not_in_registry(RegistryEntry(NIK_F, ENTRY.cards, None))] == [
        "unknown_to_population_registry"
    ]
    assert not_in_registry(ENTRY) == []


def test_registration_input_is_canonicalised_or_every_error_reported():
    reg, errors = parse_registration(
        nik=NIK_F,
        kpj=" 12345678901 ",
        full_name=" Siti   Aminah ",
        birth_date=BORN,
        email="Siti@Example.com",
        phone="0812-3456-7890",
        password="teh-manis-hangat",
        policy=PasswordPolicy(),
    )
    assert errors == [] and reg is not None
    assert (reg.kpj, reg.full_name, reg.email, reg.phone) == (
        "12345678901",
        "Siti Aminah",
        "siti@example.com",
        "+6281234567890",
    )
    reg, errors = parse_registration(
        nik="123",
        kpj="12",
        full_name=" ",
        birth_date=BORN,
        email="x",
        phone="12",
        password="123",
        policy=PasswordPolicy(),
    )
    assert reg is None
    assert {"nik", "kpj", "full_name", "email", "phone", "password"} == {e.field for e in errors}
