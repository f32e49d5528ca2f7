import pytest

from jmo_identity.domain.contact import normalise_email, normalise_phone
from jmo_identity.domain.names import normalise_name, same_name


def test_case_and_spacing_do_not_make_names_differ():
    assert same_name("  BUDI   santoso ", "Budi Santoso")
    assert same_name("Budi\tSantoso", "budi santoso")
    assert normalise_name("SITI  Nurhaliza") == "siti nurhaliza"


def test_spelling_still_makes_names_differ():
    assert not same_name("Budi Santosa", "Budi Santoso")
    assert not same_name("Budi Santoso", "Budi S.")


def test_unicode_compatibility_forms_compare_equal():
    assert same_name("ＢＵＤＩ Santoso", "budi santoso")  # full-width letters from some keyboards


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("081234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(0812) 3456 789", "+628123456789"),
    ],
)
def test_indonesian_mobile_numbers_are_stored_in_e164(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["0212345678", "+6521234567", "0812", "+62812345678901234", "phone"])
def test_non_mobile_or_foreign_numbers_are_refused(typed):
    assert normalise_phone(typed) is None


def test_emails_are_lower_cased_and_malformed_ones_refused():
    assert normalise_email(" Budi.Santoso@Example.CO.ID ") == "budi.santoso@example.co.id"
    for bad in ("budi", "budi@", "@example.com", "budi@example", "bu di@example.com", "a..b@example.com"):
        assert normalise_email(bad) is None, bad
